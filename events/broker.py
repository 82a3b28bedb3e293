"""The broker: Redis Streams (Debian package ``redis-server``), started on loopback by ``make events`` and
the tests, and the client settings.

Why Redis Streams (not NATS): one small Debian package and a mature PyPI client (``redis``); a stream is
an append-only log with consumer groups, so several consumers share the work, each entry is delivered to
one of them and stays *pending* until acknowledged (a consumer that dies mid-batch leaves its entries
pending; the next start re-reads them), and the stream keeps history for replay and inspection
(XRANGE). NATS core has no persistence; its JetStream adds it, with a second concept set (streams,
consumers, acks) for the same result.

Settings: ``SMB_REDIS_URL`` (default ``redis://127.0.0.1:6379/0``), ``SMB_EVENT_STREAM`` (``smb:events``),
``SMB_EVENT_GROUP`` (``intake``).
"""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

DEFAULT_URL = "redis://127.0.0.1:6379/0"


def redis_url() -> str:
    return os.environ.get("SMB_REDIS_URL") or DEFAULT_URL


def stream_name() -> str:
    return os.environ.get("SMB_EVENT_STREAM") or "smb:events"


def group_name() -> str:
    return os.environ.get("SMB_EVENT_GROUP") or "intake"


def client(url: str | None = None):
    """A redis-py client (bytes responses) for ``url`` (default ``redis_url()``)."""
    import redis

    return redis.Redis.from_url(url or redis_url(), socket_timeout=30, socket_connect_timeout=5)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class RedisServer:
    """A ``redis-server`` child process on 127.0.0.1 (no persistence unless ``data_dir`` is given)."""

    process: subprocess.Popen
    port: int
    workdir: Path
    _own_dir: bool

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def stop(self) -> None:
        """Terminate the server (it was started by us, by pid) and remove its scratch folder."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)
        if self._own_dir:
            shutil.rmtree(self.workdir, ignore_errors=True)


def start_redis(port: int | None = None, data_dir: Path | None = None, executable: str | None = None) -> RedisServer:
    """Start ``redis-server`` bound to 127.0.0.1 on ``port`` (default: a free one) and wait until it answers.

    Without ``data_dir`` nothing is persisted (``--save '' --appendonly no``, scratch working folder); with it,
    an append-only file there keeps the stream across restarts. Raises ``FileNotFoundError`` with the install
    command when ``redis-server`` is missing, ``RuntimeError`` when it does not come up within 10 s.
    """
    exe = executable or shutil.which("redis-server") or "/usr/bin/redis-server"
    if not Path(exe).exists():
        raise FileNotFoundError("redis-server not found: install it with `apt-get install -y redis-server`")
    port = port or free_port()
    own = data_dir is None
    workdir = Path(tempfile.mkdtemp(prefix="smb-redis-")) if own else Path(data_dir)
    workdir.mkdir(parents=True, exist_ok=True)
    args = [exe, "--bind", "127.0.0.1", "--port", str(port), "--dir", str(workdir), "--protected-mode", "yes",
            "--save", "", "--appendonly", "no" if own else "yes", "--daemonize", "no", "--loglevel", "warning"]
    process = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    server = RedisServer(process, port, workdir, own)
    deadline = time.monotonic() + 10
    import redis

    while time.monotonic() < deadline:
        if process.poll() is not None:
            err = process.stderr.read().decode(errors="replace") if process.stderr else ""
            server.stop()
            raise RuntimeError(f"redis-server exited with {process.returncode}: {err.strip()[:500]}")
        try:
            if redis.Redis(host="127.0.0.1", port=port, socket_connect_timeout=0.2).ping():
                return server
        except redis.exceptions.ConnectionError:
            time.sleep(0.05)
    server.stop()
    raise RuntimeError(f"redis-server did not answer on 127.0.0.1:{port} within 10 s")
