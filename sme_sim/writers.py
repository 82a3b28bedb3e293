"""Batch-file writers for the landing folder (CSV, NDJSON, JSON array), driven by the contracts.

Callers pass typed numpy columns (str objects, int64, float64, day numbers, seconds); the writer
formats them per system convention, injects malformed rows, appends to the batch file and keeps the
physical line count so every corruption is recorded with its exact line. Files stay open only while
their batch is current, so memory never depends on the total volume.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

import numpy as np

from smb_warehouse.ingestion.contracts import Entity, load_contracts
from sme_sim import corrupt
from sme_sim.timeutil import calendar_batch, fmt_dates, fmt_timestamps

# Per-system export conventions (mirroring the contract files).
STYLE = {
    "erp": {"file": "csv", "delim": ",", "date": "%Y-%m-%d", "ts_sep": " ", "ts_suffix": "", "dec": ".",
            "date_style": "iso", "ts_style": "iso"},
    "finance": {"file": "csv", "delim": ";", "date": "%d/%m/%Y", "ts_sep": " ", "ts_suffix": "", "dec": ",",
                "date_style": "eu", "ts_style": "iso"},
    "crm": {"file": "ndjson", "date": "%Y-%m-%d", "ts_sep": "T", "ts_suffix": "+01:00", "dec": ".",
            "date_style": "iso", "ts_style": "isoT"},
    "support": {"file": "ndjson", "date": "%Y-%m-%d", "ts_sep": "T", "ts_suffix": "Z", "dec": ".",
                "date_style": "iso", "ts_style": "isoT"},
}
EXT = {"csv": "csv", "ndjson": "ndjson", "json_array": "json"}
_FRAC = np.array([f"{i:02d}" for i in range(100)])


def fmt_decimal(x: np.ndarray, sep: str = ".", decimals: int = 2) -> np.ndarray:
    """Fixed-decimal formatting without float repr surprises; NaN -> None."""
    x = np.asarray(x, dtype=np.float64)
    null = ~np.isfinite(x)
    unit = 10 ** decimals
    cents = np.round(np.where(null, 0.0, x) * unit).astype(np.int64)
    a = np.abs(cents)
    frac = _FRAC[a % 100] if decimals == 2 else np.strings.zfill((a % unit).astype(str), decimals)
    s = np.strings.add(np.strings.add((a // unit).astype(str), sep), frac)
    s = np.where(cents < 0, np.strings.add("-", s), s).astype(object)
    s[null] = None
    return s


def _to_obj(values: np.ndarray | list) -> np.ndarray:
    arr = np.asarray(values, dtype=object)
    return arr


@dataclass
class FileState:
    path: Path
    rel: str
    lines: int = 0  # physical lines written so far (header counts)
    rows: int = 0
    handle: IO[str] | None = None
    header: tuple[str, ...] = ()


@dataclass
class Landing:
    """All batch writers of one generation plus the malformed-row log."""
    root: Path
    rng: np.random.Generator
    corrupt_rate: float = 0.003
    malformed: list[tuple[str, str, str, int, str, str]] = field(default_factory=list)
    files: dict[str, FileState] = field(default_factory=dict)

    def entity(self, system: str, name: str) -> Entity:
        return load_contracts()[system].entities[name]

    def _file(self, system: str, name: str, batch: str, ftype: str, header: tuple[str, ...]) -> FileState:
        rel = f"{system}/{name}/{name}_{calendar_batch(batch)}.{EXT[ftype]}"
        st = self.files.get(rel)
        if st is None:
            path = self.root / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            st = FileState(path, rel, header=header)
            st.handle = path.open("w", encoding="utf-8", newline="")
            if ftype == "csv":
                st.handle.write(STYLE[system]["delim"].join(header) + "\n")
                st.lines = 1
            self.files[rel] = st
        elif st.handle is None:
            st.handle = st.path.open("a", encoding="utf-8", newline="")
        return st

    def close_before(self, batch: str) -> None:
        """Close files of batches older than `batch` (keys sort chronologically)."""
        batch = calendar_batch(batch)
        for rel, st in self.files.items():
            if st.handle is not None and rel.rsplit("_", 1)[1].split(".")[0] < batch:
                st.handle.close()
                st.handle = None

    def close_all(self) -> None:
        self.close_before("9999")

    # ---------------------------------------------------------------------------------------------
    def format_columns(self, system: str, ent: Entity, cols: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
        st = STYLE[system]
        out: dict[str, np.ndarray] = {}
        for name, values in cols.items():
            ctype = _col_type(ent, name)
            if ctype == "date":
                out[name] = fmt_dates(values, st["date"])
            elif ctype == "timestamp":
                out[name] = fmt_timestamps(values, st["ts_sep"], st["ts_suffix"])
            elif ctype == "decimal":
                out[name] = fmt_decimal(values, st["dec"])
            elif ctype == "integer":
                out[name] = np.asarray(values, dtype=np.int64).astype(str).astype(object)
            elif ctype == "boolean":
                out[name] = np.where(np.asarray(values, dtype=bool), "true", "false").astype(object)
            else:
                out[name] = _to_obj(values)
        return out

    def write(self, system: str, name: str, batch_keys: np.ndarray | str, cols: dict[str, np.ndarray],
              header: list[str] | None = None, corrupt_rows: bool = True) -> None:
        """Append rows to their batch files. `batch_keys` is one key or one key per row ('YYYY-MM')."""
        ent = self.entity(system, name)
        ftype = ent.format.type
        header_t = tuple(header) if header else tuple(c.name for c in ent.columns)
        n = len(next(iter(cols.values())))
        if n == 0:
            return
        fcols = self.format_columns(system, ent, cols)
        keys = np.full(n, batch_keys, dtype=object) if isinstance(batch_keys, str) else np.asarray(batch_keys, dtype=object)
        for batch in sorted(set(keys.tolist())):
            idx = np.flatnonzero(keys == batch)
            sub = {k: v[idx] for k, v in fcols.items()}
            st = self._file(system, name, batch, ftype, header_t)
            self._emit(system, ent, ftype, st, sub, header_t, len(idx), corrupt_rows)

    def _emit(self, system: str, ent: Entity, ftype: str, st: FileState, cols: dict[str, np.ndarray],
              header: tuple[str, ...], n: int, corrupt_rows: bool) -> None:
        style = STYLE[system]
        bad = corrupt.pick_rows(self.rng, n, self.corrupt_rate) if corrupt_rows else np.empty(0, np.int64)
        row_kind: dict[int, corrupt.Corruption] = {}
        for i in bad.tolist():
            c = corrupt.choose(self.rng, ent, ftype)
            row_kind[i] = c
            if c.column:
                col = c.column if c.column in cols else _alias_in(ent, c.column, cols)
                if col is None:
                    continue
                cols[col] = cols[col].copy() if not cols[col].flags.writeable else cols[col]
                cols[col][i] = corrupt.bad_value(c, _col_type(ent, col), style["date_style"], style["ts_style"])
            line = st.lines + i + 1 if ftype == "csv" else st.rows + i + 1
            self.malformed.append((ent.system, ent.name, st.rel, line, c.kind, c.column))
        if ftype == "csv":
            text = _csv_lines(cols, header, style["delim"], row_kind, {h for h in header if _col_type(ent, h) == "string"})
        else:
            text = _json_lines(ent, cols, header, row_kind, array=ftype == "json_array", first=st.rows == 0)
        st.handle.write(text)
        st.lines += n
        st.rows += n


def _col_type(ent: Entity, name: str) -> str:
    for c in ent.columns:
        if c.name == name or name in c.aliases:
            return c.type
    return "string"


def _alias_in(ent: Entity, name: str, cols: dict[str, np.ndarray]) -> str | None:
    for a in ent.column(name).aliases:
        if a in cols:
            return a
    return None


def _csv_escape(v: object, delim: str) -> str:
    if v is None:
        return ""
    s = str(v)
    if delim in s or '"' in s or "\n" in s:
        return '"' + s.replace('"', '""') + '"'
    return s


def _csv_lines(cols: dict[str, np.ndarray], header: tuple[str, ...], delim: str,
               row_kind: dict[int, corrupt.Corruption], text_cols: set[str]) -> str:
    parts = []
    for h in header:
        arr = cols[h]
        if h in text_cols:  # only free text can contain the delimiter or quotes
            parts.append(np.array([_csv_escape(v, delim) for v in arr.tolist()], dtype=object))
        else:
            arr = arr.copy()
            arr[np.equal(arr, None)] = ""
            parts.append(arr)
    lines = parts[0]
    for p in parts[1:]:
        lines = lines + delim + p
    for i, c in row_kind.items():
        if c.kind == "extra_field":
            lines[i] = lines[i] + delim + "unexpected"
    return "\n".join(lines.tolist()) + "\n"


def _json_value(v: object, ctype: str) -> str:
    if v is None:
        return "null"
    if ctype in ("integer", "decimal") and _is_number(v):
        return str(v)
    if ctype == "boolean" and v in ("true", "false"):
        return str(v)
    return json.dumps(v, ensure_ascii=False)


def _is_number(v: object) -> bool:
    try:
        float(str(v))
        return True
    except ValueError:
        return False


def _json_lines(ent: Entity, cols: dict[str, np.ndarray], header: tuple[str, ...],
                row_kind: dict[int, corrupt.Corruption], array: bool, first: bool) -> str:
    types = {h: _col_type(ent, h) for h in header}
    paths = {h: (ent.column(h).json_path if array else f"$.{h}") for h in header}
    lists = {h: cols[h].tolist() for h in header}
    n = len(lists[header[0]])
    out = []
    for i in range(n):
        if array:
            obj: dict = {}
            for h in header:
                keys = paths[h][2:].split(".")
                node = obj
                for k in keys[:-1]:
                    node = node.setdefault(k, {})
                node[keys[-1]] = lists[h][i]
            line = json.dumps(obj, ensure_ascii=False)
        else:
            line = "{" + ", ".join(f'"{h}": {_json_value(lists[h][i], types[h])}' for h in header) + "}"
        c = row_kind.get(i)
        if c is not None and c.kind == "broken_json":
            line = line[: max(len(line) - 7, 20)]  # truncated write: the id at the front survives
        out.append(line)
    if not array:
        return "\n".join(out) + "\n"
    # JSON arrays are written whole (masters only): one element per line for readable diffs.
    return "[\n" + ",\n".join(out) + "\n]\n"
