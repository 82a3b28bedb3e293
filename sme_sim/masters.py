"""Master-data extracts: ERP customers/suppliers/products and CRM accounts/contacts/opportunities/
promotions. A full export in the first batch, then delta files with new rows and new versions of
existing rows (same key, newer updated_at). The last ERP customer batches use extract version 2."""
from __future__ import annotations

from pathlib import Path

import numpy as np

from sme_sim import vocab as V
from sme_sim.demand import DemandModel
from sme_sim.entities import World, build_world
from sme_sim.seeds import rng_for
from sme_sim.timeutil import N_DAYS, month_bounds, months
from sme_sim.truth import Truth
from sme_sim.writers import Landing

MONTHS = months()
QUARTERLY = list(range(0, len(MONTHS), 3)) + [len(MONTHS) - 1]  # quarterly deltas + a final one
V2_FROM = len(MONTHS) - 2  # ERP customers: last two batches come from the upgraded extract (v2)


def _o(values: list) -> np.ndarray:
    return np.array(values, dtype=object)


def _ts(rng: np.random.Generator, days: np.ndarray) -> np.ndarray:
    return np.asarray(days, dtype=np.int64) * 86400 + rng.integers(7 * 3600, 19 * 3600, len(days))


def _new_and_updated(rng: np.random.Generator, recs: list[dict], month: int, update_rate: float,
                     mutate, since: int | None = None) -> tuple[list[dict], np.ndarray]:
    """Rows for one batch: full export (month 0) or creations since the previous batch (month
    `since`, default this month) plus updated versions of older rows keyed in this month."""
    first, last = month_bounds(month)
    created_from = month_bounds(since)[0] if since is not None else first
    rows, upd_days = [], []
    for r in recs:
        if month == 0 and r["created_day"] <= last:
            rows.append(dict(r))
            upd_days.append(min(last, r["created_day"] + int(rng.integers(0, 400))))
        elif month > 0 and created_from <= r["created_day"] <= last:
            rows.append(dict(r))
            upd_days.append(r["created_day"] + int(rng.integers(0, last - r["created_day"] + 1)))
        elif month > 0 and r["created_day"] < created_from and rng.random() < update_rate:
            mutate(rng, r)
            rows.append(dict(r))
            upd_days.append(int(rng.integers(first, last + 1)))
    return rows, np.array(upd_days, dtype=np.int64)


def write_erp_customers(seed: int, world: World, landing: Landing, truth: Truth) -> list[tuple]:
    rng = rng_for(seed, "erp-customers")
    comp = {c["true_id"]: c for c in world.companies}

    def mutate(r: np.random.Generator, rec: dict) -> None:
        co = comp[rec["true_id"]]
        k = int(r.integers(3))
        if k == 0:
            rec["phone"] = co["phones"][int(r.integers(0, 5))]
        elif k == 1:
            rec["email"] = V.email_variant(r, rec["email"].strip().lower())
        else:
            rec["street"] = co["street_abbr"]

    recs = [dict(c) for c in world.erp_customers]
    for c in recs:
        c["created_ts"] = int(_ts(rng, np.array([c["created_day"]]))[0])
    drift = []
    for m in range(len(MONTHS)):
        rows, upd = _new_and_updated(rng, recs, m, 0.03, mutate)
        if not rows:
            continue
        created = np.array([r["created_ts"] for r in rows], dtype=np.int64)
        upd_ts = np.maximum(_ts(rng, upd), created)
        cols = {k: _o([r[k] for r in rows]) for k in ("customer_id", "customer_name", "email", "phone", "street", "city",
                                                      "postal_code", "country", "vat_id")}
        cols |= {"created_at": created, "updated_at": upd_ts}
        header = None
        if m >= V2_FROM:
            cols["phone_number"] = cols.pop("phone")
            cols["segment"] = _o([r["segment"] for r in rows])
            header = ["customer_id", "customer_name", "email", "phone_number", "street", "city", "postal_code",
                      "country", "vat_id", "created_at", "updated_at", "segment"]
            drift.append(("erp", "customers", f"erp/customers/customers_{MONTHS[m]}.csv", 2,
                          "phone renamed to phone_number; column segment added"))
        landing.write("erp", "customers", MONTHS[m], cols, header=header)
    for c in world.erp_customers:
        truth.rows("entities.csv", [("customer", "erp", "customers", c["customer_id"], c["true_id"])])
    return drift


