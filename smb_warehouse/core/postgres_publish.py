"""Write-audit-publish on PostgreSQL: build into candidate schemas, publish by renaming them in one transaction.

On DuckDB the project publishes by file (a candidate file renamed over the published one,
``smb_warehouse/core/warehouse.py``). On PostgreSQL the same guarantee comes from schemas:

1. **write**: ``dbt build --target postgres --vars '{schema_suffix: __candidate}'`` builds every model, seed
   and stored test result into ``<schema>__candidate`` (``staging__candidate``, ``marts__candidate``, ...;
   ``macros/generate_schema_name.sql``). Leftover candidates of an earlier failed build are dropped first.
2. **audit**: the same ``dbt build`` runs every data test, unit test and enforced contract; any error or
   failing test (warnings do not count) refuses the publish (``PublishRefused`` naming the failed nodes) and
   leaves the candidate schemas for inspection. The published schemas are not touched.
3. **publish**: one transaction (``lock_timeout`` bounded) renames ``<schema>`` to ``<schema>__previous``
   and ``<schema>__candidate`` to ``<schema>`` for every candidate schema, after dropping the publish before
   the previous one. Readers see the old marts or the new ones, never a mix: PostgreSQL renames are
   transactional, views bind to the tables they were built on (not to names), so a candidate's views keep
   reading the candidate's tables once renamed, and dbt's ``grants`` (SELECT for the BI role) travel with
   the renamed tables. Schema USAGE is granted here, inside the swap, to every role holding SELECT on a
   relation of the schema (never during the build: a candidate, even one refused and left for
   inspection, is unreachable to the BI role), and revoked on the demoted ``<schema>__previous`` from
   every role but its owner, so the BI role reads the published marts and nothing else. ``rollback()``
   swaps ``<schema>`` and ``<schema>__previous`` back (schema USAGE moves with the name; a schema new in
   the undone publish, with no ``__previous``, stays).

One publish at a time per database: ``copy_build_publish()`` holds a PostgreSQL advisory lock over the copy
of the inputs, the build and the swap (another one waiting for it gives up with ``PublishRefused``), so no
build reads inputs another is replacing and no publish renames another run's half-audited candidate.

What is not swapped: the tables dbt reads but does not build (``raw.*`` from the loader, the Python assets'
tables): they are the ledger the builds read, copied or appended before the build
(``smb_warehouse.core.postgres_copy``), so the published staging *views* read them live, also when the
build that follows is refused; the published *marts* (tables, what the BI role reads) change only at a
publish. A user's own view on a published mart follows the old table into ``<schema>__previous`` and is
dropped (CASCADE) at the publish after next.

Connection: the dbt profile's variables (``DBT_POSTGRES_HOST`` / ``_PORT`` / ``_USER`` / ``_DBNAME``,
``DBT_POSTGRES_PASSWORD``, passed to psycopg2 and read by dbt's profile, never put in SQL text); the PII
hash key reaches dbt's sessions as ``PGOPTIONS='-c smb.pii_hash_key=...'``
(``smb_warehouse.core.pii.hash_key()``), never in SQL text.

    python -m smb_warehouse.core.postgres_publish [--copy-from data/warehouse/warehouse.duckdb] [--rollback]
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from smb_warehouse.core import pii
from smb_warehouse.core.postgres_copy import postgres_dsn

CANDIDATE = "__candidate"
PREVIOUS = "__previous"
_SWAP = "__swap"
PROJECT_DIR = Path(__file__).resolve().parents[2]
FAILED_STATUSES = frozenset({"error", "fail", "runtime error"})
# pg_advisory_lock key of "one publish at a time" (any bigint the project owns; hashtext() is not stable
# across PostgreSQL versions, a constant is)
PUBLISH_LOCK_KEY = 0x534D425F57415021


class PublishRefused(RuntimeError):
    """The candidate build failed or did not pass its tests: nothing was published. ``failures`` lists
    ``(unique_id, status, message)`` from dbt's run_results.json."""

    def __init__(self, message: str, failures: list[tuple[str, str, str]] | None = None):
        super().__init__(message)
        self.failures = failures or []


@dataclass
class PublishResult:
    """What a build-and-publish did: the schemas swapped into place, dbt's wall time (s), node counts by status."""
    published: list[str]
    build_seconds: float
    statuses: dict[str, int] = field(default_factory=dict)


def connect(dsn: str | None = None):
    """psycopg2 connection (autocommit off) from the profile's variables; password from DBT_POSTGRES_PASSWORD.
    Close it (``contextlib.closing``): psycopg2's own ``with conn`` only ends the transaction."""
    import psycopg2

    password = os.environ.get("DBT_POSTGRES_PASSWORD") or None
    return psycopg2.connect(dsn or postgres_dsn(), **({"password": password} if password else {}))


