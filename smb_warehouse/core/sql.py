"""Tiny SQL-text helpers shared by the ingestion modules.

The loader generates its SQL from the contract, so every name and constant that comes from a contract
or a file header goes through these two functions: a header like ``Customer "Name"`` or a pattern with
a quote in it must never break (or inject into) the generated statement.
"""
from __future__ import annotations

from collections.abc import Iterable


def ident(name: str) -> str:
    """Quote an identifier (column/table name)."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: str) -> str:
    """Quote a string constant."""
    return "'" + value.replace("'", "''") + "'"


def lit_list(values: Iterable[str]) -> str:
    """A DuckDB list literal of strings, e.g. ``['%Y-%m-%d', '%d/%m/%Y']``."""
    return "[" + ", ".join(lit(v) for v in values) + "]"
