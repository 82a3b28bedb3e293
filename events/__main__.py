"""Event intake commands.

    python -m events serve [--start-broker [--port 6379] [--persist DIR]]   consumer (and broker) until Ctrl-C
    python -m events replay [--landing DIR] [--rate 50] [--limit N] [--types T,...] [--prefix P]
    python -m events status

Settings: SMB_REDIS_URL, SMB_EVENT_STREAM, SMB_EVENT_GROUP (events.broker), SMB_LANDING_DIR, SMB_EVENT_STORE.
"""
from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
import threading
from pathlib import Path

from events import broker
from events.schema import EVENT_TYPES


def _serve(args: argparse.Namespace) -> int:
    from events.consumer import Consumer

    server = None
    url = args.redis_url or broker.redis_url()
    if args.start_broker:
        server = broker.start_redis(port=args.port, data_dir=Path(args.persist) if args.persist else None)
        url = server.url
        print(f"redis-server on {url} (pid {server.process.pid}); publish with SMB_REDIS_URL={url}", flush=True)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    try:
        consumer = Consumer(client=broker.client(url), name=args.name)
        print(f"consumer {consumer.name}: stream {consumer.stream}, group {consumer.group}, landing {consumer.landing}, "
              f"store {consumer.store.path}", flush=True)
        consumer.run(stop, count=args.count, block_ms=args.block_ms)
    finally:
        if server is not None:
            server.stop()
    return 0


def _replay(args: argparse.Namespace) -> int:
    from events.replay import replay
    from smb_warehouse.core import paths

    landing = Path(args.landing) if args.landing else paths.landing_dir()
    types = args.types.split(",") if args.types else None
    unknown = [t for t in types or [] if t not in EVENT_TYPES]
    if unknown:
        print(f"unknown event type(s) {unknown}; known: {sorted(EVENT_TYPES)}", file=sys.stderr)
        return 2
    sent = replay(broker.client(args.redis_url), landing, args.rate, types, args.limit, args.prefix)
    print(f"published {sent} event(s) from {landing}")
    return 0


def _status(args: argparse.Namespace) -> int:
    from events.store import EventStore

    store = EventStore()
    print(json.dumps({"store": str(store.path), **store.counts()}, indent=1))
    return 0


def main(argv: list[str] | None = None) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    p = argparse.ArgumentParser(prog="python -m events", description=__doc__.split("\n\n")[0])
    p.add_argument("--redis-url", default=None, help="default: SMB_REDIS_URL or redis://127.0.0.1:6379/0")
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("serve", help="run the consumer (and, with --start-broker, a local redis-server)")
    s.add_argument("--start-broker", action="store_true")
    s.add_argument("--port", type=int, default=None, help="broker port (default: a free one)")
    s.add_argument("--persist", default=None, help="folder for the broker's append-only file (default: no persistence)")
    s.add_argument("--name", default=None)
    s.add_argument("--count", type=int, default=500)
    s.add_argument("--block-ms", type=int, default=200)
    s.set_defaults(func=_serve)
    r = sub.add_parser("replay", help="publish the landing zone's records as events at a chosen rate")
    r.add_argument("--landing", default=None)
    r.add_argument("--rate", type=float, default=50.0, help="events per second (0: as fast as possible)")
    r.add_argument("--limit", type=int, default=None)
    r.add_argument("--types", default=None, help=f"comma-separated, of {', '.join(EVENT_TYPES)}")
    r.add_argument("--prefix", default="replay")
    r.set_defaults(func=_replay)
    st = sub.add_parser("status", help="events landed / quarantined and decisions in the store")
    st.set_defaults(func=_status)
    args = p.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
