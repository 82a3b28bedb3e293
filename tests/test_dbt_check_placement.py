"""No blocking dbt test can be skipped by the way Dagster splits dbt into steps (orchestration/dbt/check_placement.py).

The first test reads the real jobs and manifest; the others feed the same function small graphs with the two
faults it exists for, so it is shown to fail when it should.
"""
from __future__ import annotations

import pytest
from dagster import AssetCheckKey, AssetKey

from orchestration.dbt.check_placement import dbt_steps, job_misplaced_checks, misplaced_checks
from orchestration.definitions import defs


@pytest.mark.parametrize("job_name", ["warehouse_job", "event_microbatch_job", "forecast_rollback_job",
                                      "forecast_retrain_job", "apply_review_decisions_job"])
def test_every_dbt_test_runs_in_the_step_that_owns_its_check(job_name: str) -> None:
    job = defs.resolve_job_def(job_name)
    steps = dbt_steps(job)
    assert steps, f"{job_name} has no dbt step"
    assert job_misplaced_checks(job) == []


def test_the_main_job_splits_dbt_and_carries_every_dbt_check() -> None:
    """The property above is only interesting because dbt really is split: several steps, every check placed once."""
    steps = dbt_steps(defs.resolve_job_def("warehouse_job"))
    checks = [k for keys in steps.values() for k in keys if isinstance(k, AssetCheckKey)]
    assert len(steps) >= 4
    assert len(checks) == len(set(checks)) > 300


def test_seeds_and_the_alert_delivery_log_do_not_cost_a_dbt_step_of_their_own() -> None:
    """The ordering edges of orchestration/lib/dbt_translator.py: seeds run in the staging step and
    fct_cash_alert_deliveries in the platform marts' step, so the main job starts 4 dbt processes, not 6."""
    steps = dbt_steps(defs.resolve_job_def("warehouse_job"))
    step_of = {k: name for name, keys in steps.items() for k in keys}
    assert step_of[AssetKey(["reference", "fx_rates"])] == step_of[AssetKey(["staging", "stg_erp__customers"])]
    assert step_of[AssetKey(["marts", "fct_cash_alert_deliveries"])] == \
        step_of[AssetKey(["marts", "kpi_platform__pipeline_health"])]
    assert len(steps) == 4, sorted(steps)


def test_every_build_after_key_names_an_asset() -> None:
    """A misspelt ``meta.dagster.build_after`` key would be a dependency on nothing: every one names a real asset."""
    import json

    from orchestration.dbt.assets import DBT_PROJECT, ensure_manifest

    known = defs.resolve_asset_graph().get_all_asset_keys()
    ensure_manifest(DBT_PROJECT)
    named = [(uid, k) for uid, node in json.loads(DBT_PROJECT.manifest_path.read_text())["nodes"].items()
             for k in node.get("meta", {}).get("dagster", {}).get("build_after", [])]
    assert named, "no model uses build_after: the test would prove nothing"
    assert [(uid, k) for uid, k in named if AssetKey.from_user_string(k) not in known] == []


# ---- the function fails where it should: a three-model graph split into two steps
A, B, C = (AssetKey(["m", n]) for n in "abc")
UIDS = {"model.p.a": A, "model.p.b": B, "model.p.c": C}


def _manifest(test_parents: list[str], edges: dict[str, list[str]]) -> dict:
    nodes = {uid: {"resource_type": "model"} for uid in UIDS} | {"test.p.t": {"resource_type": "test"}}
    return {"nodes": nodes, "parent_map": {**edges, "test.p.t": test_parents}}