def write_erp_suppliers_products(seed: int, world: World, landing: Landing, truth: Truth) -> None:
    rng = rng_for(seed, "erp-suppliers")
    sups = [dict(s, created_day=-int(rng.integers(100, 2000))) for s in world.suppliers if s["supplier_id"]]

    def mutate_s(r: np.random.Generator, rec: dict) -> None:
        rec["payment_terms_days"] = int(r.choice([14, 30, 45, 60]))

    for j, m in enumerate(QUARTERLY):
        rows, upd = _new_and_updated(rng, sups, m, 0.15, mutate_s, QUARTERLY[j - 1] + 1 if j else None)
        if rows:
            landing.write("erp", "suppliers", MONTHS[m], {
                **{k: _o([r[k] for r in rows]) for k in ("supplier_id", "supplier_name", "vat_id", "email", "phone",
                                                         "street", "city", "country")},
                "payment_terms_days": np.array([r["payment_terms_days"] for r in rows]),
                "lead_time_days": np.array([r["lead_time_days"] for r in rows]), "updated_at": _ts(rng, upd)})
    truth.rows("entities.csv", [("supplier", "erp", "suppliers", s["supplier_id"], s["true_id"]) for s in sups])

    prods = world.products
    for m in range(len(MONTHS)):
        if m == 0:
            rows = [dict(p) for p in prods]
            upd = -rng.integers(1, 300, len(rows))
        else:
            rows = [dict(p, unit_price=round(p["unit_price"] * p["price_change"], 2),
                         unit_cost=round(p["unit_cost"] * p["price_change"], 2)) for p in prods if p["price_change_month"] == m]
            first, _ = month_bounds(m)
            upd = np.full(len(rows), first, dtype=np.int64) - 1  # effective from the 1st: keyed the day before
        if rows:
            landing.write("erp", "products", MONTHS[m], {
                **{k: _o([r[k] for r in rows]) for k in ("sku", "product_name", "category", "currency", "primary_supplier_id")},
                "unit_price": np.array([r["unit_price"] for r in rows]), "unit_cost": np.array([r["unit_cost"] for r in rows]),
                "active": np.ones(len(rows), dtype=bool), "updated_at": _ts(rng, upd)}, header=[
                "sku", "product_name", "category", "unit_price", "unit_cost", "currency", "primary_supplier_id", "active",
                "updated_at"])
    truth.rows("entities.csv", [("product", "erp", "products", p["sku"], p["true_id"]) for p in prods])


def write_crm_accounts(rng: np.random.Generator, world: World, landing: Landing, truth: Truth) -> list[dict]:
    """CRM account batches (a full export, then quarterly deltas) and their ground truth; returns the
    accounts as written. ``rng`` is the CRM stream, which write_crm continues with."""
    accs = [dict(a, created_day=min(a["created_day"], N_DAYS - 5)) for a in world.accounts]
    comp = {c["true_id"]: c for c in world.companies}

    def mutate_a(r: np.random.Generator, rec: dict) -> None:
        rec["phone"] = comp[rec["true_id"]]["phones"][int(r.integers(0, 5))]

    for j, m in enumerate(QUARTERLY):
        rows, upd = _new_and_updated(rng, accs, m, 0.05, mutate_a, QUARTERLY[j - 1] + 1 if j else None)
        if rows:
            created = _ts(rng, np.array([r["created_day"] for r in rows]))
            landing.write("crm", "accounts", MONTHS[m], {
                **{k: _o([r[k] for r in rows]) for k in ("account_id", "account_name", "website", "phone", "street", "city",
                                                         "postal_code", "country", "vat_number", "industry")},
                "created_at": created, "updated_at": np.maximum(created, _ts(rng, upd))})
    truth.rows("entities.csv", [("customer", "crm", "accounts", a["account_id"], a["true_id"]) for a in accs])
    return accs


