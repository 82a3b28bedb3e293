"""One streaming pass over a landed file's bytes: content hash, size, and whether it has blank lines.

The hash drives idempotency (same bytes = same batch, whatever the file is called). Blank lines matter
because DuckDB's CSV reader skips them silently, which shifts the position -> line-number arithmetic
(readers.py then takes the exact, slower route). The pass works on fixed-size chunks; Python never
iterates over lines.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 4 * 1024 * 1024
_WHITESPACE = b" \t\r\n\x0b\x0c"


@dataclass(frozen=True)
class FileScan:
    sha256: str
    size: int
    only_whitespace: bool  # 0 bytes or nothing but whitespace: treated as an empty batch
    has_blank_lines: bool  # an empty line ("\n\n" or "\n\r\n") somewhere in the file


def scan_file(path: Path) -> FileScan:
    digest = hashlib.sha256()
    size = 0
    only_ws = True
    blank = False
    tail = b""  # last two bytes of the previous chunk: a blank line may straddle a chunk boundary
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if only_ws and chunk.strip(_WHITESPACE):
                only_ws = False
            if not blank:
                window = tail + chunk
                blank = b"\n\n" in window or b"\n\r\n" in window
            tail = (tail + chunk)[-2:]
    return FileScan(digest.hexdigest(), size, only_ws, blank)
