"""Apache Superset on the BI copy of the published warehouse, as one command (`make bi-superset`).

Runs with the Superset venv (.venv-superset: Superset pins SQLAlchemy<2, the project SQLAlchemy 2), not the
project's. Steps:

1. Superset's home is <data dir>/superset/ ($SMB_DATA_DIR, default ./data): superset_config.py (a copy of
   bi/superset/superset_config.py), secret_key (generated once unless SUPERSET_SECRET_KEY is set) and the SQLite
   metadata database superset.db. Nothing of it is in git.
2. `superset db upgrade` and `superset init` (once per Superset version: a stamp file records it).
3. Registers (or updates) the database "SMB warehouse (BI copy)" with the URI
   duckdb:///<abs path of <warehouse dir>/bi/warehouse.duckdb> and connect_args {"read_only": true}, through
   Superset's CreateDatabaseCommand / UpdateDatabaseCommand (the code behind the UI's "Connect a database").
4. Proves it through Superset's own code in an app context: its connection test, the schemas and the `marts`
   tables it lists, every mart's columns with their comments, one query through Superset's engine
   (Database.get_df), and a write that the read-only connection must refuse.

Prints a short summary; exits 1 when any check fails, 2 when the BI copy does not exist yet (`make demo`).

The commands run as the Superset admin user SUPERSET_ADMIN_USERNAME (default admin), created on the first run
(password SUPERSET_ADMIN_PASSWORD, else a random one nobody knows). `connect.py serve` does the same, sets that
user's password from SUPERSET_ADMIN_PASSWORD (required) and runs `superset run -h 127.0.0.1 -p $SUPERSET_PORT`
(default 8088).
"""
from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
DATABASE_NAME = "SMB warehouse (BI copy)"
SCHEMA = "marts"
DEFAULT_TABLE = "kpi_finance__dso_dpo"


def _env_path(name: str, default: Path) -> Path:
    # Same rule as smb_warehouse.core.paths (not importable here: this is another venv).
    value = os.environ.get(name)
    return Path(value).expanduser().resolve() if value else default


def data_dir() -> Path:
    return _env_path("SMB_DATA_DIR", PROJECT_ROOT / "data")


def bi_warehouse_path() -> Path:
    return _env_path("SMB_WAREHOUSE_DIR", data_dir() / "warehouse") / "bi" / "warehouse.duckdb"


def superset_home() -> Path:
    return data_dir() / "superset"


def prepare_home(home: Path) -> Path:
    """Write the config and (unless SUPERSET_SECRET_KEY is set) the secret key; point Superset at them."""
    home.mkdir(parents=True, exist_ok=True)
    config = home / "superset_config.py"
    template = Path(__file__).with_name("superset_config.py")
    if not config.exists() or config.read_bytes() != template.read_bytes():
        shutil.copyfile(template, config)
    key_file = home / "secret_key"
    if not os.environ.get("SUPERSET_SECRET_KEY") and not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48) + "\n")
    os.environ["SUPERSET_HOME"] = str(home)
    os.environ["SUPERSET_CONFIG_PATH"] = str(config)
    os.environ["FLASK_APP"] = "superset.app:create_app()"
    # Telemetry off (Superset's own build-time analytics switch, and the generic one).
    os.environ["SCARF_ANALYTICS"] = "false"
    os.environ.setdefault("DO_NOT_TRACK", "1")
    return config


def superset_cli(*args: str) -> float:
    """Run the venv's `superset` command; its output is shown only when it fails."""
    exe = Path(sys.executable).with_name("superset")
    started = time.perf_counter()
    proc = subprocess.run([str(exe), *args], capture_output=True, text=True)
    took = time.perf_counter() - started
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout[-4000:] + proc.stderr[-8000:])
        raise SystemExit(f"FAILED: superset {' '.join(args)} (exit {proc.returncode})")
    print(f"superset {' '.join(args):<11} ok ({took:.1f} s)")
    return took


def initialise(home: Path) -> None:
    """`superset db upgrade` every run (a no-op when current), `superset init` once per Superset version."""
    from importlib.metadata import version

    if not (home / "superset.db").exists():  # a new metadata database: any old init stamp is stale
        for stale in home.glob(".init-*"):
            stale.unlink()
    superset_cli("db", "upgrade")
    stamp = home / f".init-{version('apache-superset')}"
    if stamp.exists():
        print(f"superset init        skipped ({stamp.name} exists)")
    else:
        superset_cli("init")
        stamp.touch()