@contextlib.contextmanager
def publish_lock(wait_seconds: float = 600.0) -> Iterator[None]:
    """Hold the database's publish lock (a session advisory lock on its own connection) for the block.
    Waits up to ``wait_seconds`` for another holder, then raises ``PublishRefused``."""
    with contextlib.closing(connect()) as conn:
        conn.autocommit = True
        deadline = time.monotonic() + wait_seconds
        with conn.cursor() as cur:
            while True:
                cur.execute("SELECT pg_try_advisory_lock(%s)", [PUBLISH_LOCK_KEY])
                if cur.fetchone()[0]:
                    break
                if time.monotonic() >= deadline:
                    raise PublishRefused(f"another publish holds this database's publish lock (waited {wait_seconds:.0f} s)")
                time.sleep(1.0)
            try:
                yield
            finally:
                cur.execute("SELECT pg_advisory_unlock(%s)", [PUBLISH_LOCK_KEY])


def _schemas(cur) -> set[str]:
    cur.execute("SELECT nspname FROM pg_catalog.pg_namespace")
    return {name for (name,) in cur.fetchall()}


def candidate_schemas(conn) -> list[str]:
    """Base names ``X`` for which ``X__candidate`` exists, sorted."""
    with conn.cursor() as cur:
        return sorted(s[: -len(CANDIDATE)] for s in _schemas(cur) if s.endswith(CANDIDATE) and len(s) > len(CANDIDATE))


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def drop_candidates(conn, lock_timeout: str = "30s") -> list[str]:
    """Drop every ``*__candidate`` schema (CASCADE) in one transaction; returns the base names dropped.
    Call it holding ``publish_lock()``: a candidate being built by another holder would be dropped too."""
    names = candidate_schemas(conn)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            for name in names:
                cur.execute(f"DROP SCHEMA {_quote(name + CANDIDATE)} CASCADE")
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return names


def _revoke_all_but_owner(cur, schema: str) -> None:
    """Revoke every privilege on ``schema`` from every grantee except its owner (PUBLIC included)."""
    cur.execute("SELECT DISTINCT a.grantee::regrole::text, a.grantee = 0 FROM pg_catalog.pg_namespace n, "
                "aclexplode(n.nspacl) a WHERE n.nspname = %s AND a.grantee <> n.nspowner", [schema])
    for grantee, is_public in cur.fetchall():
        cur.execute(f"REVOKE ALL ON SCHEMA {_quote(schema)} FROM {'PUBLIC' if is_public else grantee}")


def _grant_usage_to_readers(cur, schema: str) -> None:
    """Grant USAGE on ``schema`` to every role (PUBLIC included) holding SELECT on one of its relations."""
    cur.execute("SELECT DISTINCT a.grantee::regrole::text, a.grantee = 0 FROM pg_catalog.pg_class c "
                "JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
                "WHERE n.nspname = %s AND a.privilege_type = 'SELECT' AND a.grantee <> c.relowner", [schema])
    for grantee, is_public in cur.fetchall():
        cur.execute(f"GRANT USAGE ON SCHEMA {_quote(schema)} TO {'PUBLIC' if is_public else grantee}")


def _copy_usage(cur, source: str, target: str) -> None:
    """Grant USAGE on ``target`` to every non-owner role holding USAGE on ``source``."""
    cur.execute("SELECT DISTINCT a.grantee::regrole::text, a.grantee = 0 FROM pg_catalog.pg_namespace n, "
                "aclexplode(n.nspacl) a WHERE n.nspname = %s AND a.grantee <> n.nspowner "
                "AND a.privilege_type = 'USAGE'", [source])
    for grantee, is_public in cur.fetchall():
        cur.execute(f"GRANT USAGE ON SCHEMA {_quote(target)} TO {'PUBLIC' if is_public else grantee}")


def expected_relations(manifest: Path) -> list[str]:
    """``"<schema>.<name>"`` (schema without the candidate suffix) of every model (not ephemeral) and seed
    of a dbt manifest: what a complete candidate holds."""
    try:
        nodes = json.loads(manifest.read_text(encoding="utf-8"))["nodes"].values()
    except (OSError, ValueError, KeyError) as exc:
        raise PublishRefused(f"cannot read the candidate build's manifest {manifest}: {exc}") from exc
    found = set()
    for node in nodes:
        if node.get("resource_type") in ("model", "seed") and (node.get("config") or {}).get("materialized") != "ephemeral":
            schema = node["schema"][: -len(CANDIDATE)] if node["schema"].endswith(CANDIDATE) else node["schema"]
            found.add(f"{schema}.{node.get('alias') or node['name']}")
    return sorted(found)


