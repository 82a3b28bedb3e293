"""Write every public mart the dbt project built on Spark to Parquet, for comparison with other engines.

Reads the manifest's ``access: public`` models of this project from the Spark metastore of
``DBT_SPARK_DIR`` (``spark_inputs.spark_session()``: the session dbt-spark's ``session`` method uses) and
writes each to ``<out>/<schema>.<table>/`` as one Parquet file, timestamps as UTC-adjusted micros (which
DuckDB reads as TIMESTAMP WITH TIME ZONE; ``engine_compare`` reads them back in UTC). Prints
``<schema> <table> <rows>`` per mart. Derby lets one process at a time open the metastore: run it after dbt,
in a process of its own.

    python -m smb_warehouse.core.spark_export target/manifest.json OUT_DIR
"""
from __future__ import annotations

import json
import sys
from pathlib import Path


def public_models(manifest: Path) -> list[tuple[str, str]]:
    """(schema, table) of every public model of the project in ``manifest``, sorted."""
    data = json.loads(Path(manifest).read_text(encoding="utf-8"))
    project = (data.get("metadata") or {}).get("project_name")
    return sorted((n["schema"], n.get("alias") or n["name"]) for n in data["nodes"].values()
                  if n["resource_type"] == "model" and n.get("access") == "public"
                  and (not project or n["package_name"] == project))


def export_public_marts(manifest: Path, out: Path) -> dict[tuple[str, str], int]:
    """Write the public marts to ``out``; returns their row counts as Spark read them."""
    from smb_warehouse.core.spark_inputs import spark_session

    spark = spark_session()
    try:
        spark.conf.set("spark.sql.parquet.outputTimestampType", "TIMESTAMP_MICROS")
        counts = {}
        for schema, table in public_models(manifest):
            frame = spark.table(f"`{schema}`.`{table}`")
            frame.coalesce(1).write.mode("overwrite").parquet(str(Path(out) / f"{schema}.{table}"))
            counts[(schema, table)] = frame.count()
        return counts
    finally:
        spark.stop()


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        print("usage: python -m smb_warehouse.core.spark_export MANIFEST OUT_DIR", file=sys.stderr)
        return 2
    for (schema, table), rows in export_public_marts(Path(args[0]), Path(args[1])).items():
        print(schema, table, rows)
    return 0


if __name__ == "__main__":
    sys.exit(main())