class Checks:
    def __init__(self) -> None:
        self.failures: list[str] = []

    def ok(self, what: str, detail: str = "") -> None:
        print(f"  ok    {what}" + (f": {detail}" if detail else ""))

    def fail(self, what: str, error: object) -> None:
        self.failures.append(what)
        print(f"  FAIL  {what}: {error}")


def register_and_check(bi_path: Path, table: str, serve: bool) -> int:
    from superset.app import create_app

    app = create_app()
    with app.app_context():
        from superset import db, security_manager
        from superset.commands.database.create import CreateDatabaseCommand
        from superset.commands.database.update import UpdateDatabaseCommand
        from superset.daos.database import DatabaseDAO
        from superset.utils.core import override_user

        uri = f"duckdb:///{bi_path}"
        properties = {
            "database_name": DATABASE_NAME,
            "sqlalchemy_uri": uri,
            # read_only: DuckDB opens the file without a write lock, so the publish step can swap it underneath.
            "extra": json.dumps({"engine_params": {"connect_args": {"read_only": True}},
                                 "metadata_params": {}, "schemas_allowed_for_file_upload": []}),
            "expose_in_sqllab": True,
            "allow_dml": False,
            "allow_file_upload": False,
            "allow_run_async": False,
        }
        checks = Checks()
        print(f'Database "{DATABASE_NAME}": {uri} (read_only)')

        # The database commands check the current user's permissions: act as the admin user (created on the first
        # run with a random password unless SUPERSET_ADMIN_PASSWORD is set; `serve` sets that password).
        admin = admin_user(security_manager, db, set_password=serve)
        if admin is None:
            return 1
        with override_user(admin):
            existing = DatabaseDAO.get_database_by_name(DATABASE_NAME)
            try:
                if existing is None:
                    database = CreateDatabaseCommand(properties).run()
                    checks.ok("registered", f"new database id {database.id}")
                else:
                    database = UpdateDatabaseCommand(existing.id, properties).run()
                    checks.ok("registered", f"updated database id {database.id}")
            except Exception as exc:  # the command wraps the driver's error; show the cause too
                checks.fail("register", f"{type(exc).__name__}: {exc} {getattr(exc, '__cause__', '') or ''}")
                return 1
            database = DatabaseDAO.find_by_id(database.id)
            status = run_checks(database, checks, table)
        if status == 0 and serve:
            print(f"admin user {admin.username}: password from SUPERSET_ADMIN_PASSWORD")
        return status


def admin_user(security_manager, db, set_password: bool):
    username = os.environ.get("SUPERSET_ADMIN_USERNAME", "admin")
    password = os.environ.get("SUPERSET_ADMIN_PASSWORD")
    if set_password and not password:
        print("FAILED: `serve` needs SUPERSET_ADMIN_PASSWORD (and optionally SUPERSET_ADMIN_USERNAME, default admin)")
        return None
    user = security_manager.find_user(username=username)
    if user is None:
        user = security_manager.add_user(username, "Superset", "Admin",
                                         os.environ.get("SUPERSET_ADMIN_EMAIL", f"{username}@localhost"),
                                         security_manager.find_role("Admin"),
                                         password=password or secrets.token_urlsafe(32))
        if not user:
            print(f"FAILED: could not create the admin user {username}")
            return None
        print(f"admin user {username} created")
    elif set_password:
        security_manager.reset_password(user.id, password)
    if not any(role.name == "Admin" for role in user.roles):
        print(f"FAILED: the user {username} is not an Admin (set SUPERSET_ADMIN_USERNAME)")
        return None
    db.session.commit()
    return user


