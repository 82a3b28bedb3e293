"""Support desk: tickets from people at customer companies, with volume spikes when a product has a
defect incident, text correlated with the true category/priority, and agent labels that are
incomplete/noisy (the truth keeps the real ones). Also the knowledge base."""
from __future__ import annotations

import numpy as np

from sme_sim import support_text as T
from sme_sim import vocab as V
from sme_sim.demand import DemandModel
from sme_sim.entities import World
from sme_sim.frames import batch_keys
from sme_sim.seeds import rng_for
from sme_sim.timeutil import N_DAYS, NULL_TS, day_to_date, weekday_of
from sme_sim.truth import Truth
from sme_sim.writers import Landing

END_TS = N_DAYS * 86400 - 1


class SupportSim:
    def __init__(self, seed: int, scale: float, world: World, demand: DemandModel, landing: Landing, truth: Truth):
        self.seed, self.scale, self.world, self.landing, self.truth = seed, scale, world, landing, truth
        rng = rng_for(seed, "support-init")
        self.pop = demand.lines_rate / demand.lines_rate.sum()
        n_inc = max(2, round(4 * scale ** 0.3))
        self.incidents = []
        for k in range(n_inc):
            p = int(rng.choice(len(self.pop), p=self.pop))
            start = int(rng.integers(30, N_DAYS - 45))
            self.incidents.append({"incident_id": f"INC-{k + 1:03d}", "p": p, "start": start,
                                   "end": start + int(rng.integers(14, 43)), "rate": float(rng.uniform(1.0, 2.5)) * scale,
                                   "tickets": 0})
        comps = [c for c in world.companies if c["is_customer"]]
        self.comp_ids = [c["true_id"] for c in comps]
        w = np.array([c["weight"] for c in comps])
        self.comp_w = w / w.sum()
        self.people: dict[str, list[dict]] = {}
        for p in world.people:
            self.people.setdefault(p["true_id"], []).append(p)
        self.products = world.products
        self.n = 0

    def _mention(self, rng: np.random.Generator, p: int) -> str:
        prod = self.products[p]
        k = rng.random()
        if k < 0.3:
            return prod["sku"]
        if k < 0.4:
            return prod["sku"].lower().replace("-", "")
        if k < 0.65:
            return prod["product_name"]
        if k < 0.8:
            return prod["product_name"].lower()
        if k < 0.9:
            return V.typo(rng, prod["product_name"])
        return prod["product_name"].rsplit(" ", 2)[0] + " " + prod["product_name"].rsplit(" ", 1)[1]

    def run_chunk(self, d0: int, d1: int) -> None:
        rng = rng_for(self.seed, "support", d0)
        days = np.arange(d0, d1 + 1)
        wk = np.where(weekday_of(days) < 5, 1.2, 0.4)
        n_base = rng.poisson(3.2 * self.scale * wk)
        rows = []  # (day, incident index or -1)
        for d, n in zip(days.tolist(), n_base.tolist()):
            rows += [(d, -1)] * n
            for k, inc in enumerate(self.incidents):
                if inc["start"] <= d <= inc["end"]:
                    rows += [(d, k)] * int(rng.poisson(inc["rate"] * (1.0 if d % 7 < 5 else 0.5)))
        if not rows:
            return
        out = {k: [] for k in ("ticket_id", "customer_email", "customer_name", "subject", "body", "product_mentioned",
                               "category", "priority", "channel", "status", "resolution")}
        ts = {k: [] for k in ("created_at", "first_response_at", "resolved_at")}
        counts, labels, ents, days_out = [], [], [], []
        for d, inc in rows:
            self.n += 1
            tid = f"T-{self.n:07d}"
            comp = self.comp_ids[int(rng.choice(len(self.comp_ids), p=self.comp_w))]
            person = self.people[comp][int(rng.integers(len(self.people[comp])))]
            if inc >= 0:
                cat = T.CATEGORIES[int(rng.choice(6, p=T.INCIDENT_MIX))]
                p = self.incidents[inc]["p"]
                self.incidents[inc]["tickets"] += 1
            else:
                cat = T.CATEGORIES[int(rng.choice(6, p=T.BASE_MIX))]
                p = int(rng.choice(len(self.pop), p=self.pop))
            mentioned = inc >= 0 or rng.random() < T.MENTION_RATE[cat]
            pri = T.PRIORITIES[int(rng.choice(4, p=T.PRIORITY_MIX[cat]))]
            mention = self._mention(rng, p) if mentioned else None
            fill = {"prod": mention or "product", "so": f"SO-{int(rng.integers(1, 10**7)):07d}",
                    "ar": f"AR-{int(rng.integers(1, 10**7)):07d}", "symptom": T.SYMPTOMS[int(rng.integers(len(T.SYMPTOMS)))]}
            subj = T.SUBJECTS[cat][int(rng.integers(6))].format(**fill)
            if pri == "urgent" and rng.random() < 0.5:
                subj = "URGENT: " + subj
            body = (f"Hello, {T.BODIES[cat][int(rng.integers(3))].format(**fill)} "
                    f"{T.URGENCY[pri][int(rng.integers(3))]} Regards, {person['first_name']} {person['last_name']}")
            created = d * 86400 + int(rng.integers(7 * 3600, 19 * 3600))
            resp_h = {"urgent": 0.5, "high": 2, "normal": 6, "low": 16}[pri]
            first = created + int(rng.lognormal(np.log(resp_h * 3600), 0.6))
            resolved = first + int(rng.lognormal(np.log({"defect": 3, "return": 4}.get(cat, 1.5) * 86400), 0.8))
            status = ("closed" if resolved < END_TS - 7 * 86400 else "solved") if resolved <= END_TS else \
                (("pending" if rng.random() < 0.4 else "open") if first <= END_TS else "new")
            src_cat = None if rng.random() < 0.2 else (T.CATEGORIES[int(rng.integers(6))] if rng.random() < 0.07 else cat)
            src_pri = "normal" if rng.random() < 0.15 else pri
            out["ticket_id"].append(tid)
            out["customer_email"].append(V.email_variant(rng, person["email"]))
            out["customer_name"].append(f"{person['first_name']} {person['last_name']}" if rng.random() < 0.7 else None)
            out["subject"].append(subj)
            out["body"].append(body)
            out["product_mentioned"].append(mention)
            out["category"].append(src_cat)
            out["priority"].append(src_pri)
            out["channel"].append(["email", "web", "phone", "chat"][int(rng.choice(4, p=[0.5, 0.25, 0.15, 0.1]))])
            out["status"].append(status)
            out["resolution"].append(T.RESOLUTIONS[cat][int(rng.integers(3))] if status in ("solved", "closed") else None)
            ts["created_at"].append(created)
            ts["first_response_at"].append(first if first <= END_TS else NULL_TS)
            ts["resolved_at"].append(resolved if resolved <= END_TS else NULL_TS)
            counts.append(1 + int(rng.poisson(1.5 if cat in ("defect", "return") else 0.6)))
            true_sku = self.products[p]["true_id"] if mentioned else None
            incident_id = self.incidents[inc]["incident_id"] if inc >= 0 else None
            labels.append((tid, cat, pri, src_cat, src_pri, comp, true_sku, incident_id))
            ents.append(("customer", "support", "tickets", tid, comp))
            if mentioned:
                ents.append(("product", "support", "tickets", tid, true_sku))
            days_out.append(d)
        keys, _ = batch_keys(np.array(days_out), rng, 0.02)
        cols = {k: np.array(v, dtype=object) for k, v in out.items()}
        cols |= {k: np.array(v, dtype=np.int64) for k, v in ts.items()}
        cols["contact_count"] = np.array(counts, dtype=np.int64)
        self.landing.write("support", "tickets", keys, cols)
        self.truth.rows("ticket_labels.csv", labels)
        self.truth.rows("entities.csv", ents)

    def finish(self) -> None:
        self.truth.table("product_incidents.csv", ["incident_id", "sku", "true_product_id", "start_date", "end_date",
                                                   "extra_tickets_per_day", "n_tickets"],
                         [(i["incident_id"], self.products[i["p"]]["sku"], self.products[i["p"]]["true_id"],
                           day_to_date(i["start"]).isoformat(), day_to_date(i["end"]).isoformat(), round(i["rate"], 3),
                           i["tickets"]) for i in self.incidents])