def test_a_test_whose_parent_is_built_in_a_later_step_is_reported() -> None:
    """c is tested against b (a relationships test attached to c); b is built in a later step and is no ancestor of c."""
    check = AssetCheckKey(C, "t")
    steps = {"s1": {A, C, check}, "s2": {B}}
    problems = misplaced_checks(steps, _manifest(["model.p.c", "model.p.b"], {"model.p.c": ["model.p.a"]}), UIDS,
                                {"test.p.t": check})
    assert len(problems) == 1 and "model.p.b" in problems[0] and "buildable" in problems[0]
    # b upstream of c (the depends_on fix): c's step reaches b, and the test is no longer reported
    fixed = misplaced_checks({"s1": {B}, "s2": {A, C, check}},
                             _manifest(["model.p.c", "model.p.b"], {"model.p.c": ["model.p.a", "model.p.b"]}), UIDS,
                             {"test.p.t": check})
    assert fixed == []


def test_a_test_selected_by_two_steps_and_a_check_in_no_step_are_reported() -> None:
    check = AssetCheckKey(A, "t")
    # the check sits with a in s2, but s1 builds b (a parent) and a is b's ancestor: s1 selects the test too
    twice = misplaced_checks({"s1": {A}, "s2": {B, check}}, _manifest(["model.p.a"], {"model.p.b": ["model.p.a"]}),
                             UIDS, {"test.p.t": check})
    assert twice == [f"{check.to_user_string()}: step s1 also selects the test (its check belongs to step s2)"]
    lost = misplaced_checks({"s1": {A}}, _manifest(["model.p.a"], {}), UIDS, {"test.p.t": check})
    assert lost == [f"{check.to_user_string()}: the check is in no dbt step of the job"]


# ---- real runs
def test_the_shared_run_evaluated_every_blocking_dbt_check(tiny_run) -> None:
    """Proof on a real run: no blocking dbt check of the main job ended without a result (the issue's example,
    fct_sales_order_lines.location_id -> dim_location, included)."""
    from orchestration.dbt.assets import warehouse_dbt_models

    blocking = {f"{s.key.asset_key.to_user_string()}:{s.key.name}" for s in warehouse_dbt_models.check_specs if s.blocking}
    assert len(blocking) > 250
    assert sorted(blocking - set(tiny_run["checks"])) == []
    assert tiny_run["checks"]["marts/fct_sales_order_lines:"
                              "relationships_fct_sales_order_lines_location_id__location_id__ref_dim_location_"] is True


def test_a_blocking_check_without_a_result_fails_the_step_and_nothing_is_published(tiny_run, tmp_path, monkeypatch):
    """Should a blocking test still go missing (here: its result is dropped from dbt's event stream), the dbt step
    fails with the check's name and the publish downstream never runs."""
    from dagster import AssetCheckResult, DagsterInstance
    from dagster_dbt.core.dbt_cli_invocation import DbtCliInvocation

    from orchestration.definitions import defs
    from smb_warehouse.core.warehouse import Warehouse
    from tests.support import clone_run, environment, run_env, sha256_of

    lost = "unique_dim_date_date_key"
    stream = DbtCliInvocation.stream

    def dropping(self, *args, **kwargs):
        for event in stream(self, *args, **kwargs):
            if not (isinstance(event, AssetCheckResult) and event.check_name == lost):
                yield event

    monkeypatch.setattr(DbtCliInvocation, "stream", dropping)
    root = clone_run(tiny_run["root"], tmp_path / "run")
    with environment(run_env(root, tiny_run["landing"])):
        published = Warehouse().published_path
        before = sha256_of(published)
        result = defs.resolve_job_def("warehouse_job").execute_in_process(
            instance=DagsterInstance.ephemeral(), raise_on_error=False,
            asset_selection=[AssetKey(["marts", "dim_date"]), AssetKey(["published_warehouse"])])
        assert not result.success
        failures = [e for e in result.all_events if e.is_step_failure]
        assert len(failures) == 1 and failures[0].step_key.startswith("warehouse_dbt_models")
        assert f"marts/dim_date:{lost}" in failures[0].event_specific_data.error.message
        assert "did not run, so nothing may be published" in failures[0].event_specific_data.error.message
        assert not [e for e in result.all_events if e.step_key == "published_warehouse" and e.is_step_success]
        assert sha256_of(published) == before
