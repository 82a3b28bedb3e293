"""Where each dbt test runs when Dagster splits the dbt project into several steps, and proof that none is lost.

Dagster cuts ``warehouse_dbt_models`` into one step per stretch of dbt models between Python assets
(staging, then entity resolution, then the marts, then the ML assets, then the KPI marts). Each step runs
``dbt build --indirect-selection buildable`` over its models, and dbt then runs a test only when every
parent of the test is selected in that invocation *or is an ancestor of a selected model* (dbt-core
``graph/selector.py``, ``IndirectSelection.Buildable``). Dagster, for its part, expects each test's asset
check in the step that builds the model the test is attached to. When the two disagree, the test never
runs and Dagster logs "Blocking asset check ... emitted no result ... will proceed without gating on
it": a blocking test silently skipped, and a publish that was never gated. :func:`misplaced_checks` finds
every such test from the job and the manifest alone (no run needed); ``tests/test_dbt_check_placement.py``
asserts there are none, and the dbt step refuses at run time when a blocking check still gets no result.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from dagster import AssetCheckKey, AssetKey, JobDefinition
from dagster._core.definitions.dependency import NodeHandle
from dagster_dbt.asset_utils import DAGSTER_DBT_UNIQUE_ID_METADATA_KEY as UNIQUE_ID_KEY

_BUILT = ("model", "seed", "snapshot")


def dbt_steps(job: JobDefinition, dbt_op_prefix: str = "warehouse_dbt_models") -> dict[str, set[AssetKey | AssetCheckKey]]:
    """The job's dbt steps: op name -> the asset keys and asset-check keys that step materializes/evaluates."""
    steps = {}
    for node in job.graph.nodes:
        if node.name.startswith(dbt_op_prefix):
            steps[node.name] = set(job.asset_layer.get_selected_entity_keys_for_node(NodeHandle(node.name, None)))
    return steps


def ancestors(uids: Iterable[str], parent_map: Mapping[str, list[str]]) -> set[str]:
    """Every node upstream of ``uids`` in dbt's ``parent_map`` (unique id -> parent ids), ``uids`` excluded."""
    seen: set[str] = set()
    todo = list(uids)
    while todo:
        for parent in parent_map.get(todo.pop(), []):
            if parent not in seen:
                seen.add(parent)
                todo.append(parent)
    return seen


def misplaced_checks(steps: Mapping[str, set[AssetKey | AssetCheckKey]], manifest: Mapping[str, Any],
                     key_of: Mapping[str, AssetKey], check_key_of: Mapping[str, AssetCheckKey]) -> list[str]:
    """Every dbt test that some step would not run where Dagster expects its result, as readable lines.

    ``steps``: :func:`dbt_steps`; ``manifest``: dbt's manifest.json; ``key_of``: dbt unique id of each
    model/seed/snapshot -> its asset key; ``check_key_of``: dbt unique id of each test modelled as a check ->
    its check key. A test is misplaced when (a) its model is built by a step of the job but its check is in
    none, (b) in its check's step one of its parents is neither built there nor an ancestor of a model built
    there (so ``buildable`` skips it: the check "emits no result"), or (c) another step would also select it
    (it would run before all its parents are rebuilt, and report against an asset that step does not own).
    Returns [] when every test runs exactly once, in its check's step.
    """
    parent_map = manifest["parent_map"]
    uid_of = {key: uid for uid, key in key_of.items()}
    built = {step: {uid_of[k] for k in keys if isinstance(k, AssetKey) and k in uid_of} for step, keys in steps.items()}
    reach = {step: uids | ancestors(uids, parent_map) for step, uids in built.items()}
    step_of_check = {k: step for step, keys in steps.items() for k in keys if isinstance(k, AssetCheckKey)}
    in_job = {k for keys in steps.values() for k in keys if isinstance(k, AssetKey)}
    problems = []
    for uid, check_key in sorted(check_key_of.items()):
        parents = [p for p in parent_map.get(uid, []) if manifest["nodes"].get(p, {}).get("resource_type") in _BUILT]
        home = step_of_check.get(check_key)
        if home is None and check_key.asset_key not in in_job:
            continue  # a subset job that does not build the checked model does not evaluate its tests
        if home is None:
            problems.append(f"{check_key.to_user_string()}: the check is in no dbt step of the job")
            continue
        unreachable = [p for p in parents if p not in reach[home]]
        if unreachable:
            problems.append(f"{check_key.to_user_string()}: step {home} neither builds nor depends on "
                            f"{', '.join(sorted(unreachable))}, so dbt's buildable selection skips the test there")
        for step, uids in built.items():
            if step != home and any(p in uids for p in parents) and all(p in reach[step] for p in parents):
                problems.append(f"{check_key.to_user_string()}: step {step} also selects the test "
                                f"(its check belongs to step {home})")
    return problems


def job_misplaced_checks(job: JobDefinition) -> list[str]:
    """:func:`misplaced_checks` for a job built from this project's dbt assets and manifest."""
    from orchestration.dbt.assets import DBT_PROJECT, warehouse_dbt_models

    manifest = json.loads(DBT_PROJECT.manifest_path.read_text())
    key_of = {spec.metadata[UNIQUE_ID_KEY]: spec.key for spec in warehouse_dbt_models.specs
              if UNIQUE_ID_KEY in (spec.metadata or {})}
    check_key_of = {spec.metadata[UNIQUE_ID_KEY]: spec.key for spec in warehouse_dbt_models.check_specs}
    return misplaced_checks(dbt_steps(job), manifest, key_of, check_key_of)
