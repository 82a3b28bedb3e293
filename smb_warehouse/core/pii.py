"""The key behind every pseudonym of personal data: keyed hashes (HMAC-SHA-256, RFC 2104) in public marts,
the erasure log and the erasure list the loader applies.

Why keyed: an unsalted SHA-256 of an e-mail address is no pseudonym, anyone can hash a list of candidate
addresses and compare. With a secret key only the holder of the key can.

Where the key comes from:
- ``SMB_PII_HASH_KEY`` (64 to 128 hex digits: 32 to 64 random bytes), from your secret store, in production;
- otherwise a key generated once per installation, ``secrets.token_hex(32)``, kept in
  ``$SMB_DATA_DIR/secrets/pii_hash_key`` (mode 0600). Generated rather than refused so a fresh clone's
  ``make demo`` works; stored so every run uses the same key (pseudonyms are stable join keys across
  publishes, and the erasure list must match next month's exports). It is kept outside the warehouse
  files: a BI user holding the BI copy (or even the whole published warehouse) cannot recompute a pseudonym.
Changing the key changes every pseudonym and orphans the erasure list's hashes; keep it with the backups.

How SQL gets it without ever seeing it as text: DuckDB connections get the key as the session variable
``smb_pii_hash_key`` (``configure``: the dbt-duckdb plugin ``smb_warehouse.core.dbt_duckdb_pii`` does it for
every dbt connection), and macros/cross_db/hmac_sha256_hex.sql reads ``getvariable('smb_pii_hash_key')``; a
connection without it fails loudly instead of hashing with an empty key. So the key is in no compiled SQL,
no dbt artifact (manifest, run results, logs) and no Dagster event.
"""
from __future__ import annotations

import contextlib
import hashlib
import hmac
import os
import re
import secrets
from pathlib import Path

import duckdb

from smb_warehouse.core import paths
from smb_warehouse.core.sql import lit

KEY_ENV = "SMB_PII_HASH_KEY"
DUCKDB_VARIABLE = "smb_pii_hash_key"
_HEX_KEY = re.compile(r"^(?:[0-9a-f]{2}){32,64}$")


class PiiKeyError(RuntimeError):
    """The configured key is not usable (wrong format, unreadable key file)."""


def key_file() -> Path:
    """Where the generated per-installation key lives when ``SMB_PII_HASH_KEY`` is unset."""
    return paths.data_dir() / "secrets" / "pii_hash_key"


def _validated(value: str, where: str) -> str:
    key = value.strip().lower()
    if not _HEX_KEY.match(key):
        raise PiiKeyError(f"{where} must be 64 to 128 hex digits (32 to 64 random bytes), e.g. the output of "
                          "`python -c 'import secrets; print(secrets.token_hex(32))'`")
    return key


def hash_key() -> str:
    """The key as lower-case hex (see the module docstring for where it comes from). Creates the
    per-installation key file on first use. Raises ``PiiKeyError`` for a malformed key."""
    configured = os.environ.get(KEY_ENV)
    if configured:
        return _validated(configured, KEY_ENV)
    path = key_file()
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(path.parent, 0o700)
        fresh = path.with_name(f".{path.name}.{os.getpid()}.new")
        fd = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_hex(32) + "\n")
        with contextlib.suppress(FileExistsError):
            os.link(fresh, path)  # first creator wins; a concurrent one reads the winner's key
        fresh.unlink(missing_ok=True)
    try:
        return _validated(path.read_text(encoding="utf-8"), str(path))
    except OSError as exc:
        raise PiiKeyError(f"cannot read the PII hash key file {path}: {exc}") from exc


def keyed_hash(value: str | None, key: str | None = None) -> str | None:
    """HMAC-SHA-256 of the UTF-8 bytes of ``value`` under the key, as 64 lower-case hex digits (None for
    None): exactly what the SQL macro ``hmac_sha256_hex`` returns. Method: RFC 2104 via Python's ``hmac``."""
    if value is None:
        return None
    return hmac.new(bytes.fromhex(key or hash_key()), value.encode("utf-8"), hashlib.sha256).hexdigest()


def configure(con: duckdb.DuckDBPyConnection, key: str | None = None) -> None:
    """Give a DuckDB connection (or cursor) the key as its session variable, so SQL using the hash macro
    works on it. Session variables live only in the connection, never in the database file."""
    con.execute(f"SET VARIABLE {DUCKDB_VARIABLE} = {lit(key or hash_key())}")


def hmac_sql(expression: str) -> str:
    """DuckDB SQL for HMAC-SHA-256 of ``expression`` (a VARCHAR) with the session key: the same text the
    dbt macro renders for DuckDB (macros/cross_db/hmac_sha256_hex.sql), for the Python side (erasure)."""
    message = (f"{DUCKDB_VARIABLE} is not set on this connection, or is not 64 to 128 hex digits "
               "(smb_warehouse.core.pii.configure(con) sets it)")
    key = f"getvariable('{DUCKDB_VARIABLE}')"

    def pad(byte: int) -> str:
        return (f"(SELECT unhex(array_to_string(list_transform(range(64), i -> lpad(hex(xor(CASE WHEN 2 * i < length(k) "
                f"THEN ('0x' || substr(k, 2 * i + 1, 2))::INTEGER ELSE 0 END, {byte})), 2, '0')), '')) "
                f"FROM (SELECT {key} AS k) AS hmac_key)")

    # The check sits at the top of the expression: inside the pad subqueries DuckDB's optimizer may fold a
    # missing variable to NULL without ever evaluating error().
    return (f"CASE WHEN regexp_full_match(coalesce({key}, ''), '([0-9a-f]{{2}}){{32,64}}') "
            f"THEN lower(sha256({pad(0x5C)} || unhex(sha256({pad(0x36)} || encode({expression}))))) "
            f"ELSE error('{message}') END")
