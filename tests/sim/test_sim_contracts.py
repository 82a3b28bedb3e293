"""Every good row conforms to its contract; every row listed as malformed really is malformed."""
from __future__ import annotations

import duckdb
from sim_helpers import csv_header, entities, iter_rows, read_truth, row_errors


def test_rows_conform_and_malformed_rows_are_exactly_the_listed_ones(gen):
    out, truth, _ = gen
    listed = {(r["file"], int(r["line"])): r["kind"] for r in read_truth(truth, "malformed_rows.csv")}
    assert len(listed) > 10
    found_bad, n_rows = set(), 0
    for ent in entities():
        files = sorted((out / ent.system / ent.name).glob(ent.format.file_glob))
        assert files, f"no files for {ent.system}.{ent.name}"
        for path in files:
            rel = path.relative_to(out).as_posix()
            for line, row, problem in iter_rows(path, ent):
                n_rows += 1
                errs = [problem] if row is None else row_errors(ent, row)
                if errs:
                    found_bad.add((rel, line))
                    assert (rel, line) in listed, f"{rel}:{line} unlisted malformed row: {errs}"
    assert found_bad == set(listed), sorted(set(listed) - found_bad)[:5]
    assert 0.001 < len(listed) / n_rows < 0.01


def test_csv_headers_match_contract_or_recorded_drift(gen):
    out, truth, _ = gen
    drift = {r["file"] for r in read_truth(truth, "schema_drift.csv")}
    assert drift and all(f.startswith("erp/customers/") for f in drift)
    for ent in entities():
        if ent.format.type != "csv":
            continue
        expected = [c.name for c in ent.columns]
        for path in sorted((out / ent.system / ent.name).glob("*.csv")):
            if ent.system == "erp":
                header = csv_header(path)
            else:
                with open(path, encoding="utf-8") as fh:
                    header = fh.readline().rstrip("\n").split(";")
            rel = path.relative_to(out).as_posix()
            if rel in drift:
                assert "phone_number" in header and "segment" in header and "phone" not in header
            else:
                assert header == expected, rel
    last = sorted((out / "erp" / "customers").glob("*.csv"))[-1].relative_to(out).as_posix()
    assert last in drift


def test_duckdb_reads_everything(gen):
    out, _, _ = gen
    con = duckdb.connect()
    for ent in entities():
        glob = str(out / ent.system / ent.name / ent.format.file_glob)
        if ent.format.type == "csv":
            sql = (f"select count(*) from read_csv('{glob}', delim='{ent.format.delimiter}', header=true, "
                   f"all_varchar=true, ignore_errors=true, union_by_name=true)")
        elif ent.format.type == "ndjson":
            sql = f"select count(*) from read_json('{glob}', format='newline_delimited', ignore_errors=true)"
        else:
            sql = f"select count(*) from read_json('{glob}', format='array')"
        assert con.execute(sql).fetchone()[0] > 0, ent.raw_table
