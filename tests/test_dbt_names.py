"""No hand-typed dbt names in Python: relations of dbt models come from the dbt manifest
(``smb_warehouse.core.dbt_manifest.relation``), Dagster keys of dbt models from dagster-dbt
(``get_asset_key_for_model`` / ``build_dbt_asset_selection``), Python-written tables from their declaration
(``smb_warehouse.core.python_tables``). A name typed by hand goes stale silently when a model is renamed,
moved to another schema or versioned.

Scans every Python file of the packages (not tests/): string literals other than docstrings must not hold
``<anything>.<dbt model>`` nor, in an f-string, ``<dbt schema>.{...}``; ``AssetKey(...)`` must not spell a
dbt model or a dbt model schema.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sme_sim", "smb_warehouse", "events", "orchestration", "api", "benchmarks")


def _dbt_model_names() -> set[str]:
    """Every model, seed and snapshot of the project (file stems; a versioned model also by its base name)."""
    names = set()
    for folder, pattern in (("models", "*.sql"), ("seeds", "*.csv"), ("snapshots", "*.sql")):
        names |= {p.stem for p in (ROOT / folder).rglob(pattern)}
    return names | {re.sub(r"_v\d+$", "", n) for n in names}


def _dbt_schemas() -> set[str]:
    """The schemas dbt builds models and seeds into (every ``+schema`` in dbt_project.yml)."""
    found: set[str] = set()

    def walk(node: object) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "+schema" and isinstance(value, str):
                    found.add(value)
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    project = yaml.safe_load((ROOT / "dbt_project.yml").read_text(encoding="utf-8"))
    walk({k: project.get(k) for k in ("models", "seeds", "snapshots")})
    return found


MODELS = _dbt_model_names()
SCHEMAS = _dbt_schemas()
_QUALIFIED = re.compile(r"\b\w+\"?\.\"?(" + "|".join(sorted(map(re.escape, MODELS), key=len, reverse=True)) + r")\b")
_SCHEMA_DOT_END = re.compile(r"\b(" + "|".join(map(re.escape, sorted(SCHEMAS))) + r")\"?\.\"?$")


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(first.value.value, str):
                ids.add(id(first.value))
    return ids


def _is_asset_key_call(node: ast.Call) -> bool:
    func = node.func
    return (isinstance(func, ast.Name) and func.id == "AssetKey") or (isinstance(func, ast.Attribute) and func.attr == "AssetKey")


def offences(source: str, filename: str = "<string>") -> list[str]:
    """``line: what`` for every hand-typed dbt name in one Python source."""
    tree = ast.parse(source, filename=filename)
    skip = _docstrings(tree)
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in skip:
            found += [f"{node.lineno}: {m.group(0)!r} (dbt model typed by hand)" for m in _QUALIFIED.finditer(node.value)]
        elif isinstance(node, ast.JoinedStr):
            for part, after in zip(node.values, node.values[1:]):
                if isinstance(part, ast.Constant) and isinstance(after, ast.FormattedValue):
                    match = _SCHEMA_DOT_END.search(part.value)
                    if match:
                        found.append(f"{node.lineno}: {match.group(0)!r}{{...}} (dbt schema typed by hand)")
        elif isinstance(node, ast.Call) and _is_asset_key_call(node):
            for arg in ast.walk(node):
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
                    parts = set(arg.value.split("/"))
                    if parts & (MODELS | SCHEMAS):
                        found.append(f"{node.lineno}: AssetKey naming dbt {sorted(parts & (MODELS | SCHEMAS))} by hand")
    return found


def test_no_hand_typed_dbt_relations_or_asset_keys_outside_tests():
    report = []
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            rel = path.relative_to(ROOT)
            report += sorted((f"{rel}:{line}" for line in offences(path.read_text(encoding="utf-8"), str(rel))),
                             key=lambda s: int(s.split(":")[1]))
    assert not report, ("hand-typed dbt names (use core.dbt_manifest.relation, dagster-dbt's get_asset_key_for_model, "
                        "or core.python_tables):\n" + "\n".join(report))


def test_the_scan_catches_what_it_claims():
    assert {"fct_cash_alerts", "int_triage__ticket_inputs", "dim_customer", "dim_customer_v2", "fx_rates"} <= MODELS
    assert {"staging", "intermediate", "marts"} <= SCHEMAS
    bad = '''
"""Reads marts.fct_cash_alerts (a docstring may say so)."""
from dagster import AssetKey
SQL = "SELECT * FROM marts.fct_cash_alerts"
QUOTED = 'SELECT * FROM "intermediate"."int_triage__ticket_inputs"'
KEY = AssetKey(["intermediate", "int_triage__ticket_inputs"])
KEYS = [AssetKey(["marts", m]) for m in ("dim_location",)]
def load(con, spec):
    return con.execute(f"SELECT * FROM intermediate.{spec.model}")
'''
    lines = [o.split(":")[0] for o in offences(bad)]
    assert sorted(set(lines), key=int) == ["4", "5", "6", "7", "9"], offences(bad)
    good = '''
from smb_warehouse.core.dbt_manifest import relation
SQL = f"SELECT * FROM {relation('fct_cash_alerts')}"
OWN = "SELECT * FROM ml.demand_forecasts"
RAW = AssetKey(["raw", "ingestion", "load_audit"])
'''
    assert offences(good) == []
