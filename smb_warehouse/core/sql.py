"""Tiny SQL-text helpers: quoting for the loader's generated DuckDB SQL, and the append-only triggers of
the SQLite stores (review decisions, safe-mode changes, rollout events, erasure log).

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


def append_only_triggers(table: str, message: str) -> str:
    """SQLite DDL that makes ``table`` append-only: two triggers that abort any UPDATE or DELETE with
    ``message`` (the review decisions, safe-mode changes, rollout events and erasure log stores use it).
    ``table`` is a plain identifier of the store's own schema; ``message`` must not contain a quote."""
    if not table.isidentifier() or "'" in message:
        raise ValueError(f"append_only_triggers: bad table {table!r} or quote in message")
    return (f"CREATE TRIGGER IF NOT EXISTS {table}_no_update BEFORE UPDATE ON {table}\n"
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;\n"
            f"CREATE TRIGGER IF NOT EXISTS {table}_no_delete BEFORE DELETE ON {table}\n"
            f"BEGIN SELECT RAISE(ABORT, '{message}'); END;\n")
