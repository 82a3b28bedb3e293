"""dbt models as Dagster assets; dbt tests arrive as Dagster asset checks.

dbt always builds into the run's candidate warehouse (``DBT_DUCKDB_PATH``); a failing error-severity
test fails this step, and the publish asset downstream then never runs.
"""

import fcntl
import os
import shutil
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property
from pathlib import Path

from dagster import AssetCheckKey, AssetCheckResult, AssetExecutionContext, Failure
from dagster_dbt import DbtCliResource, DbtProject, dbt_assets

from orchestration.dbt.results import record_step
from orchestration.lib.dbt_translator import TRANSLATOR
from orchestration.lib.resources import WarehouseResource
from smb_warehouse.core import paths

# The venv's dbt even when the venv is not activated (make calls .venv/bin/python directly).
DBT_EXECUTABLE = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
DBT_PROJECT = DbtProject(project_dir=paths.DBT_PROJECT_DIR, profiles_dir=paths.DBT_PROJECT_DIR)


class WarehouseDbtCliResource(DbtCliResource):
    """dagster-dbt's ``DbtCliResource`` without two costs this project does not need (issue 12: every dbt step of
    a run paid them; measured 0.4-0.9 s per step, 1.5 s once per run, on a 2-core machine):

    - the in-process dbt adapter that ``cli()`` opens before every invocation (it loads the adapter's macros) is
      only used by ``DbtEventIterator.fetch_row_counts()`` / ``fetch_column_metadata()``, which no asset here
      calls: dbt itself runs in its own process either way;
    - the dbt version, which dagster-dbt reads by running ``dbt --version`` in a subprocess, is read from the
      installed dbt-core's metadata when the dbt executable is this interpreter's own (the venv's).

    And one hazard it removes: when a step's dbt selection lists more than 200 resources (a UI launch that
    deselects some checks of the staging step), dagster-dbt copies the whole project folder to a new temp folder
    to write a selectors.yml there (``get_updated_cli_invocation_params_for_context``). The project folder is this
    repository's root, so that copy took ``data/`` (landing zone, warehouses, benchmark folders: GBs) and
    ``.venv``; during ``cli()`` the copy here takes only what dbt reads (``DBT_INPUTS``, dbt_packages). The temp
    folder itself is dagster-dbt's and stays behind, as before, now a few MB.

    Everything else is dagster-dbt's: events, asset checks, selection. Relies on private members of dagster-dbt
    0.29 (``_initialize_dbt_core_adapter``, ``_cli_version``, ``asset_utils.shutil``), pinned with it in
    requirements.lock; ``tests/dbt/test_dbt_resource.py`` fails when they move."""

    def cli(self, args, **kwargs):
        with dbt_inputs_only_project_copies():
            return super().cli(args, **kwargs)

    def _initialize_dbt_core_adapter(self, args):
        return None

    @cached_property
    def _cli_version(self):
        from importlib.metadata import PackageNotFoundError
        from importlib.metadata import version as installed

        from packaging import version

        if Path(self.dbt_executable).parent == Path(sys.executable).parent:
            try:
                return version.parse(installed("dbt-core"))
            except PackageNotFoundError:  # a dbt of another kind (Fusion) in this venv: ask it
                pass
        return super()._cli_version

# what dbt reads in the project (a change means a re-parse; the docs site key hashes them too)
DBT_INPUTS = ("models", "macros", "seeds", "analyses", "snapshots", "data_tests", "dbt_project.yml", "profiles.yml",
              "packages.yml", "package-lock.yml")


class _DbtInputsCopy:
    """``shutil`` as dagster-dbt's asset_utils sees it inside :func:`dbt_inputs_only_project_copies`: ``copytree``
    of a folder holding a dbt_project.yml copies only its top-level ``DBT_INPUTS`` and dbt_packages; every other
    attribute is shutil's own."""

    def __init__(self, real):
        self._real = real

    def __getattr__(self, name):
        return getattr(self._real, name)

    def copytree(self, src, dst, *args, **kwargs):
        root = Path(src).resolve()
        if (root / "dbt_project.yml").is_file() and "ignore" not in kwargs:
            keep = {*DBT_INPUTS, "dbt_packages"}
            kwargs["ignore"] = lambda folder, names: [n for n in names if n not in keep] \
                if Path(folder).resolve() == root else []
        return self._real.copytree(src, dst, *args, **kwargs)


@contextmanager
def dbt_inputs_only_project_copies() -> Iterator[None]:
    """While open, dagster-dbt's copies of the dbt project (see ``WarehouseDbtCliResource``) hold only what dbt reads.
    Swaps the module attribute ``dagster_dbt.asset_utils.shutil`` (the in-process executor runs one step at a time;
    a multiprocess executor's steps are processes of their own)."""
    from dagster_dbt import asset_utils

    real = asset_utils.shutil
    asset_utils.shutil = _DbtInputsCopy(real)
    try:
        yield
    finally:
        asset_utils.shutil = real


def _parsed_for(project: DbtProject) -> Path:
    return Path(project.project_dir) / project.target_path / ".parsed_for_warehouse"


