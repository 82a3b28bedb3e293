"""API keys and roles, from the environment only (no secret is ever stored in the repository).

Keys are configured as ``SMB_API_KEYS="<key>:<role>[:<name>],..."`` or, for keys kept out of the process
environment listing, ``SMB_API_KEYS_FILE=<path>`` (one ``<key>:<role>[:<name>]`` per line, ``#`` comments).
Both may be set; a key listed twice with different roles is refused at start-up. ``<name>`` is who the key
belongs to: it is what the audit trail records as the author of a write (``decided_by`` of a review
decision, ``principal`` of an audit row); without it the name is ``<role>-<first 8 hex of sha256(key)>``,
never the key itself.

Roles and what they may do (a role includes everything listed before it on its line):

    viewer     read every endpoint; personal data (columns tagged ``pii``) is redacted
    reviewer   viewer + personal data + AP review decisions (approve / reject / reassign)
    admin      reviewer + publish events + read the audit log
    publisher  publish events only (the key a source system's webhook uses); reads nothing

A request authenticates with ``X-API-Key: <key>`` or ``Authorization: Bearer <key>``. Keys are compared in
constant time (``hmac.compare_digest`` over the sha256 of each key).
"""
from __future__ import annotations

import hashlib
import hmac
import os
from dataclasses import dataclass
from pathlib import Path

ROLES = ("viewer", "reviewer", "admin", "publisher")
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "reviewer": frozenset({"read", "pii", "decide"}),
    "admin": frozenset({"read", "pii", "decide", "publish", "audit"}),
    "publisher": frozenset({"publish"}),
}
ENV_KEYS = "SMB_API_KEYS"
ENV_KEYS_FILE = "SMB_API_KEYS_FILE"


class KeyConfigError(ValueError):
    """The key configuration is malformed (message names the entry, never the key)."""


@dataclass(frozen=True)
class Principal:
    """Who is calling: a name for the audit trail and a role."""

    name: str
    role: str

    def can(self, permission: str) -> bool:
        return permission in PERMISSIONS[self.role]


def _digest(key: str) -> bytes:
    return hashlib.sha256(key.encode("utf-8")).digest()


def _parse_entry(entry: str, where: str) -> tuple[str, Principal]:
    parts = [p.strip() for p in entry.strip().split(":")]
    if len(parts) not in (2, 3) or not parts[0]:
        raise KeyConfigError(f"{where}: expected <key>:<role>[:<name>]")
    key, role = parts[0], parts[1]
    if role not in ROLES:
        raise KeyConfigError(f"{where}: role {role!r} is not one of {', '.join(ROLES)}")
    if len(key) < 16:
        raise KeyConfigError(f"{where}: keys must be at least 16 characters")
    name = parts[2] if len(parts) == 3 and parts[2] else f"{role}-{_digest(key).hex()[:8]}"
    return key, Principal(name=name, role=role)


class KeyRing:
    """The configured keys (as sha256 digests) and who each belongs to."""

    def __init__(self, entries: dict[str, Principal]):
        self._by_digest = {_digest(k): p for k, p in entries.items()}

    def __len__(self) -> int:
        return len(self._by_digest)

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> KeyRing:
        """Keys from ``SMB_API_KEYS`` and/or the file named by ``SMB_API_KEYS_FILE``.

        Raises ``KeyConfigError`` for a malformed entry or a key given two different roles. An empty key
        ring is allowed (every request is then refused with 401), so the API can start without keys.
        """
        environ = os.environ if environ is None else environ
        entries: dict[str, Principal] = {}
        sources: list[tuple[str, str]] = []
        inline = environ.get(ENV_KEYS, "")
        sources += [(e, f"{ENV_KEYS} entry {i + 1}") for i, e in enumerate(inline.split(",")) if e.strip()]
        path = environ.get(ENV_KEYS_FILE)
        if path:
            lines = Path(path).expanduser().read_text(encoding="utf-8").splitlines()
            sources += [(line, f"{path}:{n}") for n, line in enumerate(lines, 1)
                        if line.strip() and not line.lstrip().startswith("#")]
        for entry, where in sources:
            key, principal = _parse_entry(entry, where)
            if key in entries and entries[key] != principal:
                raise KeyConfigError(f"{where}: this key is already configured as {entries[key].role}/{entries[key].name}")
            entries[key] = principal
        return cls(entries)

    def principal(self, key: str | None) -> Principal | None:
        """The key's principal, or None for a missing or unknown key (constant-time comparison)."""
        if not key:
            return None
        digest = _digest(key)
        found = None
        for known, principal in self._by_digest.items():
            if hmac.compare_digest(known, digest):
                found = principal
        return found
