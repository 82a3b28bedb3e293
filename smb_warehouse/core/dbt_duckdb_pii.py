"""dbt-duckdb plugin (profiles.yml ``plugins: [{module: smb_warehouse.core.dbt_duckdb_pii}]``): gives every
connection and cursor dbt opens the PII hash key as the session variable ``smb_pii_hash_key``, which the
``hmac_sha256_hex`` macro reads. The key goes straight from ``smb_warehouse.core.pii`` to DuckDB, never
through dbt's SQL, logs or artifacts. No Dagster; dbt-duckdb imports it by name in the dbt process."""
from __future__ import annotations

from typing import Any

from dbt.adapters.duckdb.plugins import BasePlugin

from smb_warehouse.core import pii


class Plugin(BasePlugin):
    def initialize(self, plugin_config: dict[str, Any]) -> None:
        self._key = pii.hash_key()  # fails here, before any model runs, when the key is malformed

    def configure_connection(self, conn) -> None:
        pii.configure(conn, self._key)

    def configure_cursor(self, cursor) -> None:
        pii.configure(cursor, self._key)