def run_checks(database, checks: Checks, table: str) -> int:
    from superset.commands.database.test_connection import TestConnectionDatabaseCommand
    from superset.sql.parse import Table

    uri = database.sqlalchemy_uri_decrypted
    try:
        TestConnectionDatabaseCommand({"database_name": DATABASE_NAME, "sqlalchemy_uri": uri,
                                       "extra": database.extra}).run()
        checks.ok("connection test", "TestConnectionDatabaseCommand passed")
    except Exception as exc:
        checks.fail("connection test", exc)

    try:
        schemas = sorted(database.get_all_schema_names())
        marts_schemas = [s for s in schemas if s.split(".")[-1] == SCHEMA]
        if not marts_schemas:
            raise RuntimeError(f"no {SCHEMA} schema among {schemas}")
        checks.ok("schemas", ", ".join(schemas))
    except Exception as exc:
        checks.fail("schemas", exc)

    tables: list[str] = []
    try:
        tables = sorted(name for name, _schema, _catalog in
                        database.get_all_table_names_in_schema(catalog=None, schema=SCHEMA))
        if not tables:
            raise RuntimeError(f"no tables in {SCHEMA}")
        checks.ok(f"{SCHEMA} tables", f"{len(tables)} ({', '.join(tables[:4])}, ...)")
    except Exception as exc:
        checks.fail(f"{SCHEMA} tables", exc)

    n_cols = n_col_comments = n_table_comments = 0
    try:
        for name in tables:
            n_table_comments += bool(database.get_table_comment(Table(name, SCHEMA)))
            columns = database.get_columns(Table(name, SCHEMA))
            n_cols += len(columns)
            n_col_comments += sum(bool(c.get("comment")) for c in columns)
        if tables and not n_col_comments:
            raise RuntimeError("no column comment came through")
        checks.ok("comments", f"{n_table_comments}/{len(tables)} tables and {n_col_comments}/{n_cols} columns"
                              " have a comment")
    except Exception as exc:
        checks.fail("comments", exc)

    try:
        comment = database.get_table_comment(Table(table, SCHEMA))
        columns = database.get_columns(Table(table, SCHEMA))
        checks.ok(f"{SCHEMA}.{table}", f"{len(columns)} columns; table comment: {comment!r}")
        for col in columns:
            print(f"          {col['column_name']:<28} {str(col['type']):<14} {col.get('comment') or '-'}")
    except Exception as exc:
        checks.fail(f"columns of {SCHEMA}.{table}", exc)

    try:
        sql = f"SELECT count(*) AS row_count FROM {SCHEMA}.{table}"
        df = database.get_df(sql, schema=SCHEMA)
        checks.ok("query through Superset's engine", f"{sql} -> {int(df['row_count'].iloc[0])}")
    except Exception as exc:
        checks.fail("query", exc)

    try:
        with database.get_raw_connection(schema=SCHEMA) as conn:
            conn.cursor().execute(f"CREATE TABLE {SCHEMA}.superset_write_probe AS SELECT 1 AS x")
        checks.fail("read-only", "a CREATE TABLE succeeded on the BI copy")
    except Exception as exc:
        if "read-only" in str(exc).lower() or "read only" in str(exc).lower():
            checks.ok("read-only", f"a write is refused ({type(exc).__name__})")
        else:
            checks.fail("read-only", exc)

    if checks.failures:
        print(f"FAILED: {', '.join(checks.failures)}")
        return 1
    print(f"OK: Superset reads the BI copy: {len(tables)} {SCHEMA} tables, {n_col_comments} commented columns.")

    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("command", nargs="?", choices=["check", "serve"], default="check")
    parser.add_argument("--table", default=DEFAULT_TABLE, help=f"the {SCHEMA} table to describe and count")
    args = parser.parse_args(argv)

    bi_path = bi_warehouse_path()
    if not bi_path.is_file():
        print(f"No BI copy at {bi_path}: run `make demo` first (or set SMB_DATA_DIR / SMB_WAREHOUSE_DIR).")
        return 2
    started = time.perf_counter()
    home = superset_home()
    prepare_home(home)
    print(f"SUPERSET_HOME={home}")
    initialise(home)
    status = register_and_check(bi_path, args.table, serve=args.command == "serve")
    print(f"took {time.perf_counter() - started:.1f} s")
    if status or args.command != "serve":
        return status
    port = os.environ.get("SUPERSET_PORT", "8088")
    print(f"Superset on http://127.0.0.1:{port}/ (SQL Lab: database {DATABASE_NAME!r}, schema warehouse.{SCHEMA});"
          " Ctrl-C stops it")
    exe = str(Path(sys.executable).with_name("superset"))
    os.execv(exe, [exe, "run", "-h", "127.0.0.1", "-p", port, "--with-threads"])
    return 0  # not reached


if __name__ == "__main__":
    sys.exit(main())
