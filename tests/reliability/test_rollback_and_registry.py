"""Registry state goes with the publish, and a publish can be rolled back with its aliases: on a copy of the
shared tiny run,
- a run killed (SIGKILL) after it moved the `champion` alias but before it published leaves MLflow naming an
  unpublished champion only until the next run claims the warehouse: the alias is set back from the
  published ml.model_registry;
- `make rollback-warehouse` restores the previous publish byte for byte, rebuilds the BI copy from it and
  moves the aliases back to what it records."""
from __future__ import annotations

import hashlib
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from orchestration.cli import main as cli
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core import registry, tracking
from smb_warehouse.core.warehouse import Warehouse
from tests.support import clone_run, environment, query, run_env

ROOT = Path(__file__).resolve().parents[2]
MODEL = "demand_forecaster"


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _champion() -> str | None:
    info = registry.version_info(MODEL)
    return str(info.version) if info is not None else None


@pytest.fixture()
def rollback_clone(tiny_run: dict, tmp_path: Path):
    clone_run(tiny_run["root"], tmp_path / "data")
    with environment(run_env(tmp_path / "data", tiny_run["landing"])):
        published = registry.published_alias_record(Warehouse().published_path)
        assert published.get(MODEL, {}).get("champion"), "the shared run should have published a champion"
        yield {"root": tmp_path / "data", "champion": published[MODEL]["champion"]}


def _another_version() -> str:
    """A second registered version of the model (what a retraining run would register)."""
    client = tracking.configure()
    champion = client.get_model_version_by_alias(MODEL, "champion")
    return str(client.create_model_version(MODEL, champion.source, run_id=champion.run_id).version)


KILLED_RUN = textwrap.dedent("""
    import sys, time
    from orchestration.lib.resources import WarehouseResource
    from smb_warehouse.core import registry
    run_id = "killed-after-promotion"
    WarehouseResource().ensure_candidate(run_id)   # the run has claimed the warehouse ...
    registry.promote(sys.argv[1], sys.argv[2])     # ... moved the champion alias ...
    print("promoted", flush=True)
    time.sleep(600)                                # ... and dies before its publish step
""")


def test_a_run_killed_between_promotion_and_publish_leaves_no_unpublished_champion(rollback_clone):
    published_champion = rollback_clone["champion"]
    new = _another_version()
    proc = subprocess.Popen([sys.executable, "-c", KILLED_RUN, MODEL, new], cwd=ROOT, env=os.environ.copy(),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "promoted", proc.stderr.read()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert _champion() == new  # the killed run's promotion is in MLflow, its forecasts were never published
    before = _sha(Warehouse().published_path)

    resource = WarehouseResource()
    resource.ensure_candidate("next-run")  # the next run's first claim reconciles
    resource.store.release("next-run")

    assert _champion() == published_champion
    assert _sha(Warehouse().published_path) == before
    reverted = tracking.configure().get_model_version(MODEL, new).tags
    assert "unpublished_alias_reverted" in reverted


def test_rollback_warehouse_restores_the_previous_publish_and_its_aliases(rollback_clone, capsys):
    wh = Warehouse()
    old_champion = rollback_clone["champion"]
    first = _sha(wh.published_path)
    new = _another_version()
    # a second publish whose registry mirror records the new champion (as a retraining run's would)
    with wh.writer("retrain"), wh.connect("retrain") as con:
        con.execute("INSERT INTO ml.model_registry SELECT * REPLACE (? AS model_version) FROM ml.model_registry "
                    "WHERE model_name = ? AND is_champion", [new, MODEL])
        con.execute("UPDATE ml.model_registry SET aliases = NULL, is_champion = false "
                    "WHERE model_name = ? AND model_version <> ?",
                    [MODEL, new])
        con.close()
        wh.publish("retrain")
        registry.reconcile_aliases(wh.published_path)
    assert _champion() == new and len(wh.history()) >= 2

    assert cli(["rollback-warehouse"]) == 0
    out = capsys.readouterr().out
    assert "rolled back" in out and f"{MODEL}@champion: set v{new} -> v{old_champion}" in out
    assert _sha(wh.published_path) == first  # byte for byte the earlier publish
    assert wh.bi_publish_id() == wh.current_publish().publish_id
    assert query(wh.bi_path, "SELECT run_id FROM meta.publish_info")[0][0] != "retrain"
    assert _champion() == old_champion

