"""`make observability`: elementary (https://docs.elementary-data.com) over the published warehouse, opt-in.

elementary is a dbt package (models and hooks that collect dbt run and test results into an ``elementary``
schema) plus a CLI, ``edr`` (PyPI ``elementary-data``), that renders an HTML observability report from them.
The default build never needs it: this command assembles a private dbt project under
``$SMB_DATA_DIR/observability/`` (this project's dbt_project.yml and profiles.yml, links to its models,
macros and seeds, and a ``packages.yml`` naming elementary), works on a copy of the published warehouse
(the published file is never written), and runs there:

    dbt deps                           install elementary from its source (below)
    dbt run --select elementary        elementary's own tables
    dbt build                          every model and test again, so elementary's hooks record them
    edr report                         -> $SMB_DATA_DIR/observability/elementary_report.html

Where the dbt package comes from:

    SMB_ELEMENTARY_PACKAGE   a local path to elementary's dbt package (a checkout of
                             elementary-data/dbt-data-reliability): for machines without dbt hub access
    SMB_ELEMENTARY_VERSION   otherwise the dbt hub's elementary-data/elementary, this version range
                             (default ">=0.16.0,<0.17.0")

Errors: :class:`ObservabilityUnavailable` with one readable paragraph (what is missing and how to provide it)
when the package path is not elementary's package, when ``dbt deps`` cannot fetch it (no hub access and no
local path), or when ``edr`` is not installed. Any other dbt failure is reported with the log's tail.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

import yaml

from smb_warehouse.core import paths

PACKAGE_ENV = "SMB_ELEMENTARY_PACKAGE"
VERSION_ENV = "SMB_ELEMENTARY_VERSION"
DEFAULT_VERSION = ">=0.16.0,<0.17.0"
HUB_PACKAGE = "elementary-data/elementary"
LINKED = ("models", "macros", "seeds", "analyses")


class ObservabilityUnavailable(RuntimeError):
    """elementary cannot run here; the message says what is missing and how to provide it."""


def package_entry(environ: Mapping[str, str] = os.environ) -> dict:
    """The packages.yml entry for elementary: ``{"local": path}`` from SMB_ELEMENTARY_PACKAGE (checked: a dbt
    project named ``elementary``), else ``{"package": ..., "version": [...]}`` from the dbt hub."""
    local = environ.get(PACKAGE_ENV)
    if local:
        path = Path(local).expanduser().resolve()
        project = path / "dbt_project.yml"
        name = (yaml.safe_load(project.read_text(encoding="utf-8")) or {}).get("name") if project.is_file() else None
        if name != "elementary":
            raise ObservabilityUnavailable(
                f"{PACKAGE_ENV}={local} is not elementary's dbt package ({project} "
                f"{'names ' + repr(name) if project.is_file() else 'does not exist'}; expected a dbt_project.yml with "
                "name: elementary, as in a checkout of github.com/elementary-data/dbt-data-reliability).")
        return {"local": str(path)}
    return {"package": HUB_PACKAGE, "version": [v.strip() for v in environ.get(VERSION_ENV, DEFAULT_VERSION).split(",")]}


def assemble_project(workdir: Path, entry: dict) -> Path:
    """The private dbt project under ``workdir/project`` (see the module docstring); returns its directory."""
    project = workdir / "project"
    project.mkdir(parents=True, exist_ok=True)
    config = yaml.safe_load((paths.DBT_PROJECT_DIR / "dbt_project.yml").read_text(encoding="utf-8"))
    config["models"]["elementary"] = {"+schema": "elementary"}
    config["target-path"], config["packages-install-path"] = "target", "dbt_packages"
    (project / "dbt_project.yml").write_text(yaml.safe_dump(config, sort_keys=False), encoding="utf-8")
    profiles = yaml.safe_load((paths.DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    # edr reads the profile named "elementary": the same DuckDB copy, elementary's schema
    duckdb_output = dict(profiles["smb_warehouse"]["outputs"]["duckdb"], schema="elementary")
    profiles["elementary"] = {"target": "duckdb", "outputs": {"duckdb": duckdb_output}}
    (project / "profiles.yml").write_text(yaml.safe_dump(profiles, sort_keys=False), encoding="utf-8")
    for name in LINKED:
        link, source = project / name, paths.DBT_PROJECT_DIR / name
        if source.exists() and not link.exists():
            link.symlink_to(source, target_is_directory=True)
    (project / "packages.yml").write_text(yaml.safe_dump({"packages": [entry]}, sort_keys=False), encoding="utf-8")
    return project


def _dbt(project: Path, *args: str, env: dict) -> subprocess.CompletedProcess:
    dbt = shutil.which("dbt") or str(Path(sys.executable).with_name("dbt"))
    return subprocess.run([dbt, *args, "--project-dir", str(project), "--profiles-dir", str(project)], cwd=project,
                          env=env, capture_output=True, text=True)


def _tail(done: subprocess.CompletedProcess, lines: int = 15) -> str:
    return "\n".join((done.stdout + done.stderr).strip().splitlines()[-lines:])


def run(workdir: Path | None = None) -> Path:
    """Run the whole opt-in path; returns the HTML report's path. Raises ObservabilityUnavailable (module
    docstring) or RuntimeError naming the dbt command that failed with its output's tail."""
    workdir = workdir or paths.data_dir() / "observability"
    entry = package_entry()
    published = paths.published_warehouse_path()
    if not published.exists():
        raise ObservabilityUnavailable(f"no published warehouse at {published}: run `make demo` first.")
    edr = shutil.which("edr") or str(Path(sys.executable).with_name("edr"))
    if not Path(edr).exists():
        raise ObservabilityUnavailable("elementary's CLI `edr` is not installed: `.venv/bin/pip install elementary-data` "
                                       "(it is not part of the locked dependencies, so the default build never needs it).")
    project = assemble_project(workdir, entry)
    database = workdir / "warehouse.duckdb"
    shutil.copyfile(published, database)
    env = {**os.environ, "DBT_DUCKDB_PATH": str(database), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    deps = _dbt(project, "deps", env=env)
    if deps.returncode != 0:
        source = entry.get("local") or f"the dbt hub ({HUB_PACKAGE} {', '.join(entry['version'])})"
        raise ObservabilityUnavailable(
            f"dbt deps could not install elementary from {source}. On a machine without dbt hub access, set "
            f"{PACKAGE_ENV} to a local checkout of elementary's dbt package. dbt said:\n{_tail(deps)}")
    for args in (("run", "--select", "elementary"), ("build", "--exclude", "package:elementary")):
        done = _dbt(project, *args, env=env)
        if done.returncode != 0:
            raise RuntimeError(f"dbt {' '.join(args)} failed in {project}:\n{_tail(done)}")
    report = workdir / "elementary_report.html"
    done = subprocess.run([edr, "report", "--project-dir", str(project), "--profiles-dir", str(project),
                           "--file-path", str(report), "--open-browser", "false"], cwd=project, env=env,
                          capture_output=True, text=True)
    if done.returncode != 0 or not report.exists():
        raise RuntimeError(f"edr report failed:\n{_tail(done)}")
    return report


def main(argv: list[str] | None = None) -> int:
    argparse.ArgumentParser(prog="python -m smb_warehouse.observability.elementary",
                            description=__doc__.split("\n\n")[0]).parse_args(argv)
    try:
        report = run()
    except ObservabilityUnavailable as exc:
        print(f"elementary is not available here: {exc}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(str(exc), file=sys.stderr)
        return 1
    print(f"elementary report: {report}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
