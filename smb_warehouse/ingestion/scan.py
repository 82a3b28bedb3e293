"""One streaming pass over a landed file's bytes: content hash, size and the shape facts the loader needs.

The hash drives idempotency (same bytes = same batch, whatever the file is called). The shape facts
decide cheaply, before DuckDB reads anything, what route the file takes:

* ``line_terminator`` / ``line_count``: physical lines (LF, CRLF or old-Mac CR), so line numbers can be
  checked against what the reader produced;
* ``blank_lines``: empty or whitespace-only lines (the readers skip them, which shifts line numbers, so
  such files take the exact line-number route);
* ``ends_with_newline``: a text file whose last byte is not a line break may still be being written;
* ``bom``: a byte-order mark (a UTF-16 file under a UTF-8 contract is refused as a whole);
* ``head``: the first bytes (header row, NDJSON shape check).

Compressed files are hashed as they are (the bytes that landed); their text facts are unknown (``None``)
and the container's own integrity check stands in for completeness. The pass works on fixed-size chunks;
Python never iterates over lines.
"""
from __future__ import annotations

import codecs
import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

CHUNK_BYTES = 4 * 1024 * 1024
HEAD_BYTES = 64 * 1024
_WHITESPACE = b" \t\r\n\x0b\x0c"
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))


@dataclass(frozen=True)
class FileScan:
    sha256: str
    size: int
    only_whitespace: bool  # 0 bytes or nothing but whitespace: treated as an empty batch
    head: bytes  # the first HEAD_BYTES bytes (raw, possibly compressed)
    compressed: bool = False
    bom: str | None = None
    line_terminator: bytes | None = None  # b"\n" (LF or CRLF), b"\r" (CR only); None: one line / unknown
    line_count: int | None = None  # physical lines, counting an unterminated last line
    blank_lines: bool | None = None  # an empty or whitespace-only line somewhere
    ends_with_newline: bool | None = None
    utf8_valid: bool | None = None  # the bytes decode as UTF-8 (uncompressed files only)
    has_quote: bool | None = None  # a '"' byte somewhere (uncompressed files only)

    @property
    def has_blank_lines(self) -> bool:
        return bool(self.blank_lines)


def scan_file(path: Path, compressed: bool = False) -> FileScan:
    """Hash and measure ``path`` in one pass. Raises OSError when the file cannot be read."""
    digest = hashlib.sha256()
    size = 0
    only_ws = True
    head = b""
    terminator: bytes | None = None
    count = 0
    blank = False
    tail = b""  # the end of the previous chunk: a blank line may straddle a chunk boundary
    last = b""
    utf8 = codecs.getincrementaldecoder("utf-8")()
    utf8_ok = not compressed
    quote = False
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if len(head) < HEAD_BYTES:
                head += chunk[: HEAD_BYTES - len(head)]
            if only_ws and chunk.strip(_WHITESPACE):
                only_ws = False
            last = chunk[-1:]
            if compressed:
                continue
            if utf8_ok:
                try:
                    utf8.decode(chunk)
                except UnicodeDecodeError:
                    utf8_ok = False
            if not quote:
                quote = b'"' in chunk
            if terminator is None:
                terminator = b"\n" if b"\n" in chunk else (b"\r" if b"\r" in chunk else None)
            if terminator is not None:
                count += chunk.count(terminator)
                if not blank:
                    blank = _blank_re(terminator).search(tail + chunk) is not None
                tail = (tail + chunk)[-64:]
    bom = next((name for mark, name in _BOMS if head.startswith(mark)), None)
    if compressed:
        return FileScan(digest.hexdigest(), size, size == 0, head, compressed=True, bom=bom)
    ends = last in (b"\n", b"\r")
    if not blank and size:  # a whitespace-only first line also shifts record numbers
        first = head.split(terminator or b"\n", 1)[0]
        blank = first.strip(_WHITESPACE) == b"" and terminator is not None
    if utf8_ok:
        try:
            utf8.decode(b"", final=True)
        except UnicodeDecodeError:
            utf8_ok = False
    return FileScan(digest.hexdigest(), size, only_ws, head, bom=bom, line_terminator=terminator,
                    line_count=count + (0 if ends or size == 0 else 1), blank_lines=blank, ends_with_newline=ends,
                    utf8_valid=utf8_ok, has_quote=quote)


_BLANK = {b"\n": re.compile(rb"\n[ \t\x0b\x0c\r]*\n"), b"\r": re.compile(rb"\r[ \t\x0b\x0c]*\r")}


def _blank_re(terminator: bytes) -> re.Pattern[bytes]:
    return _BLANK[terminator]
