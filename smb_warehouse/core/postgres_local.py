"""A throwaway PostgreSQL server on 127.0.0.1, for the test suite and the engine comparison command.

``throwaway_server()`` runs ``initdb`` into a fresh folder under the system temp dir and starts ``pg_ctl``
on a free loopback port (trust authentication, user ``postgres``, UTF-8, C.UTF-8 locale); on exit it stops
the server and deletes the folder. As root (CI containers) the server runs as ``nobody`` through
``runuser``, since initdb refuses root. Needs Debian's ``postgresql`` package (``/usr/lib/postgresql/*/bin``
or the binaries on PATH) and psycopg2; ``server_binaries()`` says whether they are there.
"""
from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    return str(candidates[-1]) if candidates else None


def server_binaries() -> tuple[str, str] | None:
    """(initdb, pg_ctl) paths, or None when the PostgreSQL server is not installed."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    return (initdb, pg_ctl) if initdb and pg_ctl else None


@dataclass(frozen=True)
class LocalServer:
    host: str
    port: int
    user: str

    def dsn(self, dbname: str = "postgres") -> str:
        """libpq key/value connection string."""
        return f"host={self.host} port={self.port} user={self.user} dbname={dbname}"

    def dbt_env(self, dbname: str) -> dict[str, str]:
        """The DBT_POSTGRES_* variables of profiles.yml pointing at this server and ``dbname``."""
        return {"DBT_POSTGRES_HOST": self.host, "DBT_POSTGRES_PORT": str(self.port),
                "DBT_POSTGRES_USER": self.user, "DBT_POSTGRES_DBNAME": dbname}


@contextlib.contextmanager
def throwaway_server() -> Iterator[LocalServer]:
    """Start a private server, yield where it listens, stop and delete it. Raises ``RuntimeError`` when the
    server binaries are missing, ``subprocess.CalledProcessError`` when initdb or pg_ctl fail, and
    ``TimeoutError`` when the server does not accept connections within 10 s."""
    import psycopg2

    binaries = server_binaries()
    if not binaries:
        raise RuntimeError("PostgreSQL server binaries (initdb, pg_ctl) not installed: apt-get install postgresql")
    initdb, pg_ctl = binaries
    # directly under the system temp dir: the server user must reach it (pytest's tmp dirs are root-only)
    root = Path(tempfile.mkdtemp(prefix="smb_pg_"))
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses to run as root
        as_user = ["runuser", "-u", "nobody", "--"]
        shutil.chown(root, "nobody")
        shutil.chown(sock, "nobody")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    started = False
    try:
        subprocess.run(as_user + [initdb, "-D", str(data), "-U", "postgres", "--encoding=UTF8", "--locale=C.UTF-8"],
                       check=True, capture_output=True)
        subprocess.run(as_user + [pg_ctl, "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                                  f"-p {port} -k {sock} -c listen_addresses=127.0.0.1", "start"],
                       check=True, capture_output=True)
        started = True
        for _ in range(50):
            try:
                psycopg2.connect(host="127.0.0.1", port=port, user="postgres", dbname="postgres").close()
                break
            except psycopg2.OperationalError:
                time.sleep(0.2)
        else:
            raise TimeoutError(f"PostgreSQL on 127.0.0.1:{port} did not accept connections (log: {root / 'log'})")
        yield LocalServer("127.0.0.1", port, "postgres")
    finally:
        if started:
            subprocess.run(as_user + [pg_ctl, "-D", str(data), "-m", "fast", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)
