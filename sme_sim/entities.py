"""The true world (companies, people, suppliers, products) and how each source system keys it.

Masters are small (they grow sub-linearly with scale), so plain Python records are fine here.
Every source record carries its true id, which is what the ground truth `entities.csv` is built from.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sme_sim import vocab as V
from sme_sim.seeds import rng_for, unique_codes, unique_numbers

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class World:
    companies: list[dict]          # true customer companies (ERP customers + CRM-only prospects)
    erp_customers: list[dict]      # includes in-system duplicates
    accounts: list[dict]           # CRM accounts
    people: list[dict]             # people at companies; CRM contacts have a contact_id
    debtors: dict[str, dict]       # true company id -> finance debtor
    suppliers: list[dict]          # true suppliers (ERP suppliers + service vendors)
    vendors: list[dict]            # finance vendor accounts (some suppliers have two)
    products: list[dict]
    locations: list[tuple[str, str]] = field(default_factory=lambda: list(V.LOCATIONS))


def sizes(scale: float) -> dict[str, int]:
    """Master-data sizes: sub-linear in scale (a 500x bigger business has more, not 500x more, SKUs)."""
    return {
        "customers": max(30, round(300 * scale ** 0.6)),
        "suppliers": max(8, round(40 * scale ** 0.4)),
        "products": max(20, round(150 * scale ** 0.4)),
    }


def _company_names(rng: np.random.Generator, n: int, countries: list[str]) -> list[tuple[str, str, str]]:
    """(stem, full name, legal form), unique full names."""
    out, seen = [], set()
    for i in range(n):
        c = countries[i]
        while True:
            stem = V.COMPANY_STEMS[int(rng.integers(len(V.COMPANY_STEMS)))]
            sector = V.SECTOR_WORDS[int(rng.integers(len(V.SECTOR_WORDS)))]
            legal = V.LEGAL_FORMS[c][int(rng.integers(len(V.LEGAL_FORMS[c])))]
            base = f"{stem} {sector}"
            if base in seen:  # large scales run out of combinations: qualify with a city, then a number
                base = f"{stem} {sector} {V.CITIES[c][int(rng.integers(len(V.CITIES[c])))][0]}"
            if base in seen:
                base = f"{stem} {sector} {int(rng.integers(2, 999))}"
            if base not in seen:
                seen.add(base)
                out.append((stem, f"{base} {legal}", legal))
                break
    return out


def _phone(rng: np.random.Generator, country: str, area: str) -> tuple[str, list[str]]:
    digits = 7 if country != "FR" else 8 - len(area) + 1
    number = "".join(str(int(d)) for d in rng.integers(0, 10, digits))
    if country == "US":
        number = "555" + number[:4]
    return number, V.phone_formats(country, area, number)


def build_companies(seed: int, scale: float) -> tuple[list[dict], list[dict], list[dict], list[dict], dict[str, dict]]:
    rng = rng_for(seed, "companies")
    n_cust = sizes(scale)["customers"]
    n_prospects = max(5, n_cust // 4)
    n = n_cust + n_prospects
    countries = [str(c) for c in rng.choice(V.COUNTRIES, size=n, p=V.COUNTRY_WEIGHTS)]
    names = _company_names(rng, n, countries)
    companies = []
    domains: set[str] = set()
    for i in range(n):
        c = countries[i]
        city, postal, area = V.CITIES[c][int(rng.integers(len(V.CITIES[c])))]
        street, street_abbr = V.street_for(rng, c)
        number, phones = _phone(rng, c, area)
        stem, full, legal = names[i]
        dom = V.slug(full.replace(legal, "")) + ".example"
        while dom in domains:
            dom = dom.replace(".example", "1.example")
        domains.add(dom)
        companies.append({
            "true_id": f"TC-{i + 1:05d}", "country": c, "stem": stem, "name": full, "legal": legal,
            "city": city, "postal": postal, "street": street, "street_abbr": street_abbr, "phones": phones,
            "vat": V.vat_id(rng, c), "domain": dom, "is_customer": i < n_cust,
            "weight": float(rng.lognormal(0, 1.0)),
            "created_day": int(rng.integers(-2500, 0)) if rng.random() < 0.75 else int(rng.integers(0, 690)),
            "industry": V.INDUSTRIES[int(rng.integers(len(V.INDUSTRIES)))],
            "pay_delay": float(rng.gamma(2.0, 6.0)), "never_pays": bool(rng.random() < 0.02),
            "discount": float(rng.choice([0.0, 0.0, 2.0, 5.0, 10.0])),
            "segment": V.SEGMENTS[int(rng.integers(3))],
        })

    _make_it_hard(seed, companies)

    # ERP: every customer company, 3% keyed twice (variant spelling) -> in-system duplicates.
    cust = [co for co in companies if co["is_customer"]]
    dup = rng.random(len(cust)) < 0.03
    ids = unique_numbers(rng, len(cust) + int(dup.sum()), 10000, 100000)
    erp, k = [], 0
    for j, co in enumerate(cust):
        for variant in ([False, True] if dup[j] else [False]):
            created = co["created_day"] + (int(rng.integers(30, 400)) if variant else 0)
            name = V.name_variant(rng, co["stem"], co["name"], co["legal"]) if variant else co["name"]
            erp.append({
                "customer_id": f"C-{ids[k]:05d}", "true_id": co["true_id"], "customer_name": name,
                "email": V.email_variant(rng, co["mailbox"] or f"{'info' if variant else 'accounting'}@{co['domain']}"),
                "phone": co["phones"][int(rng.integers(0, 4))],
                "street": co["street"] if rng.random() < .7 else co["street_abbr"],
                "city": co["city"], "postal_code": co["postal"], "country": co["country"],
                "vat_id": None if rng.random() < 0.15 else (
                    co["vat"] if rng.random() < .8 else V.vat_variant(rng, co["vat"] or "")),
                "created_day": min(created, 700), "is_dup": variant, "segment": co["segment"],
            })
            k += 1
    erp.sort(key=lambda r: r["customer_id"])

    # CRM: 80% of customers plus all prospects, names/phones/addresses keyed differently.
    in_crm = [co for co in companies if (not co["is_customer"]) or rng.random() < 0.8]
    acc_ids = unique_codes(rng, len(in_crm), 9, B62)
    accounts = []
    for co, aid in zip(in_crm, acc_ids):
        accounts.append({
            "account_id": "001" + aid, "true_id": co["true_id"],
            "account_name": V.name_variant(rng, co["stem"], co["name"], co["legal"]) if rng.random() < 0.6 else co["name"],
            "website": f"https://www.{co['domain']}" if rng.random() < 0.85 and not co["mailbox"] else None,
            "phone": co["phones"][int(rng.integers(0, 5))] if rng.random() < 0.9 else None,
            "street": co["street_abbr"] if rng.random() < 0.6 else co["street"], "city": co["city"],
            "postal_code": co["postal"], "country": co["country"],
            "vat_number": None if rng.random() < 0.35 else V.vat_variant(rng, co["vat"] or ""),
            "industry": co["industry"], "created_day": co["created_day"] + int(rng.integers(-60, 60)),
        })

    # People: CRM contacts at CRM accounts plus people the CRM never heard of (they still open tickets).
    people = []
    crm_true = {a["true_id"]: a["account_id"] for a in accounts}
    pid = 0
    contact_ids = iter(unique_codes(rng, 6 * len(companies) + 10, 9, B62))
    for co in companies:
        for _ in range(int(rng.integers(1, 5))):
            c = co["country"]
            first = V.FIRST_NAMES[c][int(rng.integers(len(V.FIRST_NAMES[c])))]
            last = V.LAST_NAMES[c][int(rng.integers(len(V.LAST_NAMES[c])))]
            local = f"{V.slug(first)}.{V.slug(last)}"
            in_crm_contact = co["true_id"] in crm_true and rng.random() < 0.75
            pid += 1
            people.append({
                "person": pid, "true_id": co["true_id"], "first_name": first, "last_name": last,
                "email": _person_email(co, local, pid), "contact_id": ("003" + next(contact_ids)) if in_crm_contact else None,
                "account_id": crm_true.get(co["true_id"]), "phone": co["phones"][int(rng.integers(0, 5))],
                "title": V.TITLES[int(rng.integers(len(V.TITLES)))],
                "created_day": max(co["created_day"], -2500) + int(rng.integers(0, 200)),
            })

    # Finance debtors: one account per invoiced company, with its own spelling of the name.
    debtor_ids = unique_numbers(rng, len(cust), 10000, 100000)
    debtors = {}
    for co, did in zip(cust, debtor_ids):
        debtors[co["true_id"]] = {
            "debtor_id": f"D-{did:05d}",
            "debtor_name": V.name_variant(rng, co["stem"], co["name"], co["legal"]) if rng.random() < 0.5 else co["name"],
            "debtor_vat_id": None if rng.random() < 0.25 else V.vat_variant(rng, co["vat"] or ""),
            "debtor_email": V.email_variant(rng, co["mailbox"] or f"invoices@{co['domain']}"),
            "bank_name": co["name"].upper().replace(".", ""),  # how the bank statement spells it
            "iban": (f"{co['country'] if co['country'] != 'US' else 'DE'}{int(rng.integers(10, 99))}"
                     f"{int(rng.integers(10**15, 10**16))}"),
        }
    _vat_slips(seed, erp, accounts, debtors)
    return companies, erp, accounts, people, debtors


def _make_it_hard(seed: int, companies: list[dict]) -> None:
    """What real masters have and a clean generator would not (own random stream, so the rest of the
    world stays as it was): person-named sole traders, firms on a public mailbox with no domain or website
    of their own (several firms then share a domain), firms without a VAT id, and different firms with
    near-identical names (same words, another legal form, another town)."""
    rng = rng_for(seed, "companies-hard")
    names = {co["name"] for co in companies}
    domains = {co["domain"] for co in companies}
    for i, co in enumerate(companies):
        c = co["country"]
        before = co["name"]
        u = rng.random(4)
        co["mailbox"] = None
        if u[0] < 0.08:  # sole trader: the owner's name is the firm's name
            first = V.FIRST_NAMES[c][int(rng.integers(len(V.FIRST_NAMES[c])))]
            last = V.LAST_NAMES[c][int(rng.integers(len(V.LAST_NAMES[c])))]
            trade = V.SOLE_TRADES[c][int(rng.integers(len(V.SOLE_TRADES[c])))] if rng.random() < 0.6 else ""
            legal = V.SOLE_LEGAL[c][int(rng.integers(len(V.SOLE_LEGAL[c])))]
            name = " ".join(p for p in (first, last, trade, legal) if p)
            if name in names:
                continue
            names.discard(co["name"])
            names.add(name)
            co.update(name=name, stem=f"{first} {last}", legal=legal, owner=(first, last))
            if rng.random() < 0.8:
                u[2] = 0.0  # mostly on a public mailbox
            if rng.random() < 0.7:
                co["vat"] = None
        elif u[1] < 0.05 and i > 0:  # another firm's words, another legal form (a namesake elsewhere)
            other = companies[int(rng.integers(i))]
            if other.get("owner"):
                continue
            base = other["name"].replace(other["legal"], "").strip() if other["legal"] else other["name"]
            forms = [f for f in dict.fromkeys(V.LEGAL_FORMS[c]) if f"{base} {f}" not in names]
            if not forms:
                continue
            legal = forms[int(rng.integers(len(forms)))]
            names.discard(co["name"])
            co.update(name=f"{base} {legal}", stem=other["stem"], legal=legal)
            names.add(co["name"])
        local = V.slug(co["name"].replace(co["legal"], "") if co["legal"] else co["name"])
        if u[2] < 0.10:
            provider = V.MAILBOX_DOMAINS[c][int(rng.integers(len(V.MAILBOX_DOMAINS[c])))]
            co.update(domain=provider, mailbox=f"{local}@{provider}")
        elif co["name"] != before:  # renamed: a domain of the new name
            domain = f"{local}.example"
            while domain in domains:
                domain = domain.replace(".example", "1.example")
            domains.add(domain)
            co["domain"] = domain
        if u[3] < 0.08:
            co["vat"] = None


def _person_email(co: dict, local: str, pid: int) -> str:
    """A person's address: at the company domain; on a public mailbox, the firm's shared mailbox or a
    private address there; a sole trader's own address is the firm's."""
    if not co["mailbox"]:
        return f"{local}@{co['domain']}"
    if co.get("owner") or pid % 5 < 3:
        return co["mailbox"]
    return f"{local}{pid % 97:02d}@{co['domain']}"


def _vat_slips(seed: int, erp: list[dict], accounts: list[dict], debtors: dict[str, dict]) -> None:
    """Typos in VAT ids as keyed (4% of the records that have one); no VAT id where the firm has none."""
    rng = rng_for(seed, "vat-slips")
    for rec, key in [*((r, "vat_id") for r in erp), *((a, "vat_number") for a in accounts),
                     *((d, "debtor_vat_id") for d in debtors.values())]:
        if rec[key] == "":
            rec[key] = None
        if rec[key] and rng.random() < 0.04:
            rec[key] = V.vat_typo(rng, rec[key])


SERVICE_VENDORS = [("Immobilien Verwaltung Spree GmbH", "rent"), ("Stadtwerke Energie AG", "utilities"),
                   ("CloudDesk Software Ltd", "software"), ("Allianz Gewerbeversicherung", "insurance"),
                   ("Telekom Business", "telecom"), ("Kurier Express Logistik GmbH", "freight")]


def build_suppliers(seed: int, scale: float) -> tuple[list[dict], list[dict]]:
    rng = rng_for(seed, "suppliers")
    n = sizes(scale)["suppliers"]
    countries = [str(c) for c in rng.choice(V.COUNTRIES, size=n, p=[0.6, 0.1, 0.12, 0.1, 0.08])]
    names = _company_names(rng, n, countries)
    sids = unique_numbers(rng, n, 1000, 10000)
    suppliers = []
    for i in range(n):
        c = countries[i]
        city, _postal, area = V.CITIES[c][int(rng.integers(len(V.CITIES[c])))]
        street, street_abbr = V.street_for(rng, c)
        _num, phones = _phone(rng, c, area)
        stem, full, legal = names[i]
        suppliers.append({
            "true_id": f"TS-{i + 1:04d}", "supplier_id": f"S-{sids[i]:04d}", "supplier_name": full, "stem": stem,
            "legal": legal, "vat_id": V.vat_id(rng, c), "email": f"orders@{V.slug(full.replace(legal, ''))}.example",
            "phone": phones[int(rng.integers(0, 5))], "street": street, "street_abbr": street_abbr, "city": city,
            "country": c, "payment_terms_days": int(rng.choice([14, 30, 30, 45, 60])),
            "lead_time_days": int(rng.integers(5, 36)), "review_dow": int(rng.integers(0, 5)),
            "delay_sd": float(rng.uniform(0.5, 6.0)), "service": None,
            "iban": f"DE{int(rng.integers(10, 99))}{int(rng.integers(10**15, 10**16))}",
        })
    for j, (name, kind) in enumerate(SERVICE_VENDORS):
        suppliers.append({"true_id": f"TS-{n + j + 1:04d}", "supplier_id": None, "supplier_name": name,
                          "stem": name.split()[0], "legal": "", "vat_id": V.vat_id(rng, "DE"), "country": "DE",
                          "payment_terms_days": 14, "service": kind,
                          "iban": f"DE{int(rng.integers(10, 99))}{int(rng.integers(10**15, 10**16))}"})
    vendors = []
    vids = iter(unique_numbers(rng, 2 * len(suppliers), 1000, 10000))
    for s in suppliers:
        # 5% of suppliers were set up twice by AP (classic duplicate vendor master).
        for second in ([False, True] if (s["service"] is None and rng.random() < 0.05) else [False]):
            vendors.append({
                "vendor_id": f"V-{next(vids):04d}", "true_id": s["true_id"], "second": second,
                "vendor_name": (V.name_variant(rng, s["stem"], s["supplier_name"], s["legal"])
                                if (second or rng.random() < 0.4) else s["supplier_name"]),
                "vendor_vat_id": None if rng.random() < 0.2 else (
                    V.vat_variant(rng, s["vat_id"]) if rng.random() < 0.5 else s["vat_id"]),
            })
    return suppliers, vendors


def build_products(seed: int, scale: float, suppliers: list[dict]) -> list[dict]:
    rng = rng_for(seed, "products")
    n = sizes(scale)["products"]
    goods_suppliers = [s for s in suppliers if s["service"] is None]
    products, seen_names, seen_skus = [], set(), set()
    for i in range(n):
        cat, prefix, nouns, base_price = V.PRODUCT_CATEGORIES[int(rng.integers(len(V.PRODUCT_CATEGORIES)))]
        while True:
            noun = nouns[int(rng.integers(len(nouns)))]
            name = f"{noun} {V.PRODUCT_ADJ[int(rng.integers(len(V.PRODUCT_ADJ)))]} {int(rng.integers(1, 99)) * 10}"
            sku = f"{prefix}-{int(rng.integers(1000, 10000))}"
            if name not in seen_names and sku not in seen_skus:
                break
        seen_names.add(name)
        seen_skus.add(sku)
        price = round(base_price * float(rng.lognormal(0, 0.35)), 2)
        sup = goods_suppliers[int(rng.integers(len(goods_suppliers)))]
        products.append({
            "true_id": f"TP-{i + 1:04d}", "sku": sku, "product_name": name, "category": cat,
            "unit_price": price, "unit_cost": round(price * float(rng.uniform(0.45, 0.7)), 2),
            "currency": "USD" if sup["country"] == "US" else "EUR",
            "supplier_true": sup["true_id"], "primary_supplier_id": sup["supplier_id"],
            "price_change_month": int(rng.integers(3, 24)) if rng.random() < 0.4 else -1,
            "price_change": float(rng.uniform(1.02, 1.08)),
        })
    return products


def build_world(seed: int, scale: float) -> World:
    companies, erp, accounts, people, debtors = build_companies(seed, scale)
    suppliers, vendors = build_suppliers(seed, scale)
    products = build_products(seed, scale, suppliers)
    return World(companies, erp, accounts, people, debtors, suppliers, vendors, products)
