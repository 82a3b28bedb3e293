"""The committed OpenAPI document (api/openapi.json) and its check.

    python -m api.openapi --write   # regenerate after changing the API
    python -m api.openapi --check   # exit 1 when the committed file differs from the app (tests do this)
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

DOCUMENT = Path(__file__).resolve().parent / "openapi.json"


def generate() -> str:
    """The app's OpenAPI document as stable JSON text (no keys, stores or warehouse are opened)."""
    from api.app import create_app
    from api.auth import KeyRing

    app = create_app(keys=KeyRing({}))
    return json.dumps(app.openapi(), indent=2, sort_keys=False, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m api.openapi", description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--write", action="store_true")
    mode.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    text = generate()
    if args.write:
        DOCUMENT.write_text(text, encoding="utf-8")
        print(f"wrote {DOCUMENT}")
        return 0
    if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != text:
        print(f"{DOCUMENT} is out of date: run `python -m api.openapi --write`", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
