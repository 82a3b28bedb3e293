"""Dagster assets for ingestion: one asset per source entity, built from the contracts.

No asset here knows anything about a particular system: the contract says what to read and the one
generic loader (``loader.load_entity``) does it. Adding an entity to ``contracts/*.yml`` adds an asset.
"""

from dagster import (
    AssetCheckResult,
    AssetCheckSeverity,
    AssetCheckSpec,
    AssetExecutionContext,
    AssetKey,
    AssetsDefinition,
    MaterializeResult,
    MetadataValue,
    asset,
)

from orchestration.lib.resources import WarehouseResource
from orchestration.privacy.erasure import apply_erasure_list
from smb_warehouse.core import paths
from smb_warehouse.ingestion.contracts import Entity, all_entities
from smb_warehouse.ingestion.loader import ensure_ingestion_tables, load_entity
from smb_warehouse.ingestion.source_gone import record_missing_sources

# Above this share of quarantined rows the entity's check warns: the load still succeeds (good rows
# are good), but someone should look at the export.
QUARANTINE_WARN_RATE = 0.02


def _entity_asset(entity: Entity) -> AssetsDefinition:
    key = AssetKey(entity.asset_key_path)
    check = AssetCheckSpec("quarantine_rate", asset=key, description=f"Share of quarantined rows <= {QUARANTINE_WARN_RATE:.0%}")

    @asset(
        key=key,
        group_name=entity.system,
        description=f"{entity.description}\n\nLoaded from `<landing>/{entity.system}/{entity.name}/{entity.format.file_glob}` "
        f"into `{entity.qualified_raw_table}` under the contract in `contracts/{entity.system}.yml`.",
        kinds={"duckdb", entity.format.type},
        check_specs=[check],
        metadata={"contract": f"contracts/{entity.system}.yml", "table": entity.qualified_raw_table},
        tags={"layer": "raw"},
    )
    def _load(context: AssetExecutionContext, warehouse: WarehouseResource):
        with warehouse.connect(context.run_id) as con:
            ensure_ingestion_tables(con)
            result = load_entity(con, entity, paths.landing_dir(), load_id=context.run_id)
            erased = apply_erasure_list(con, entity, load_id=context.run_id)  # erased data subjects stay out
            gone = record_missing_sources(con, entity, paths.landing_dir(), load_id=context.run_id)
        files = result.files
        loaded = [f for f in files if f.status == "loaded"]
        read = sum(f.rows_read for f in loaded)
        quarantined = sum(f.rows_quarantined for f in loaded)
        rate = quarantined / read if read else 0.0
        drift = sorted({d for f in files for d in f.schema_drift})
        yield MaterializeResult(
            metadata={
                "files_loaded": len(loaded),
                "files_skipped_already_loaded": sum(f.status == "skipped_already_loaded" for f in files),
                "rows_read": read,
                "rows_loaded": sum(f.rows_loaded for f in loaded),
                "rows_quarantined": quarantined,
                "schema_drift": MetadataValue.text("; ".join(drift) or "none"),
                "rows_of_erased_subjects_redacted": erased,  # orchestration/privacy/erasure.py
                "files_gone_from_landing": MetadataValue.text("\n".join(gone) or "none"),  # ingestion/source_gone.py
                # nothing in a landing folder is skipped silently: not-yet-complete and unread files, with why
                "files_held": MetadataValue.text("\n".join(f"{f.source_file}: {f.message}" for f in files
                                                           if f.status == "held") or "none"),
                "files_ignored": MetadataValue.text("\n".join(f"{f.source_file}: {f.message}" for f in files
                                                              if f.status == "ignored") or "none"),
            }
        )
        yield AssetCheckResult(
            check_name="quarantine_rate",
            passed=rate <= QUARANTINE_WARN_RATE,
            severity=AssetCheckSeverity.WARN,
            metadata={"quarantine_rate": rate, "rows_quarantined": quarantined},
        )

    return _load


def build_ingestion_assets() -> list[AssetsDefinition]:
    return [_entity_asset(e) for e in all_entities()]
