"""FEBRL as a new user's exports: the public FEBRL person records mapped into the ERP customer and CRM
account exports of the contracts, with the ground truth their rec_ids give.

FEBRL (Freely Extensible Biomedical Record Linkage; Christen, ANU) ships synthetic person records whose
``rec_id`` is ``rec-N-org`` for an original and ``rec-N-dup-K`` for its K-th corrupted duplicate: records
sharing N are one entity. ``dataset1.csv`` has 500 originals with one duplicate each; ``dataset2.csv`` has
4,000 originals and 1,000 duplicates (up to 5 per original).

Mapping (a person stands in for a customer; every field the contracts offer that FEBRL has):

    customer_name / Name              given_name + ' ' + surname (a missing part is left out)
    street / BillingAddress.street    street_number + ' ' + address_1
    city / BillingAddress.city        suburb
    postal_code / .postalCode         postcode
    country / .country                'AU'
    vat_id / VAT_Number__c            soc_sec_id (a unique identifier with typos in duplicates, as a VAT id)

address_2, state and date_of_birth have no contract column and are dropped; e-mail, phone and website are
empty. Every record goes to one system by a stable hash of its rec_id (CRC-32, even -> ERP, odd -> CRM), so
originals and duplicates are spread over both: some true pairs are within one system, some across.
"""
from __future__ import annotations

import json
import zlib
from pathlib import Path

import pandas as pd

FEBRL_DIR = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "febrl"
FILES = ("dataset1", "dataset2")
FEBRL_COLUMNS = ["rec_id", "given_name", "surname", "street_number", "address_1", "address_2", "suburb", "postcode",
                 "state", "date_of_birth", "soc_sec_id"]
_TIMESTAMP = "2024-01-15 09:00:00"
_TIMESTAMP_ISO = "2024-01-15T09:00:00+00:00"


def read(path: Path) -> pd.DataFrame:
    """One FEBRL file as strings: the columns of FEBRL_COLUMNS (stripped, empty -> NA) plus ``entity``
    (the N of rec-N-...). Raises ValueError when a column is missing or a rec_id has another form."""
    df = pd.read_csv(path, dtype=str, skipinitialspace=True, keep_default_na=False)
    df.columns = [c.strip() for c in df.columns]
    missing = [c for c in FEBRL_COLUMNS if c not in df]
    if missing:
        raise ValueError(f"{path}: not a FEBRL file, columns {missing} missing")
    df = df[FEBRL_COLUMNS].apply(lambda s: s.str.strip()).replace("", pd.NA)
    entity = df["rec_id"].str.extract(r"^rec-(\d+)-(?:org|dup-\d+)$")[0]
    if entity.isna().any():
        raise ValueError(f"{path}: rec_id not of the form rec-N-org / rec-N-dup-K: {df.loc[entity.isna(), 'rec_id'].iloc[0]}")
    return df.assign(entity=entity)


def _join(*parts: pd.Series) -> pd.Series:
    """Space-joined non-missing parts per row; NA when all are missing (vectorised)."""
    frame = pd.concat(parts, axis=1).fillna("")
    joined = frame.iloc[:, 0]
    for i in range(1, frame.shape[1]):
        joined = joined.str.cat(frame.iloc[:, i], sep=" ")
    joined = joined.str.split().str.join(" ")
    return joined.replace("", pd.NA)


def to_landing(febrl: pd.DataFrame, landing: Path) -> pd.DataFrame:
    """Write ``febrl`` (from ``read``) as ``<landing>/erp/customers/customers_febrl.csv`` and
    ``<landing>/crm/accounts/accounts_febrl.json`` under the contracts; returns the ground truth:
    columns record_key (as in int_er__customer_records, e.g. 'erp:customers:C-00001'), rec_id, entity."""
    df = febrl.reset_index(drop=True)
    to_erp = pd.Series([zlib.crc32(r.encode()) % 2 == 0 for r in df["rec_id"]], index=df.index)
    name = _join(df["given_name"], df["surname"]).fillna("(no name)")  # the contract requires a name
    street = _join(df["street_number"], df["address_1"])
    number = pd.Series(range(1, len(df) + 1), index=df.index)
    erp_ids = "C-" + number.astype(str).str.zfill(5)
    crm_ids = "001FEBRL" + number.astype(str).str.zfill(4)
    erp = pd.DataFrame({
        "customer_id": erp_ids, "customer_name": name, "email": pd.NA, "phone": pd.NA, "street": street,
        "city": df["suburb"], "postal_code": df["postcode"], "country": "AU", "vat_id": df["soc_sec_id"],
        "created_at": _TIMESTAMP, "updated_at": _TIMESTAMP,
    })[to_erp]
    (landing / "erp" / "customers").mkdir(parents=True, exist_ok=True)
    erp.to_csv(landing / "erp" / "customers" / "customers_febrl.csv", index=False)
    crm = pd.DataFrame({"Id": crm_ids, "Name": name, "street": street, "city": df["suburb"],
                        "postalCode": df["postcode"], "VAT_Number__c": df["soc_sec_id"]})[~to_erp]
    accounts = [
        {"Id": r.Id, "Name": r.Name, "Website": None, "Phone": None,
         "BillingAddress": {"street": _none(r.street), "city": _none(r.city), "postalCode": _none(r.postalCode),
                            "country": "AU"},
         "VAT_Number__c": _none(r.VAT_Number__c), "Industry": None, "CreatedDate": _TIMESTAMP_ISO,
         "LastModifiedDate": _TIMESTAMP_ISO}
        for r in crm.itertuples(index=False)
    ]
    (landing / "crm" / "accounts").mkdir(parents=True, exist_ok=True)
    (landing / "crm" / "accounts" / "accounts_febrl.json").write_text(json.dumps(accounts, indent=0), encoding="utf-8")
    keys = ("erp:customers:" + erp_ids).where(to_erp, "crm:accounts:" + crm_ids)
    return pd.DataFrame({"record_key": keys, "rec_id": df["rec_id"], "entity": df["entity"]})


def _none(value: object) -> object:
    return None if value is pd.NA or (isinstance(value, float) and value != value) else value
