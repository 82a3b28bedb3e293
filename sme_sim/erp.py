"""ERP operations, simulated day by day: demand realised as order lines, stock depleted (censoring
sales at stockouts), weekly supplier reviews raising purchase orders, split deliveries received.

The per-day loop is over numpy vectors of all SKU x location series (no loop per order line); lines
are collected per chunk of days and written, then dropped, so memory is bounded by the chunk size.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from sme_sim import vocab as V
from sme_sim.demand import DemandModel
from sme_sim.entities import World
from sme_sim.frames import EventQueue, batch_keys
from sme_sim.seeds import rng_for
from sme_sim.timeutil import N_DAYS, month_of_day, next_weekday, weekday_of
from sme_sim.truth import Truth
from sme_sim.writers import Landing

H = 256  # ring-buffer horizon for scheduled deliveries (> max lead time + delays + splits)
LATE_RATE = 0.02


class ErpSim:
    def __init__(self, seed: int, scale: float, world: World, demand: DemandModel, landing: Landing, truth: Truth):
        self.seed, self.world, self.dm, self.landing, self.truth = seed, world, demand, landing, truth
        rng = rng_for(seed, "erp-init")
        P, L = demand.P, demand.L
        self.P, self.L, self.S = P, L, P * L
        prods = world.products
        sup_by_true = {s["true_id"]: s for s in world.suppliers}
        self.sup_of_p = [sup_by_true[p["supplier_true"]] for p in prods]
        self.sup_ids = sorted({s["true_id"] for s in self.sup_of_p})
        self.p_sup = np.array([self.sup_ids.index(s["true_id"]) for s in self.sup_of_p])
        self.review_dow = np.array([s["review_dow"] for s in self.sup_of_p])
        lead = np.array([s["lead_time_days"] for s in self.sup_of_p], dtype=float)
        base = (demand.lines_rate * demand.mean_qty)[:, None] * demand.loc_share  # (P, L) units/day
        # Planners size stock on the seasonal level they know (no promos, no regime change); a few
        # products are run lean on purpose. Stockouts then come from promos, supplier delays, shifts.
        self.safety = np.repeat(np.where(rng.random(P) < 0.3, rng.uniform(-0.8, -0.3, P), rng.uniform(0.0, 0.6, P)), L)
        self.cover = np.repeat(lead + 7, L)
        self.cycle = np.repeat(rng.uniform(35, 75, P), L)
        self.rop = np.ceil((base.ravel() * self.cover * (1 + self.safety)) + 1)
        self.up_to = np.ceil(self.rop + base.ravel() * self.cycle)
        self.on_hand = np.floor(self.up_to * rng.uniform(0.5, 1.0, self.S)).astype(np.int64)
        self.on_order = np.zeros(self.S, dtype=np.int64)
        self.arrivals = np.zeros((H, self.S), dtype=np.int64)
        self.mean_qty_s = np.repeat(demand.mean_qty, L)
        self.skus = np.array([p["sku"] for p in prods], dtype=object)
        self.locs = np.array([loc[0] for loc in world.locations], dtype=object)
        price = np.array([p["unit_price"] for p in prods])
        fx_p = np.array([V.FX_FROM_EUR[p["currency"]] for p in prods])
        self.price_eur, self.cost = price / fx_p, np.array([p["unit_cost"] for p in prods])
        self.change_month = np.array([p["price_change_month"] for p in prods])
        self.change = np.array([p["price_change"] for p in prods])
        self.p_currency = np.array([p["currency"] for p in prods], dtype=object)
        # customers eligible for orders; in-system duplicates take part of their company's orders
        comp = {c["true_id"]: c for c in world.companies}
        ec = world.erp_customers
        self.cust_ids = np.array([c["customer_id"] for c in ec], dtype=object)
        self.cust_true = np.array([c["true_id"] for c in ec], dtype=object)
        self.cust_created = np.array([c["created_day"] for c in ec])
        self.cust_w = np.array([comp[c["true_id"]]["weight"] * (0.3 if c["is_dup"] else 1.0) for c in ec])
        self.cust_cur = np.array([V.CURRENCY[c["country"]] for c in ec], dtype=object)
        self.cust_disc = np.array([comp[c["true_id"]]["discount"] for c in ec])
        self.cust_country = np.array([c["country"] for c in ec], dtype=object)
        self.n_so = self.n_po = self.n_line_uid = 0
        self.lead_p = lead
        self.sd_p = np.array([s["delay_sd"] for s in self.sup_of_p])
        self.gr_queue = EventQueue()

    def price_factor(self, days: np.ndarray, p: np.ndarray) -> np.ndarray:
        m = month_of_day(days)
        return np.where((self.change_month[p] >= 0) & (m >= self.change_month[p]), self.change[p], 1.0)

    # ---------------------------------------------------------------------------------------------
    def run_chunk(self, d0: int, d1: int) -> dict[str, pd.DataFrame | None]:
        rng = rng_for(self.seed, "erp-chunk", d0)
        means = self.dm.means(d0, d1)  # (D, P, L)
        line_parts, po_parts, snap_parts = [], [], []
        stockout = np.zeros((d1 - d0 + 1, self.S), dtype=bool)
        S_idx = np.arange(self.S)
        dow_all = weekday_of(np.arange(d0, d1 + 1))
        for i, d in enumerate(range(d0, d1 + 1)):
            got = self.arrivals[d % H]
            self.on_hand += got
            self.on_order -= got
            self.arrivals[d % H] = 0
            m = means[i].ravel()
            n = rng.poisson(m / self.mean_qty_s)
            series = np.repeat(S_idx, n)
            qty = 1 + rng.poisson(self.mean_qty_s[series] - 1)
            csum = np.cumsum(qty)
            first = np.cumsum(n) - n
            before = (csum - qty)[np.minimum(first, max(len(qty) - 1, 0))] if len(qty) else np.zeros(self.S, np.int64)
            within = csum - before[series] if len(qty) else csum
            served = within <= self.on_hand[series]
            lost = np.bincount(series[~served], minlength=self.S) > 0
            stockout[i] = lost | (self.on_hand <= 0)
            self.on_hand -= np.bincount(series[served], weights=qty[served], minlength=self.S).astype(np.int64)
            p = series[served] // self.L
            promo = self.dm.promo_idx[d, p]
            promo = np.where(rng.random(len(p)) < 0.9, promo, -1)
            line_parts.append(pd.DataFrame({"day": d, "p": p, "l": series[served] % self.L,
                                            "qty": qty[served], "promo": promo}))
            level = (means[i] / self.dm.uplift[d][:, None] / self.dm.weekly[:, dow_all[i]][:, None]).ravel()
            # lines are lumpy (a line of fasteners is ~10 units): always cover a couple of lines
            self.rop = np.ceil(level * self.cover * (1 + self.safety) + 2 * self.mean_qty_s)
            self.up_to = np.ceil(self.rop + np.maximum(level * self.cycle, 2 * self.mean_qty_s))
            po_parts.append(self._reorder(rng, d))
            if weekday_of(np.array([d]))[0] == 6:  # weekly stock snapshot, Sunday end of day
                snap_parts.append(pd.DataFrame({"day": d, "s": S_idx, "on_hand": self.on_hand.copy(),
                                                "on_order": self.on_order.copy()}))
        self._write_demand_truth(d0, d1, means, stockout)
        self._write_snapshots(snap_parts)
        self._write_purchasing(rng, po_parts)
        orders = self._write_sales(rng, pd.concat(line_parts, ignore_index=True), d0)
        receipts = self._emit_receipts(d1)
        return {"orders": orders, "receipts": receipts}

    def _reorder(self, rng: np.random.Generator, d: int) -> tuple[pd.DataFrame, pd.DataFrame] | None:
        """Weekly review per supplier: order up to target where inventory position <= reorder point.
        Deliveries are scheduled right away (the ring buffer must know them before their day comes)."""
        dow = int(weekday_of(np.array([d]))[0])
        reviewing = np.repeat(self.review_dow == dow, self.L)
        pos = self.on_hand + self.on_order
        need = np.flatnonzero(reviewing & (pos <= self.rop))
        if not len(need):
            return None
        q = np.maximum(1, (self.up_to[need] - pos[need])).astype(np.int64)
        p, loc = need // self.L, need % self.L
        _, ginv = np.unique(self.p_sup[p] * 10 + loc, return_inverse=True)
        canc = (rng.random(int(ginv.max()) + 1) < 0.01)[ginv]  # 1% of POs get cancelled
        self.on_order[need[~canc]] += q[~canc]
        # Supplier lead time with noise; 15% of lines delivered in 2-3 parts (split deliveries).
        delay = np.maximum(1, np.round(self.lead_p[p] + rng.normal(0, 1, len(p)) * self.sd_p[p])).astype(np.int64)
        arrive = next_weekday(d + delay)
        parts = np.minimum(np.where(rng.random(len(p)) < 0.15, rng.integers(2, 4, len(p)), 1), q)
        rl = np.repeat(np.arange(len(p)), parts)
        k = np.arange(len(rl)) - np.repeat(np.cumsum(parts) - parts, parts)
        rq = q[rl] // parts[rl] + (k < q[rl] % parts[rl])
        rday = next_weekday(arrive[rl] + k * rng.integers(2, 11, len(rl)))
        ok = ~canc[rl] & (rday <= N_DAYS - 1)
        np.add.at(self.arrivals, (rday[ok] % H, need[rl][ok]), rq[ok])
        uid = self.n_line_uid + np.arange(len(p))
        self.n_line_uid += len(p)
        lines = pd.DataFrame({"day": d, "s": need, "qty": q, "canc": canc, "uid": uid, "parts": parts})
        rec = pd.DataFrame({"uid": uid[rl], "day": rday, "qty": rq, "split": parts[rl] > 1, "ok": ok})
        return lines, rec

    def _write_purchasing(self, rng: np.random.Generator, parts: list) -> None:
        parts = [x for x in parts if x is not None]
        if not parts:
            return
        lines = pd.concat([x[0] for x in parts], ignore_index=True)
        allrec = pd.concat([x[1] for x in parts], ignore_index=True)
        p = (lines["s"] // self.L).to_numpy()
        lines["p"], lines["l"], lines["sup"] = p, (lines["s"] % self.L).to_numpy(), self.p_sup[p]
        lines = lines.sort_values(["day", "sup", "l", "p"], kind="stable").reset_index(drop=True)
        key = lines["day"].to_numpy() * 10**6 + lines["sup"].to_numpy() * 10 + lines["l"].to_numpy()
        start = np.r_[True, key[1:] != key[:-1]]
        po_idx = np.cumsum(start) - 1
        n_po = int(po_idx[-1]) + 1
        po_nums = np.array([f"PO-{self.n_po + k + 1:06d}" for k in range(n_po)], dtype=object)
        self.n_po += n_po
        starts = np.flatnonzero(start)
        lines["po_number"] = po_nums[po_idx]
        lines["line_no"] = np.arange(len(lines)) - starts[po_idx] + 1
        p = lines["p"].to_numpy()
        lines["unit_cost"] = np.round(self.cost[p] * self.price_factor(lines["day"].to_numpy(), p), 2)
        lines["sku"] = self.skus[p]
        cancelled_po = lines["canc"].to_numpy()[starts]
        cancelled = lines["canc"].to_numpy()
        parts = lines["parts"].to_numpy()
        info = lines.set_index("uid")[["po_number", "line_no", "p", "l", "unit_cost", "sup"]]
        rec = allrec[allrec["ok"].to_numpy()].join(info, on="uid").rename(columns={"line_no": "po_line_no"})
        rec = rec.sort_values(["day", "po_number", "po_line_no"], kind="stable").reset_index(drop=True)
        self.gr_queue.push(rec)
        # Header status as of the extract date follows from which receipts happen within the period.
        last_rec = rec.groupby("po_number")["day"].max()
        n_rec = rec.groupby("po_number").size()
        exp_n = pd.Series(parts[~cancelled], index=lines["po_number"].to_numpy()[~cancelled]).groupby(level=0).sum()
        hdr = lines.loc[starts, ["po_number", "day", "sup"]].reset_index(drop=True)
        hdr_lead = np.array([self.sup_of_p[k]["lead_time_days"] for k in p[starts].tolist()])
        got, want = n_rec.reindex(hdr["po_number"]).fillna(0).to_numpy(), exp_n.reindex(hdr["po_number"]).fillna(0).to_numpy()
        last = last_rec.reindex(hdr["po_number"]).fillna(-1).to_numpy()
        status = np.where(got == 0, "open", np.where(got < want, "partially_received",
                          np.where(last <= N_DAYS - 31, "closed", "received")))
        status = np.where(cancelled_po, "cancelled", status).astype(object)
        sup_ids = np.array([s["supplier_id"] for s in self.sup_of_p], dtype=object)
        keys, _ = batch_keys(hdr["day"].to_numpy())
        hdr_cols = {"po_number": hdr["po_number"].to_numpy(), "supplier_id": sup_ids[p[starts]],
                    "order_date": hdr["day"].to_numpy(), "expected_date": hdr["day"].to_numpy() + hdr_lead,
                    "status": status, "currency": self.p_currency[p[starts]]}
        self.landing.write("erp", "purchase_orders", keys, hdr_cols)
        lkeys, _ = batch_keys(lines["day"].to_numpy())
        self.landing.write("erp", "purchase_order_lines", lkeys, {
                "po_number": lines["po_number"].to_numpy(dtype=object), "line_no": lines["line_no"].to_numpy(),
                "sku": lines["sku"].to_numpy(dtype=object), "quantity": lines["qty"].to_numpy(),
                "unit_cost": lines["unit_cost"].to_numpy()})

    def _emit_receipts(self, d1: int) -> pd.DataFrame | None:
        rec = self.gr_queue.pop(d1)
        if rec is None:
            return None
        n0 = self.truth.counters.get("gr", 0)
        rec["receipt_id"] = [f"GR-{n0 + k + 1:07d}" for k in range(len(rec))]
        self.truth.counters["gr"] = n0 + len(rec)
        rec["sku"] = self.skus[rec["p"].to_numpy()]
        rec["location_id"] = self.locs[rec["l"].to_numpy()]
        keys, _ = batch_keys(rec["day"].to_numpy(), rng_for(self.seed, "gr-late", d1), LATE_RATE)
        self.landing.write("erp", "goods_receipts", keys, {
            "receipt_id": rec["receipt_id"].to_numpy(dtype=object), "po_number": rec["po_number"].to_numpy(dtype=object),
            "po_line_no": rec["po_line_no"].to_numpy(), "sku": rec["sku"].to_numpy(dtype=object),
            "quantity_received": rec["qty"].to_numpy(), "received_date": rec["day"].to_numpy(),
            "location_id": rec["location_id"].to_numpy(dtype=object)})
        return rec

    def _write_sales(self, rng: np.random.Generator, lines: pd.DataFrame, d0: int) -> pd.DataFrame | None:
        if not len(lines):
            return None
        lines["r"] = rng.random(len(lines))
        lines = lines.sort_values(["day", "l", "r"], kind="stable").reset_index(drop=True)
        key = lines["day"].to_numpy() * 8 + lines["l"].to_numpy()
        start = np.r_[True, key[1:] != key[:-1]] | (rng.random(len(lines)) < 0.22)
        o_idx = np.cumsum(start) - 1
        starts = np.flatnonzero(start)
        n_o = len(starts)
        elig = np.flatnonzero(self.cust_created <= d0)
        w = self.cust_w[elig] / self.cust_w[elig].sum()
        cust = elig[rng.choice(len(elig), n_o, p=w)]
        o_ids = np.array([f"SO-{self.n_so + k + 1:07d}" for k in range(n_o)], dtype=object)
        self.n_so += n_o
        day_o = lines["day"].to_numpy()[starts]
        p = lines["p"].to_numpy()
        c_line = cust[o_idx]
        cur = self.cust_cur[c_line]
        fx = np.array([V.FX_FROM_EUR[c] for c in ("EUR", "GBP", "USD")])
        fx_line = fx[np.searchsorted(np.array(["EUR", "GBP", "USD"]), cur.astype(str))]
        price = np.round(self.price_eur[p] * self.price_factor(lines["day"].to_numpy(), p) * fx_line, 2)
        promo = lines["promo"].to_numpy()
        promo_disc = np.array([pr.discount_pct for pr in self.dm.promotions] + [0.0])[promo]
        disc = np.where(promo >= 0, promo_disc, self.cust_disc[c_line])
        promo_ids = np.array([pr.promotion_id for pr in self.dm.promotions] + [None], dtype=object)[promo]
        age = (N_DAYS - 1) - day_o
        status = np.where(age > 10, "invoiced", np.where(age > 3, "shipped", "open")).astype(object)
        status[rng.random(n_o) < 0.015] = "cancelled"
        late_o = rng.random(n_o) < LATE_RATE
        okeys, _ = batch_keys(day_o, late_mask=late_o)
        upd = day_o * 86400 + np.where(status == "invoiced", 8, np.where(status == "shipped", 3, 0)) * 86400 \
            + rng.integers(7 * 3600, 19 * 3600, n_o)
        upd = np.minimum(upd, N_DAYS * 86400 - 60)
        self.landing.write("erp", "sales_orders", okeys, {
            "order_id": o_ids, "customer_id": self.cust_ids[cust], "order_date": day_o,
            "requested_date": day_o + rng.integers(2, 15, n_o), "location_id": self.locs[lines["l"].to_numpy()[starts]],
            "status": status, "currency": self.cust_cur[cust], "updated_at": upd})
        self.landing.write("erp", "sales_order_lines", okeys[o_idx], {
            "order_id": o_ids[o_idx], "line_no": np.arange(len(lines)) - starts[o_idx] + 1,
            "sku": self.skus[p], "quantity": lines["qty"].to_numpy(), "unit_price": price,
            "discount_pct": disc, "promotion_id": promo_ids})
        net = np.bincount(o_idx, weights=lines["qty"].to_numpy() * price * (1 - disc / 100), minlength=n_o)
        return pd.DataFrame({"order_id": o_ids, "day": day_o, "cust": cust, "true_id": self.cust_true[cust],
                             "currency": self.cust_cur[cust], "country": self.cust_country[cust],
                             "net": np.round(net, 2), "status": status})

    def _write_snapshots(self, parts: list[pd.DataFrame]) -> None:
        if not parts:
            return
        snap = pd.concat(parts, ignore_index=True)
        s = snap["s"].to_numpy()
        keys, _ = batch_keys(snap["day"].to_numpy())
        self.landing.write("erp", "inventory_snapshots", keys, {
            "snapshot_date": snap["day"].to_numpy(), "location_id": self.locs[s % self.L],
            "sku": self.skus[s // self.L], "on_hand_qty": snap["on_hand"].to_numpy(),
            "on_order_qty": snap["on_order"].to_numpy()})

    def _write_demand_truth(self, d0: int, d1: int, means: np.ndarray, stockout: np.ndarray) -> None:
        D = d1 - d0 + 1
        days = np.repeat(np.arange(d0, d1 + 1), self.S)
        s = np.tile(np.arange(self.S), D)
        self.truth.append_demand(days, self.skus[s // self.L], self.locs[s % self.L], means.reshape(-1), stockout.reshape(-1))
