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

Compressed files (gzip, zstd) are hashed by their decompressed text (a compressed copy of a loaded file is the
same content), and their text facts are taken from the decompressed stream in the same pass; a stream that ends
early (a copy still in progress, or a damaged file) sets ``complete = False``. The pass works on fixed-size
chunks; Python never iterates over lines.
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
    has_quote: bool | None = None  # a '"' byte somewhere
    ascii_only: bool | None = None  # no byte >= 0x80 (the same text in UTF-8, latin-1 and cp1252)
    has_nul: bool | None = None  # a NUL byte somewhere (the fast CSV route uses NUL as its null marker)
    mixed_line_ends: bool | None = None  # CRLF beside bare LF, or a CR that ends no line (DuckDB's readers give up)
    last_line_end: bytes | None = None  # b"\r\n", b"\n" or b"\r": how the last line ends (a record end, not a quoted one)
    complete: bool = True  # False: a compressed stream that ends early
    problem: str | None = None  # why not complete

    @property
    def has_blank_lines(self) -> bool:
        return bool(self.blank_lines)


class _Text:
    """Shape facts of a text stream fed in chunks."""

    def __init__(self) -> None:
        self.head = b""
        self.only_ws = True
        self.terminator: bytes | None = None
        self.count = 0
        self.blank = False
        self.tail = b""  # the end of the previous chunk: a blank line may straddle a chunk boundary
        self.last = b""
        self.last_two = b""
        self.size = 0
        self.utf8 = codecs.getincrementaldecoder("utf-8")()
        self.utf8_ok = True
        self.quote = False
        self.ascii = True
        self.nul = False
        self.cr = self.crlf = 0
        self.lf_seen = False

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        cr = chunk.count(b"\r")  # most files have none: the pairs are only counted where there are
        if cr:
            self.cr += cr
            self.crlf += chunk.count(b"\r\n")
        if self.last == b"\r" and chunk[:1] == b"\n":  # a CRLF split by the chunking
            self.crlf += 1
        if not self.lf_seen:
            self.lf_seen = b"\n" in chunk
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        if self.only_ws and chunk.strip(_WHITESPACE):
            self.only_ws = False
        self.last = chunk[-1:]
        self.last_two = (self.last_two + chunk)[-2:]
        if self.utf8_ok:
            try:
                self.utf8.decode(chunk)
            except UnicodeDecodeError:
                self.utf8_ok = False
        if not self.quote:
            self.quote = b'"' in chunk
        if self.ascii:
            self.ascii = chunk.isascii()
        if not self.nul:
            self.nul = b"\x00" in chunk
        if self.terminator is None:
            self.terminator = b"\n" if b"\n" in chunk else (b"\r" if b"\r" in chunk else None)
        if self.terminator is not None:
            self.count += chunk.count(self.terminator)
            if not self.blank:
                self.blank = _blank_re(self.terminator).search(self.tail + chunk) is not None
            self.tail = (self.tail + chunk)[-64:]

    def finish(self) -> dict:
        if self.utf8_ok:
            try:
                self.utf8.decode(b"", final=True)
            except UnicodeDecodeError:
                self.utf8_ok = False
        ends = self.last in (b"\n", b"\r")
        blank = self.blank
        if not blank and self.size and self.terminator is not None:  # a whitespace-only first line
            blank = self.head.split(self.terminator, 1)[0].strip(_WHITESPACE) == b""
        return {"line_terminator": self.terminator, "line_count": self.count + (0 if ends or self.size == 0 else 1),
                "blank_lines": blank, "ends_with_newline": ends, "utf8_valid": self.utf8_ok, "has_quote": self.quote,
                "ascii_only": self.ascii, "has_nul": self.nul,
                "mixed_line_ends": self._mixed(),
                "last_line_end": b"\r\n" if self.last_two == b"\r\n" else (self.last if ends else None)}

    def _mixed(self) -> bool:
        """CRLF beside bare LF, a CR that ends no line in an LF file, or an LF in a CR-only file."""
        if self.terminator == b"\n":
            return 0 < self.crlf < self.count or self.cr > self.crlf
        return self.terminator == b"\r" and self.lf_seen


def _decompressor(compression: str):
    if compression == "gzip":
        import zlib

        d = zlib.decompressobj(16 + zlib.MAX_WBITS)

        def feed(chunk: bytes) -> list[bytes]:
            nonlocal d
            out = [d.decompress(chunk)]
            while d.eof and d.unused_data:  # concatenated gzip members
                rest = d.unused_data
                d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                out.append(d.decompress(rest))
            return out

        return feed, lambda: d.eof
    import zstandard

    obj = zstandard.ZstdDecompressor().decompressobj()
    state = {"eof": False}

    def feed_z(chunk: bytes) -> list[bytes]:
        out = [obj.decompress(chunk)]
        state["eof"] = obj.eof
        return out

    return feed_z, lambda: state["eof"]


def scan_file(path: Path, compressed: bool | str = False) -> FileScan:
    """Hash and measure ``path`` in one pass (``compressed``: 'gzip' or 'zstd' to measure the decompressed
    text, and hash it: a compressed copy of a loaded file is the same content; True only hashes the bytes).
    Raises OSError when the file cannot be read."""
    digest = hashlib.sha256()
    text_digest = hashlib.sha256()  # of the decompressed text: the same rows gzipped, zstd-ed or plain are one content
    raw_head = b""
    size = 0
    text = _Text()
    feed = done = None
    problem = None
    if compressed in ("gzip", "zstd"):
        feed, done = _decompressor(compressed)
    with path.open("rb") as fh:
        while chunk := fh.read(CHUNK_BYTES):
            digest.update(chunk)
            size += len(chunk)
            if len(raw_head) < HEAD_BYTES:
                raw_head += chunk[: HEAD_BYTES - len(raw_head)]
            if compressed is True:
                continue
            if feed is None:
                text.feed(chunk)
                continue
            if problem is None:
                try:
                    for part in feed(chunk):
                        if part:
                            text.feed(part)
                            text_digest.update(part)
                except Exception as exc:  # zlib.error, zstandard.ZstdError: damaged stream
                    problem = f"the {compressed} stream is damaged ({exc})"
    if compressed is True:
        return FileScan(digest.hexdigest(), size, size == 0, raw_head, compressed=True)
    facts = text.finish()
    if feed is not None and problem is None and size and not done():
        problem = f"the {compressed} stream ends early: the file is still being copied, or was cut"
    bom = next((name for mark, name in _BOMS if text.head.startswith(mark)), None)
    if bom in ("utf-16-le", "utf-16-be"):  # two-byte units: the byte-level line facts do not apply
        unit = text.last_two if bom == "utf-16-le" else text.last_two[::-1]
        facts.update(line_terminator=None, line_count=None, blank_lines=None, has_quote=None, ascii_only=None, has_nul=None,
                     mixed_line_ends=None, last_line_end=None,
                     ends_with_newline=unit in (b"\n\x00", b"\r\x00"))
    sha256 = text_digest.hexdigest() if feed is not None else digest.hexdigest()
    return FileScan(sha256, size, text.only_ws if feed is None else (text.size == 0), text.head,
                    compressed=feed is not None, bom=bom, complete=problem is None, problem=problem, **facts)


_BLANK = {b"\n": re.compile(rb"\n[ \t\x0b\x0c\r]*\n"), b"\r": re.compile(rb"\r[ \t\x0b\x0c]*\r")}


def _blank_re(terminator: bytes) -> re.Pattern[bytes]:
    return _BLANK[terminator]