def missing_from_candidate(conn, expected: list[str]) -> list[str]:
    """Those of ``expected`` (base-schema relations) absent from their ``*__candidate`` schema."""
    with conn.cursor() as cur:
        cur.execute("SELECT n.nspname, c.relname FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n "
                    "ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'v', 'm', 'p') AND n.nspname LIKE %s",
                    ["%" + CANDIDATE])
        present = {f"{s[: -len(CANDIDATE)]}.{t}" for s, t in cur.fetchall() if s.endswith(CANDIDATE)}
    return [rel for rel in expected if rel not in present]


def publish(conn, expected: list[str], lock_timeout: str = "30s") -> list[str]:
    """Rename every ``X__candidate`` to ``X`` (the old ``X`` to ``X__previous``) in one transaction, grant
    USAGE on each published schema to the roles that may SELECT in it, revoke it on ``X__previous``.

    ``expected``: relations (``"<schema>.<name>"``, base schema names) the candidate must hold, else
    ``PublishRefused`` names the missing ones (a build of a selection is not a warehouse to publish).
    Call it holding ``publish_lock()``, after a passing build. Returns the base names published. Raises
    ``PublishRefused`` when there is no candidate; a lock that cannot be had within ``lock_timeout`` (a
    long query on the publish before the previous one) rolls the whole swap back and raises psycopg2's
    ``LockNotAvailable``.
    """
    names = candidate_schemas(conn)
    if not names:
        raise PublishRefused(f"no *{CANDIDATE} schema to publish (build one first)")
    if not expected:
        raise PublishRefused("no expected relations given: cannot tell a whole candidate from a partial one")
    missing = missing_from_candidate(conn, expected)
    if missing:
        raise PublishRefused(f"the candidate lacks {len(missing)} relation(s) of the project, nothing published: "
                             + ", ".join(missing[:10]))
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            existing = _schemas(cur)
            for name in names:
                if name + PREVIOUS in existing:
                    cur.execute(f"DROP SCHEMA {_quote(name + PREVIOUS)} CASCADE")
                if name in existing:
                    cur.execute(f"ALTER SCHEMA {_quote(name)} RENAME TO {_quote(name + PREVIOUS)}")
                    _revoke_all_but_owner(cur, name + PREVIOUS)
                cur.execute(f"ALTER SCHEMA {_quote(name + CANDIDATE)} RENAME TO {_quote(name)}")
                _grant_usage_to_readers(cur, name)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return names


def rollback(conn, lock_timeout: str = "30s") -> list[str]:
    """Swap ``X`` and ``X__previous`` back for every ``X__previous``, in one transaction: the publish
    before the current one is read again, the current one becomes ``X__previous``. Schema USAGE grants stay
    with the name ``X``. Returns the base names swapped; raises ``PublishRefused`` when nothing can be."""
    with conn.cursor() as cur:
        existing = _schemas(cur)
    names = sorted(s[: -len(PREVIOUS)] for s in existing if s.endswith(PREVIOUS) and s[: -len(PREVIOUS)] in existing)
    if not names:
        raise PublishRefused(f"no *{PREVIOUS} schema to roll back to")
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT set_config('lock_timeout', %s, true)", [lock_timeout])
            for name in names:
                _copy_usage(cur, name, name + PREVIOUS)
                cur.execute(f"ALTER SCHEMA {_quote(name)} RENAME TO {_quote(name + _SWAP)}")
                cur.execute(f"ALTER SCHEMA {_quote(name + PREVIOUS)} RENAME TO {_quote(name)}")
                cur.execute(f"ALTER SCHEMA {_quote(name + _SWAP)} RENAME TO {_quote(name + PREVIOUS)}")
                _revoke_all_but_owner(cur, name + PREVIOUS)
        conn.commit()
    except BaseException:
        conn.rollback()
        raise
    return names