def manifest_is_stale(project: DbtProject = DBT_PROJECT) -> bool:
    manifest = project.manifest_path
    if not manifest.exists():
        return True
    marker = _parsed_for(project)
    if not marker.exists() or marker.read_text() != str(WarehouseResource().candidate_file):
        return True  # dbt's partial-parse state is only reusable for the same rendered profile
    built = manifest.stat().st_mtime
    root = Path(project.project_dir)
    for name in DBT_INPUTS:
        path = root / name
        files = [path] if path.is_file() else (path.rglob("*") if path.exists() else [])
        if any(f.stat().st_mtime > built for f in files):
            return True
    return False


def ensure_manifest(project: DbtProject = DBT_PROJECT) -> Path:
    """Parse the dbt project when its manifest is missing or older than its sources.

    Dagster needs the manifest to even list the dbt assets, so this runs at definitions load; it costs
    a `dbt parse` (a few seconds) only after the dbt project changed.

    Several processes may load the definitions at once (two `make demo`, the UI and a CLI, a test's
    subprocesses): the parse runs under an exclusive lock on ``target/.parse.lock``, into a private
    target directory, and its files are renamed into ``target/`` so no reader ever sees a half-written
    ``manifest.json``.
    """
    target = Path(project.project_dir) / project.target_path
    target.mkdir(parents=True, exist_ok=True)
    with open(target / ".parse.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if manifest_is_stale(project):
            candidate = WarehouseResource().candidate_file
            private = Path(tempfile.mkdtemp(prefix=".parse-", dir=target))
            try:
                # Parse with the profile every run step will render (the candidate path), so each dbt
                # step of a run starts from this partial-parse state instead of re-parsing the project.
                if (target / "partial_parse.msgpack").exists():
                    shutil.copy2(target / "partial_parse.msgpack", private / "partial_parse.msgpack")
                with dbt_target(candidate):
                    dbt = WarehouseDbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE)
                    dbt.cli(["parse", "--quiet"], target_path=private).wait()
                for name in ("partial_parse.msgpack", "semantic_manifest.json", "manifest.json"):
                    if (private / name).exists():
                        os.replace(private / name, target / name)  # manifest.json last: it marks completion
                _parsed_for(project).write_text(str(candidate))
            finally:
                shutil.rmtree(private, ignore_errors=True)
    return project.manifest_path


@contextmanager
def dbt_target(path: Path) -> Iterator[None]:
    """Point dbt (a subprocess inheriting our environment) at one DuckDB file for a block."""
    previous = os.environ.get("DBT_DUCKDB_PATH")
    os.environ["DBT_DUCKDB_PATH"] = str(path)
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop("DBT_DUCKDB_PATH", None)
        else:
            os.environ["DBT_DUCKDB_PATH"] = previous


ensure_manifest()


@dbt_assets(manifest=DBT_PROJECT.manifest_path, dagster_dbt_translator=TRANSLATOR, project=DBT_PROJECT)
def warehouse_dbt_models(context: AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    with dbt_target(warehouse.ensure_candidate(context.run_id)):
        # Dagster splits dbt into several steps around the Python assets (entity resolution sits between
        # staging and marts). "buildable" runs a test in the step where all its parents exist, instead of
        # dbt's default "eager", which would run a staging-vs-fact reconciliation before the fact is built.
        # orchestration/dbt/check_placement.py proves (in a test) that each test's parents are built in, or
        # upstream of, the step that owns its check; should a blocking check still get no result, this step
        # fails instead of letting Dagster "proceed without gating on it" to the publish.
        # Unit tests check the models' logic on fixture rows, not the night's data: the nightly build leaves them
        # out, as dbt recommends for production, and CI runs every one of them (tests/dbt/test_dbt_project.py
        # builds the whole project with them on DuckDB; the PostgreSQL and Spark builds run them too). 26 nodes of
        # about 0.3 s each, whatever the data's size.
        evaluated: set[AssetCheckKey] = set()
        invocation = dbt.cli(["build", "--indirect-selection", "buildable", "--exclude-resource-type", "unit_test"],
                             context=context)
        for event in invocation.stream():
            if isinstance(event, AssetCheckResult):
                evaluated.add(AssetCheckKey(event.asset_key, event.check_name))
            yield event
    # pipeline history for kpi_platform__pipeline_health: this step's dbt node results and the Dagster run history
    with warehouse.connect(context.run_id) as con:
        recorded = record_step(con, context.instance, context.run_id, context.op.name,
                               invocation.get_artifact("run_results.json"))
    context.log.debug(f"recorded {recorded} dbt node results in ops.dbt_node_results")
    blocking = {spec.key for spec in context.assets_def.check_specs if spec.blocking}
    unevaluated = sorted(k.to_user_string() for k in (context.selected_asset_check_keys & blocking) - evaluated)
    if unevaluated:
        raise Failure(f"{len(unevaluated)} blocking dbt test(s) of this step did not run, so nothing may be "
                      f"published: {', '.join(unevaluated[:10])}", metadata={"unevaluated_checks": unevaluated})