def write_kb(seed: int, world: World, demand: DemandModel, landing: Landing) -> None:
    rng = rng_for(seed, "kb")
    arts = []
    for cat in T.CATEGORIES:
        for title in T.KB_TITLES[cat]:
            arts.append((title, cat, None))
    top = np.argsort(-demand.lines_rate, kind="stable")[: max(3, len(world.products) // 10)]
    for p in sorted(top.tolist()):
        prod = world.products[p]
        arts.append((f"Troubleshooting the {prod['product_name']}", "defect", prod["sku"]))
    ids = np.array([f"KB-{k + 1:04d}" for k in range(len(arts))], dtype=object)
    body = np.array([f"This article explains: {t.lower()}. Steps: check the basics, then contact support with your order number."
                     for t, _, _ in arts], dtype=object)
    cols = {"article_id": ids, "title": np.array([a[0] for a in arts], dtype=object), "body": body,
            "category": np.array([a[1] for a in arts], dtype=object), "sku": np.array([a[2] for a in arts], dtype=object),
            "updated_at": (-rng.integers(10, 400, len(arts))) * 86400 + rng.integers(0, 86400, len(arts))}
    landing.write("support", "kb_articles", "2024-01", cols)
    upd = np.flatnonzero(rng.random(len(arts)) < 0.2)
    if len(upd):
        sub = {k: v[upd] for k, v in cols.items()}
        sub["updated_at"] = 530 * 86400 + rng.integers(0, 86400 * 30, len(upd))
        landing.write("support", "kb_articles", "2025-06", sub)
