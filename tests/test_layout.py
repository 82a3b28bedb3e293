"""The package layout holds: domain code never imports Dagster, imports point downward only, there are no
import cycles, and the Dagster definitions load.

Layers, lowest first (a module may import its own layer and the ones below it):
  smb_warehouse.core       paths, config, engine seam, SQL helpers, MLflow store
  smb_warehouse.<domain>   ingestion, entity_resolution, forecasting, ...: core only, never another domain
  sme_sim, events          the simulator (writes exports per the contracts); the event intake (broker,
                           consumer, micro-batches, real-time scoring); neither imports the other
  orchestration, api       Dagster definitions over the domains (and the micro-batch sensor over events);
                           the REST API (over the domains and events); neither imports the other, and
                           orchestration never imports sme_sim
  benchmarks               commands that measure everything above
Every import counts, including those inside functions: a lazy upward import is still an upward import.
"""
from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("sme_sim", "smb_warehouse", "events", "orchestration", "api", "benchmarks")
DAGSTER_FREE = ("sme_sim", "smb_warehouse", "events", "api")
# Pairs of units that must stay apart although their ranks would allow the import.
FORBIDDEN = {("orchestration", "sme_sim")}


def _modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in (ROOT / package).rglob("*.py"):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _imports(module: str, path: Path) -> list[tuple[str, int]]:
    """(imported module name, line) for every import statement anywhere in the file; relative imports
    resolved against ``module``."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out += [(alias.name, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")
                base = base if is_package else base[:-1]
                base = base[: len(base) - (node.level - 1)]
                name = ".".join(base + ([node.module] if node.module else []))
            else:
                name = node.module or ""
            # `from pkg import mod` imports the submodule pkg.mod when it is one; the package itself counts
            # only when a name is taken from its __init__ (every submodule import runs it, by design)
            submodules = [f"{name}.{alias.name}" for alias in node.names if f"{name}.{alias.name}" in MODULES]
            if len(submodules) < len(node.names):
                out.append((name, node.lineno))
            out += [(sub, node.lineno) for sub in submodules]
    return out


def _project_target(name: str) -> str | None:
    """The project module an import resolves to (the longest known prefix), or None for third-party."""
    parts = name.split(".")
    for end in range(len(parts), 0, -1):
        candidate = ".".join(parts[:end])
        if candidate in MODULES:
            return candidate
    return None


def _layer(module: str) -> tuple[int, str]:
    """(rank, unit): rank orders the layers; two domains share a rank but are different units."""
    top = module.split(".")[0]
    if top == "smb_warehouse":
        parts = module.split(".")
        if len(parts) == 1 or parts[1] == "core":
            return 1, "smb_warehouse.core"
        return 2, f"smb_warehouse.{parts[1]}"
    return {"sme_sim": 3, "events": 3, "orchestration": 4, "api": 4, "benchmarks": 5}[top], top


GRAPH: dict[str, set[str]] = defaultdict(set)
EDGES: list[tuple[str, str, int, Path]] = []
for _module, _path in MODULES.items():
    for _name, _line in _imports(_module, _path):
        _target = _project_target(_name)
        if _target and _target != _module:
            GRAPH[_module].add(_target)
            EDGES.append((_module, _target, _line, _path))


def test_the_layout_has_the_packages_it_documents():
    assert {"smb_warehouse.core.warehouse", "smb_warehouse.ingestion.loader", "orchestration.definitions"} <= set(MODULES)


@pytest.mark.parametrize("package", DAGSTER_FREE)
def test_domain_code_never_imports_dagster(package):
    offenders = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for module, path in MODULES.items() if module.split(".")[0] == package
                 for name, line in _imports(module, path) if name.split(".")[0] in ("dagster", "dagster_dbt")]
    assert not offenders, "\n".join(offenders)


def test_imports_point_downward_only():
    offenders = []
    for source, target, line, path in EDGES:
        (src_rank, src_unit), (dst_rank, dst_unit) = _layer(source), _layer(target)
        sideways = src_rank == dst_rank and src_unit != dst_unit  # domain <-> domain, events <-> sme_sim, api <-> orchestration
        if dst_rank > src_rank or sideways or (src_unit, dst_unit) in FORBIDDEN:
            offenders.append(f"{path.relative_to(ROOT)}:{line}: {source} ({src_unit}) imports {target} ({dst_unit})")
    assert not offenders, "\n".join(offenders)


def test_no_import_cycles():
    # Tarjan's strongly connected components; any component with more than one module is a cycle.
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(GRAPH.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                cycles.append(sorted(component))

    for module in sorted(MODULES):
        if module not in index:
            visit(module)
    assert not cycles, cycles


def test_the_checks_above_can_fail():
    """The rules catch what they claim to: an upward import and a cycle in a synthetic graph."""
    assert _layer("smb_warehouse.ingestion.loader") < _layer("orchestration.definitions")
    assert _layer("smb_warehouse.core.paths")[0] < _layer("smb_warehouse.forecasting.model")[0]
    assert _project_target("smb_warehouse.core.paths.data_dir") == "smb_warehouse.core.paths"
    assert _project_target("pandas") is None
    assert _layer("events.consumer") < _layer("api.app") and _layer("api.app")[0] == _layer("orchestration.definitions")[0]
    assert _layer("events.consumer")[0] == _layer("sme_sim")[0] and _layer("api.app") < _layer("benchmarks.loader")


def test_dagster_definitions_load():
    from dagster import Definitions

    from orchestration.definitions import defs

    Definitions.validate_loadable(defs)
    job = defs.resolve_job_def("warehouse_job")
    keys = {k.to_user_string() for k in job.asset_layer.selected_asset_keys}
    assert "published_warehouse" in keys and any(k.startswith("raw/") for k in keys)
    assert {j.name for j in defs.resolve_all_job_defs()} >= {"warehouse_job", "apply_review_decisions_job",
                                                            "forecast_rollback_job", "forecast_retrain_job"}
