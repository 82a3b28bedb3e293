"""A landing zone with only ERP exports (no CRM, finance or support) publishes end to end through Dagster:
entity resolution resolves what there is and says what it could not use, instead of stopping the run."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from dagster import DagsterInstance

from smb_warehouse.core.dbt_manifest import relation
from tests.support import environment, query, run_env, step_failures

pytestmark = pytest.mark.scenario  # a whole further warehouse_job run: make test-scenarios


@pytest.fixture(scope="module")
def erp_only_run(tiny_sources: tuple[Path, Path], tmp_path_factory: pytest.TempPathFactory) -> dict:
    landing_all, _truth = tiny_sources
    root = tmp_path_factory.mktemp("erp_only")
    landing = root / "landing"
    shutil.copytree(landing_all / "erp", landing / "erp")
    with environment(run_env(root / "data", landing)):
        from orchestration.definitions import defs

        instance = DagsterInstance.ephemeral()
        result = defs.resolve_job_def("warehouse_job").execute_in_process(instance=instance, raise_on_error=False)
    logs = [entry.user_message for entry in instance.all_logs(result.run_id)]
    return {"result": result, "published": root / "data" / "warehouse" / "warehouse.duckdb", "logs": logs}


def test_erp_only_landing_publishes_with_a_resolution(erp_only_run: dict) -> None:
    result = erp_only_run["result"]
    assert result.success, step_failures(result)
    published = erp_only_run["published"]
    assert published.exists()
    # nothing but ERP arrived ...
    assert query(published, "SELECT count(*) FROM raw.crm__accounts")[0][0] == 0
    assert query(published, "SELECT count(*) FROM raw.support__tickets")[0][0] == 0
    # ... and every ERP customer, supplier and product is mapped exactly once
    for entity_type, model in (("customer", "int_er__customer_records"), ("supplier", "int_er__supplier_records"),
                               ("product", "int_er__product_records")):
        expected = query(published, f"SELECT count(*) FROM {relation(model)}")[0][0]
        mapped = query(published, "SELECT count(*), count(DISTINCT record_key) FROM entity_resolution.entity_map "
                                  "WHERE entity_type = ?", [entity_type])[0]
        assert mapped == (expected, expected), entity_type
        assert expected > 0, entity_type
    systems = {r[0] for r in query(published, "SELECT DISTINCT source_system FROM entity_resolution.entity_map")}
    assert systems == {"erp"}
    # the resolution said what it had to leave out (no support tickets: no product mentions to link)
    logs = "\n".join(erp_only_run["logs"])
    assert "entity resolution: products:" in logs and "0 mention(s): nothing to link" in logs