def write_customer_masters(seed: int, scale: float, out: Path, truth_dir: Path) -> World:
    """Only the customer master exports of a generation -- ERP customers and CRM accounts, exactly as
    ``generate`` writes them at this seed and scale -- with their ground truth (entities.csv). For timing
    entity resolution at master sizes (thousands of customers) whose full generation would take hours."""
    world = build_world(seed, scale)
    truth = Truth(Path(truth_dir))
    landing = Landing(Path(out), rng_for(seed, "corruption"))
    write_erp_customers(seed, world, landing, truth)
    write_crm_accounts(rng_for(seed, "crm"), world, landing, truth)
    landing.close_all()
    truth.close()
    return world


def write_crm(seed: int, scale: float, world: World, demand: DemandModel, landing: Landing, truth: Truth) -> None:
    rng = rng_for(seed, "crm")
    accs = write_crm_accounts(rng, world, landing, truth)

    contacts = [dict(p, created_day=min(p["created_day"], N_DAYS - 5)) for p in world.people if p["contact_id"]]
    for j, m in enumerate(QUARTERLY):
        rows, _ = _new_and_updated(rng, contacts, m, 0.0, lambda r, x: None, QUARTERLY[j - 1] + 1 if j else None)
        if rows:
            landing.write("crm", "contacts", MONTHS[m], {
                "contact_id": _o([r["contact_id"] for r in rows]), "account_id": _o([r["account_id"] for r in rows]),
                "first_name": _o([r["first_name"] for r in rows]), "last_name": _o([r["last_name"] for r in rows]),
                "email": _o([V.email_variant(rng, r["email"]) for r in rows]), "phone": _o([r["phone"] for r in rows]),
                "title": _o([r["title"] for r in rows]), "created_at": _ts(rng, np.array([r["created_day"] for r in rows]))})
    truth.rows("entities.csv", [("customer", "crm", "contacts", c["contact_id"], c["true_id"]) for c in contacts])

    # Opportunities: pipeline activity, linear in scale.
    acc_ids = _o([a["account_id"] for a in accs])
    stages = np.array(["prospecting", "qualification", "proposal", "negotiation", "closed_won", "closed_lost"], dtype=object)
    n_opp = 0
    for m in range(len(MONTHS)):
        first, last = month_bounds(m)
        n = int(rng.poisson(25 * scale))
        created = rng.integers(first, last + 1, n)
        age = N_DAYS - created
        st = np.where(age > 90, stages[4 + (rng.random(n) < 0.45)], stages[rng.integers(0, 6, n)])
        acc = acc_ids[rng.integers(0, len(acc_ids), n)]
        cur = _o(["EUR"] * n)
        ids = _o([f"006{seed % 97:02d}{n_opp + k + 1:07d}" for k in range(n)])
        n_opp += n
        if n:
            landing.write("crm", "opportunities", MONTHS[m], {
                "opportunity_id": ids, "account_id": acc,
                "opportunity_name": _o([f"Deal {k + 1} - {s.replace('_', ' ')}" for k, s in enumerate(st)]),
                "stage": st, "amount": np.round(rng.lognormal(9, 1, n), 2), "currency": cur,
                "close_date": created + rng.integers(20, 120, n), "created_at": _ts(rng, created)})

    # Promotions: announced ~3 weeks before they start.
    promos = demand.promotions
    batch = np.clip(np.array([pr.start - 21 for pr in promos]), 0, None)
    from sme_sim.timeutil import month_of_day
    bm = month_of_day(batch) if len(promos) else np.array([], dtype=np.int64)
    for m in sorted(set(bm.tolist())):
        sel = [pr for pr, b in zip(promos, bm.tolist()) if b == m]
        landing.write("crm", "promotions", MONTHS[m], {
            "promotion_id": _o([p.promotion_id for p in sel]), "promotion_name": _o([p.name for p in sel]),
            "channel": _o([p.channel for p in sel]), "sku": _o([p.sku for p in sel]),
            "discount_pct": np.array([p.discount_pct for p in sel]), "start_date": np.array([p.start for p in sel]),
            "end_date": np.array([p.end for p in sel])})
    truth.table("promotions.csv", ["promotion_id", "sku", "start_date", "end_date", "discount_pct", "true_uplift"],
                [(p.promotion_id, p.sku, _iso(p.start), _iso(p.end), p.discount_pct, p.uplift) for p in promos])


def _iso(day: int) -> str:
    from sme_sim.timeutil import day_to_date
    return day_to_date(day).isoformat()
