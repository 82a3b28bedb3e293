"""Independent re-implementation of the contract checks, used to verify the simulator's output."""
from __future__ import annotations

import csv
import datetime as dt
import json
import re
from collections.abc import Iterator
from pathlib import Path

from smb_warehouse.ingestion.contracts import Entity, load_contracts

SCALE = 0.1  # big enough for every scenario to occur, small enough for a fast suite


def entities() -> list[Entity]:
    return [e for c in load_contracts().values() for e in c.entities.values()]


def iter_rows(path: Path, ent: Entity) -> Iterator[tuple[int, dict | None, str]]:
    """(physical line / element index, row dict or None if structurally broken, problem)."""
    ftype = ent.format.type
    if ftype == "csv":
        with path.open(encoding="utf-8", newline="") as f:
            reader = csv.reader(f, delimiter=ent.format.delimiter)
            header = next(reader)
            for i, rec in enumerate(reader, start=2):
                if len(rec) != len(header):
                    yield i, None, "field_count"
                else:
                    yield i, dict(zip(header, rec)), ""
    elif ftype == "ndjson":
        with path.open(encoding="utf-8") as f:
            for i, line in enumerate(f, start=1):
                try:
                    yield i, json.loads(line), ""
                except ValueError:
                    yield i, None, "broken_json"
    else:
        for i, obj in enumerate(json.loads(path.read_text(encoding="utf-8")), start=1):
            row = {}
            for col in ent.columns:
                node = obj
                for k in col.json_path[2:].split("."):
                    node = node.get(k) if isinstance(node, dict) else None
                row[col.name] = node
            yield i, row, ""


def csv_header(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as f:
        return f.readline().rstrip("\n").split(",")


def row_errors(ent: Entity, row: dict) -> list[str]:
    errs = []
    dec = ent.format.decimal_separator
    for col in ent.columns:
        v = row.get(col.name)
        if v is None:
            for a in col.aliases:
                v = row.get(a, v)
        if v is None or v == "":
            if col.required:
                errs.append(f"{col.name}: missing")
            continue
        s = str(v) if not isinstance(v, bool) else ("true" if v else "false")
        ok = True
        if col.type == "integer":
            ok = isinstance(v, int) or bool(re.fullmatch(r"-?\d+", s))
        elif col.type == "decimal":
            ok = isinstance(v, (int, float)) or bool(re.fullmatch(r"-?\d+(" + re.escape(dec) + r"\d+)?", s))
        elif col.type == "date":
            try:
                dt.datetime.strptime(s, ent.format.date_formats[0])
            except ValueError:
                ok = False
        elif col.type == "timestamp":
            try:
                dt.datetime.fromisoformat(s.replace("Z", "+00:00"))
            except ValueError:
                ok = False
        elif col.type == "boolean":
            ok = s in ("true", "false")
        if not ok:
            errs.append(f"{col.name}: bad {col.type} {s!r}")
        if col.pattern and not re.fullmatch(col.pattern, s):
            errs.append(f"{col.name}: pattern {s!r}")
        if col.accepted_values and s not in col.accepted_values:
            errs.append(f"{col.name}: not accepted {s!r}")
    return errs


def read_truth(truth: Path, name: str) -> list[dict]:
    with (truth / name).open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))