def dbt_environment(env: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ``dbt --target postgres``: ``env`` (default: this process's) plus the PII key as
    a session setting in PGOPTIONS (unless already there), DBT_TARGET=postgres and telemetry off. The
    password stays in DBT_POSTGRES_PASSWORD, which profiles.yml reads."""
    env = dict(os.environ if env is None else env)
    options = env.get("PGOPTIONS", "")
    if "smb.pii_hash_key" not in options:
        env["PGOPTIONS"] = f"{options} -c smb.pii_hash_key={pii.hash_key()}".strip()
    env.update(DBT_TARGET="postgres", DO_NOT_TRACK="1", DBT_SEND_ANONYMOUS_USAGE_STATS="false")
    return env


def _run_results(target_path: Path) -> tuple[dict[str, int], list[tuple[str, str, str]], float]:
    try:
        data = json.loads((target_path / "run_results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}, [], 0.0
    statuses: dict[str, int] = {}
    failures = []
    for result in data.get("results", []):
        status = str(result.get("status"))
        statuses[status] = statuses.get(status, 0) + 1
        if status in FAILED_STATUSES:
            failures.append((result.get("unique_id", "?"), status, (result.get("message") or "").strip()))
    return statuses, failures, float(data.get("elapsed_time") or 0.0)


def build_candidate(*, target_path: Path | None = None, log_path: Path | None = None,
                    project_dir: Path = PROJECT_DIR, dbt_args: list[str] | None = None,
                    env: dict[str, str] | None = None) -> tuple[dict[str, int], float]:
    """Drop leftover candidates, then ``dbt build`` into ``*__candidate`` schemas (write and audit).

    Returns (node count by status, dbt's elapsed seconds). Raises ``PublishRefused`` when dbt exits
    non-zero: the failed nodes (tests that failed, models in error) are in the message and ``failures``.
    """
    target_path = target_path or project_dir / "target" / "postgres_publish"
    log_path = log_path or target_path / "logs"
    with contextlib.closing(connect()) as conn:
        drop_candidates(conn)
    (target_path / "run_results.json").unlink(missing_ok=True)  # never report an earlier build's failures
    command = [str(Path(sys.executable).with_name("dbt")), "build", "--project-dir", str(project_dir),
               "--profiles-dir", str(project_dir), "--target", "postgres", "--target-path", str(target_path),
               "--log-path", str(log_path), "--vars", json.dumps({"schema_suffix": CANDIDATE}), "--no-use-colors",
               *(dbt_args or [])]
    done = subprocess.run(command, env=dbt_environment(env), capture_output=True, text=True)
    statuses, failures, seconds = _run_results(target_path)
    if done.returncode != 0:
        detail = "; ".join(f"{uid} {status}: {message[:300]}" for uid, status, message in failures[:10])
        if not failures:
            detail = (done.stdout + done.stderr).strip()[-2000:]
        raise PublishRefused(f"dbt build of the candidate failed (exit {done.returncode}), nothing published: {detail}",
                             failures)
    return statuses, seconds


def build_and_publish(*, target_path: Path | None = None, log_path: Path | None = None,
                      project_dir: Path = PROJECT_DIR) -> PublishResult:
    """``build_candidate`` of the whole project, then ``publish()`` once the candidate holds every model
    and seed of its manifest: the PostgreSQL warehouse's write-audit-publish. Call it holding
    ``publish_lock()`` (``copy_build_publish`` does). Raises ``PublishRefused``."""
    target_path = target_path or project_dir / "target" / "postgres_publish"
    statuses, seconds = build_candidate(target_path=target_path, log_path=log_path, project_dir=project_dir)
    expected = expected_relations(target_path / "manifest.json")
    with contextlib.closing(connect()) as conn:
        published = publish(conn, expected=expected)
    return PublishResult(published, seconds, statuses)


def copy_build_publish(source: Path | None, *, target_path: Path | None = None,
                       wait_seconds: float = 600.0) -> tuple[list, PublishResult]:
    """Under ``publish_lock()``: copy the inputs from the DuckDB file ``source`` (skipped when None;
    ``postgres_copy.copy_to_postgres(replace=True)``), then ``build_and_publish``. Returns (the tables
    copied, the publish). Raises ``PublishRefused``, and what the copy raises (``ValueError``, ...)."""
    from smb_warehouse.core import postgres_copy

    with publish_lock(wait_seconds):
        copied = postgres_copy.copy_to_postgres(source, replace=True) if source is not None else []
        return copied, build_and_publish(target_path=target_path)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m smb_warehouse.core.postgres_publish",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--copy-from", type=Path, metavar="WAREHOUSE_DUCKDB",
                        help="first copy the tables dbt reads but does not build from this DuckDB file "
                             "(smb_warehouse.core.postgres_copy, replacing their rows)")
    parser.add_argument("--rollback", action="store_true", help="swap the published schemas and *__previous back")
    args = parser.parse_args(argv)
    import psycopg2

    try:
        if args.rollback:
            with publish_lock(), contextlib.closing(connect()) as conn:
                names = rollback(conn)
            print(f"rolled back: {', '.join(names)} (the publish before is now read; the undone one is *{PREVIOUS})")
            return 0
        copied, result = copy_build_publish(args.copy_from)
        if copied:
            print(f"copied {len(copied)} tables, {sum(c.rows for c in copied)} rows into PostgreSQL")
    except (PublishRefused, ValueError, RuntimeError, psycopg2.Error) as exc:
        print(f"postgres_publish: {exc}", file=sys.stderr)
        return 1
    counts = ", ".join(f"{k}={v}" for k, v in sorted(result.statuses.items()))
    print(f"published {', '.join(result.published)} on {postgres_dsn()} after dbt build ({result.build_seconds:.1f} s; {counts})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
