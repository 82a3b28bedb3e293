"""Accounting package: AR invoices from shipped orders, AP invoices from goods receipts (with the
matching problems AP clerks meet), payments both ways and the bank feed that carries them, plus
payroll/tax/fees and injected cash anomalies. Everything is scheduled through event queues keyed by
the day it happens, and written when the simulation reaches that day."""
from __future__ import annotations

import numpy as np
import pandas as pd

from sme_sim import vocab as V
from sme_sim.entities import World
from sme_sim.frames import EventQueue, batch_keys
from sme_sim.seeds import rng_for
from sme_sim.timeutil import N_DAYS, day_to_date, month_bounds, month_of_day, next_weekday, weekday_of
from sme_sim.truth import Truth
from sme_sim.writers import Landing

END = N_DAYS - 1
ACCOUNTS = {"EUR": "DE44500105175407324931", "GBP": "GB29NWBK60161331926819", "USD": "DE89370400440532013000"}
CARD_MERCHANTS = ["Amazon Business", "Shell Station", "Lufthansa", "Deutsche Bahn", "Hotel Adlon", "Office Depot",
                  "Google Workspace", "Staples"]
UNKNOWN_NAMES = ["Global Trade Consulting FZE", "QuickPay Services Ltd", "Nexus Holdings SRL", "A. Petrov", "Crypto Exchange OÜ"]


class FinanceSim:
    def __init__(self, seed: int, scale: float, world: World, landing: Landing, truth: Truth):
        self.seed, self.scale, self.world, self.landing, self.truth = seed, scale, world, landing, truth
        self.ar_q, self.ap_q, self.apl_q, self.pay_q = EventQueue(), EventQueue(), EventQueue(), EventQueue()
        self.n_ar = self.n_ap = self.n_pay = self.n_bt = 0
        self.balance = {"EUR": 250_000.0 * scale, "GBP": 20_000.0 * scale, "USD": 20_000.0 * scale}
        self.debtors_used: set[str] = set()
        self.vendors_used: set[str] = set()
        self.companies = {c["true_id"]: c for c in world.companies}
        self.suppliers = {s["true_id"]: s for s in world.suppliers}
        self.sup_ids = sorted({p["supplier_true"] for p in world.products})
        self.vendors: dict[str, list[dict]] = {}
        for v in world.vendors:
            self.vendors.setdefault(v["true_id"], []).append(v)
        self.recent_pos: dict[str, list[str]] = {}
        self.vinv_seq: dict[str, int] = {}
        self.product_names = np.array([p["product_name"] for p in world.products], dtype=object)
        self._skus = np.array([p["sku"] for p in world.products], dtype=object)

    def skus_of(self, p: np.ndarray) -> np.ndarray:
        return self._skus[p]

    # ------------------------------------------------------------------ AR
    def on_orders(self, orders: pd.DataFrame | None, d0: int) -> None:
        if orders is None:
            return
        rng = rng_for(self.seed, "ar", d0)
        o = orders[orders["status"] == "invoiced"].reset_index(drop=True)
        n = len(o)
        if not n:
            return
        inv_day = next_weekday(o["day"].to_numpy() + rng.integers(1, 6, n))
        ids = [f"AR-{self.n_ar + k + 1:07d}" for k in range(n)]
        self.n_ar += n
        tax = np.array([V.TAX_RATE[c] for c in o["country"]])
        total = np.round(o["net"].to_numpy() * (1 + tax), 2)
        due = inv_day + 30
        delay = np.array([self.companies[t]["pay_delay"] for t in o["true_id"]])
        never = np.array([self.companies[t]["never_pays"] for t in o["true_id"]])
        pay_day = next_weekday(np.maximum(inv_day + 1, due + np.round(rng.normal(delay - 8, 4))).astype(np.int64))
        paid = (~never) & (pay_day <= END)
        written_off = never & (due < END - 150)
        status = np.where(paid, "paid", np.where(due >= END, "open", np.where(written_off, "written_off", "overdue")))
        deb = [self.world.debtors[t] for t in o["true_id"]]
        self.debtors_used.update(d["debtor_id"] for d in deb)
        ar = pd.DataFrame({"day": inv_day, "invoice_id": ids, "debtor_id": [d["debtor_id"] for d in deb],
                           "debtor_name": [d["debtor_name"] for d in deb], "debtor_vat_id": [d["debtor_vat_id"] for d in deb],
                           "debtor_email": [d["debtor_email"] for d in deb],
                           "order_reference": np.where(rng.random(n) < 0.03, None, o["order_id"].to_numpy()),
                           "due_date": due, "currency": o["currency"].to_numpy(), "total_amount": total, "status": status})
        self.ar_q.push(ar)
        pay = pd.DataFrame({"day": pay_day, "direction": "incoming", "invoice_id": ids,
                            "name": [d["bank_name"] for d in deb], "iban": [d["iban"] for d in deb],
                            "amount": total, "currency": o["currency"].to_numpy(),
                            "method": np.where(rng.random(n) < 0.15, "direct_debit", "transfer"),
                            "reference": np.where(rng.random(n) < 0.7, ids,
                                                  [f"Rechnung {i[3:]} {d['debtor_name']}" for i, d in zip(ids, deb)]),
                            "dup": False})[paid]
        self.pay_q.push(pay)

    # ------------------------------------------------------------------ AP
    def _vendor(self, rng: np.random.Generator, true_id: str) -> dict:
        vs = self.vendors[true_id]
        return vs[1] if len(vs) > 1 and rng.random() < 0.3 else vs[0]

    def _vinv(self, true_id: str, day: int) -> str:
        k = self.vinv_seq.get(true_id, 0) + 1
        self.vinv_seq[true_id] = k
        tag = true_id[-3:]
        return f"{day_to_date(day).year}-{tag}{k:05d}" if int(tag) % 2 else f"INV{int(tag) * 7 % 97:02d}{k:06d}"

    def on_receipts(self, rec: pd.DataFrame | None, d0: int) -> None:
        if rec is None:
            return
        rng = rng_for(self.seed, "ap", d0)
        rec = rec.sort_values(["day", "po_number", "po_line_no"], kind="stable").reset_index(drop=True)
        # One invoice per (receipt day, PO): iterate group slices of plain arrays (pandas groupby
        # iteration is too slow at large scale).
        a_day, a_po = rec["day"].to_numpy(), rec["po_number"].to_numpy(dtype=object)
        a_sup, a_qty, a_cost = rec["sup"].to_numpy(), rec["qty"].to_numpy(), rec["unit_cost"].to_numpy()
        a_p, a_sku, a_split = rec["p"].to_numpy(), self.skus_of(rec["p"].to_numpy()), rec["split"].to_numpy(dtype=bool)
        brk = np.flatnonzero(np.r_[True, (a_day[1:] != a_day[:-1]) | (a_po[1:] != a_po[:-1]), True])
        heads, lines, matches = [], [], []
        for b0, b1 in zip(brk[:-1].tolist(), brk[1:].tolist()):
            day, po = int(a_day[b0]), str(a_po[b0])
            sup_true = self.sup_ids[int(a_sup[b0])]
            sup = self.suppliers[sup_true]
            inv_day = int(day) + int(rng.integers(0, 6))
            if inv_day > END:
                continue
            qty, cost, p = a_qty[b0:b1], a_cost[b0:b1], a_p[b0:b1]
            split = bool(a_split[b0:b1].any())
            u = rng.random()
            price = cost.copy()
            ref: str | None = str(po)
            scenario = "split_delivery" if split else "exact"
            if u < 0.04:
                digits = list(po)
                i = int(rng.integers(3, len(digits)))
                digits[i] = str((int(digits[i]) + int(rng.integers(1, 10))) % 10)
                ref, scenario = "".join(digits), "wrong_po_typo"
            elif u < 0.08 and [x for x in self.recent_pos.get(sup_true, []) if x != po]:
                others = [x for x in self.recent_pos[sup_true] if x != po]
                ref, scenario = others[int(rng.integers(len(others)))], "wrong_po_other"
            elif u < 0.15:
                ref, scenario = (None if rng.random() < 0.7 else "see delivery note"), "no_po"
            elif u < 0.21:
                price = np.round(cost * rng.uniform(1.06, 1.2, len(cost)), 2)
                scenario = "price_variance"
            self.recent_pos.setdefault(sup_true, []).append(str(po))
            self.recent_pos[sup_true] = self.recent_pos[sup_true][-6:]
            vend = self._vendor(rng, sup_true)
            desc = self.product_names[p]
            skus = np.where(rng.random(len(p)) < 0.2, None, a_sku[b0:b1])
            status_hint = "disputed" if scenario == "price_variance" and rng.random() < 0.5 else None
            inv = self._ap_invoice(rng, inv_day, sup, vend, ref, None,
                                   desc, skus, qty, price, status_hint, self._vinv(sup_true, inv_day))
            heads.append(inv[0])
            lines.extend(inv[1])
            matches.append((inv[0]["invoice_id"], str(po), scenario, None))
            if rng.random() < 0.03:  # the same vendor invoice re-sent and keyed again
                dup = self._ap_invoice(rng, inv_day, sup, vend, ref, None, desc, skus, qty, price,
                                       "dup", inv[0]["vendor_invoice_number"].replace("-", "") if rng.random() < .4
                                       else inv[0]["vendor_invoice_number"])
                dup[0]["day"] = min(END, inv[0]["day"] + int(rng.integers(7, 30)))
                heads.append(dup[0])
                lines.extend(dup[1])
                matches.append((dup[0]["invoice_id"], str(po), "duplicate", inv[0]["invoice_id"]))
        self.truth.rows("ap_invoice_matches.csv", matches)
        self._push_ap(heads, lines)

    def _ap_invoice(self, rng, inv_day, sup, vend, ref, _cur, desc, skus, qty, price, status_hint, vinv):
        invoice_id = f"AP-{self.n_ap + 1:07d}"
        self.n_ap += 1
        self.vendors_used.add(vend["vendor_id"])
        amount = np.round(qty * price, 2)
        net = round(float(amount.sum()), 2)
        tax = round(net * (0.19 if sup["country"] == "DE" else 0.0), 2)
        received = min(END, inv_day + int(rng.integers(1, 8)))
        due = inv_day + sup["payment_terms_days"]
        pay_day = int(next_weekday(np.array([due + int(rng.integers(-3, 4))]))[0])
        if status_hint == "disputed":
            status, pay_day = "disputed", END + 999
        elif status_hint == "dup":
            status = "paid" if rng.random() < 0.15 else "open"
            pay_day = pay_day if status == "paid" else END + 999
        else:
            status = "paid" if pay_day <= END else ("approved" if received < END - 3 else "open")
        if pay_day > END and status == "paid":
            status = "approved"
        cur = "USD" if sup["country"] == "US" else "EUR"
        head = {"day": received, "invoice_id": invoice_id, "vendor_id": vend["vendor_id"], "vendor_name": vend["vendor_name"],
                "vendor_vat_id": vend["vendor_vat_id"], "vendor_invoice_number": vinv, "po_reference": ref,
                "invoice_date": inv_day, "due_date": due, "received_date": received, "currency": cur,
                "net_amount": net, "tax_amount": tax, "total_amount": round(net + tax, 2), "status": status,
                "pay_day": pay_day, "iban": sup["iban"], "bank_name": sup["supplier_name"].upper(), "dup": status_hint == "dup"}
        lines = [{"invoice_id": invoice_id, "line_no": i + 1, "description": str(desc[i]), "sku": skus[i],
                  "quantity": float(qty[i]), "unit_price": float(price[i]), "line_amount": float(amount[i])}
                 for i in range(len(qty))]
        return head, lines

    def service_invoices(self, month: int) -> None:
        """Monthly invoices from service vendors (rent, utilities, ...): legitimately without PO."""
        rng = rng_for(self.seed, "services", month)
        first, _ = month_bounds(month)
        heads, lines, matches = [], [], []
        for s in [s for s in self.world.suppliers if s["service"]]:
            typical = {"rent": 9000, "utilities": 2500, "software": 1500, "insurance": 800, "telecom": 400, "freight": 4000}
            amount = np.array([round(float(rng.uniform(0.3, 1.0)) * typical[s["service"]] * max(1.0, self.scale ** 0.7), 2)])
            vend = self.vendors[s["true_id"]][0]
            inv_day = first + int(rng.integers(0, 5))
            desc = np.array([f"{s['service']} {month + 1:02d}"], dtype=object)
            h, ls = self._ap_invoice(rng, inv_day, s, vend, None, None, desc, np.array([None], dtype=object),
                                     np.array([1.0]), amount, None, self._vinv(s["true_id"], inv_day))
            heads.append(h)
            lines.extend(ls)
            matches.append((h["invoice_id"], None, "no_po_expected", None))
        self.truth.rows("ap_invoice_matches.csv", matches)
        self._push_ap(heads, lines)

    def _push_ap(self, heads: list[dict], lines: list[dict]) -> None:
        if not heads:
            return
        h = pd.DataFrame(heads)
        lk = pd.DataFrame(lines).merge(h[["invoice_id", "day"]], on="invoice_id")
        self.ap_q.push(h)
        self.apl_q.push(lk)
        pay = h[h["status"] == "paid"]
        self.pay_q.push(pd.DataFrame({"day": pay["pay_day"].to_numpy(), "direction": "outgoing",
                                      "invoice_id": pay["invoice_id"].to_numpy(), "name": pay["bank_name"].to_numpy(),
                                      "iban": pay["iban"].to_numpy(), "amount": pay["total_amount"].to_numpy(),
                                      "currency": pay["currency"].to_numpy(), "method": "transfer",
                                      "reference": pay["vendor_invoice_number"].to_numpy(), "dup": pay["dup"].to_numpy()}))

    # ------------------------------------------------------------------ emit
    def flush(self, d0: int, d1: int) -> None:
        rng = rng_for(self.seed, "fin-flush", d0)
        ar = self.ar_q.pop(d1)
        if ar is not None:
            keys, _ = batch_keys(ar["day"].to_numpy(), rng, 0.02)
            self.landing.write("finance", "ar_invoices", keys, _c(ar, {"invoice_date": "day"}, [
                "invoice_id", "debtor_id", "debtor_name", "debtor_vat_id", "debtor_email", "order_reference",
                "invoice_date", "due_date", "currency", "total_amount", "status"]))
        ap = self.ap_q.pop(d1)
        if ap is not None:
            keys, late = batch_keys(ap["day"].to_numpy(), rng, 0.02)
            self.landing.write("finance", "ap_invoices", keys, _c(ap, {}, [
                "invoice_id", "vendor_id", "vendor_name", "vendor_vat_id", "vendor_invoice_number", "po_reference",
                "invoice_date", "due_date", "received_date", "currency", "net_amount", "tax_amount", "total_amount", "status"]))
            apl = self.apl_q.pop(d1)
            lk = dict(zip(ap["invoice_id"], keys))
            line_columns = ["invoice_id", "line_no", "description", "sku", "quantity", "unit_price", "line_amount"]
            self.landing.write("finance", "ap_invoice_lines", np.array([lk[i] for i in apl["invoice_id"]], dtype=object),
                               _c(apl, {}, line_columns))
        self._bank(rng, d0, d1)

    def _bank(self, rng: np.random.Generator, d0: int, d1: int) -> None:
        pay = self.pay_q.pop(d1)
        parts = []
        if pay is not None:
            n = len(pay)
            pay["payment_id"] = [f"PAY-{self.n_pay + k + 1:07d}" for k in range(n)]
            self.n_pay += n
            pay["signed"] = np.where(pay["direction"] == "incoming", 1.0, -1.0) * pay["amount"].to_numpy()
            pay["anomaly"] = np.where(pay["dup"].to_numpy(dtype=bool), "duplicate_payment", None)
            parts.append(pay)
        parts.append(self._operating(rng, d0, d1))
        txns = pd.concat(parts, ignore_index=True)
        txns = self._anomalies(rng, txns, d0, d1)
        txns["seq"] = np.arange(len(txns))
        txns = txns.sort_values(["day", "seq"], kind="stable").reset_index(drop=True)
        txns["txn_id"] = [f"BT-{self.n_bt + k + 1:08d}" for k in range(len(txns))]
        self.n_bt += len(txns)
        bal = np.zeros(len(txns))
        for cur in ("EUR", "GBP", "USD"):
            m = (txns["currency"] == cur).to_numpy()
            bal[m] = self.balance[cur] + np.cumsum(txns["signed"].to_numpy()[m])
            if m.any():
                self.balance[cur] = float(bal[m][-1])
        txns["balance_after"] = np.round(bal, 2)
        txns["account_iban"] = [ACCOUNTS[c] for c in txns["currency"]]
        txns["value_date"] = txns["day"].to_numpy() + (rng.random(len(txns)) < 0.3)
        an = txns[txns["anomaly"].notna()]
        self.truth.rows("bank_anomalies.csv", zip(an["txn_id"], an["anomaly"]))
        keys, _ = batch_keys(txns["day"].to_numpy(), rng, 0.01)
        self.landing.write("finance", "bank_transactions", keys, {
            "txn_id": txns["txn_id"].to_numpy(dtype=object), "account_iban": txns["account_iban"].to_numpy(dtype=object),
            "booking_date": txns["day"].to_numpy(), "value_date": txns["value_date"].to_numpy(),
            "amount": np.round(txns["signed"].to_numpy(), 2), "currency": txns["currency"].to_numpy(dtype=object),
            "counterparty_name": _obj(txns["name"]), "counterparty_iban": _obj(txns["iban"]),
            "reference": _obj(txns["reference"]), "balance_after": txns["balance_after"].to_numpy()})
        if pay is not None:
            p = txns[txns["payment_id"].notna()]
            keys, _ = batch_keys(p["day"].to_numpy(), rng, 0.02)
            self.landing.write("finance", "payments", keys, {
                "payment_id": p["payment_id"].to_numpy(dtype=object), "direction": p["direction"].to_numpy(dtype=object),
                "invoice_id": p["invoice_id"].to_numpy(dtype=object), "counterparty_name": _obj(p["name"]),
                "amount": p["amount"].to_numpy(dtype=float), "currency": p["currency"].to_numpy(dtype=object),
                "payment_date": p["day"].to_numpy(), "method": p["method"].to_numpy(dtype=object),
                "bank_txn_id": p["txn_id"].to_numpy(dtype=object)})

    def _operating(self, rng: np.random.Generator, d0: int, d1: int) -> pd.DataFrame:
        """Payroll, VAT, bank fees, card spend: the bank lines that have no invoice behind them."""
        rows = []
        days = np.arange(d0, d1 + 1)
        for m in sorted(set(month_of_day(days).tolist())):
            first, last = month_bounds(m)
            month_days = np.arange(first, last + 1)
            pay_day = int(month_days[weekday_of(month_days) < 5][-1])  # last business day
            if d0 <= pay_day <= d1:
                rows.append((pay_day, -round(45_000 * self.scale * (1 + 0.03 * (m / 12)) * float(rng.uniform(0.98, 1.02)), 2),
                             "LOHN GEHALT SAMMLER", "DE02100100100006820101", f"Payroll {m + 1:02d}"))
                rows.append((pay_day, -round(float(rng.uniform(30, 60)), 2), "Bank fees", None, "Kontofuehrung"))
            tax_day = int(next_weekday(np.array([first + 9]))[0])
            if d0 <= tax_day <= d1:
                rows.append((tax_day, -round(12_000 * self.scale * float(rng.uniform(0.7, 1.3)), 2), "FINANZAMT BERLIN",
                             "DE21100000000010001520", f"USt-VA {m:02d}"))
        n_card = int(rng.poisson(0.45 * len(days) * max(1.0, self.scale ** 0.5)))
        cd = next_weekday(rng.integers(d0, d1 + 1, n_card))
        cd = cd[cd <= d1]
        for d in cd.tolist():
            rows.append((d, -round(float(rng.lognormal(4.0, 0.8)), 2), CARD_MERCHANTS[int(rng.integers(len(CARD_MERCHANTS)))],
                         None, "Card payment"))
        df = pd.DataFrame(rows, columns=["day", "signed", "name", "iban", "reference"])
        df["currency"] = "EUR"
        df["anomaly"] = None
        return df

    def _anomalies(self, rng: np.random.Generator, txns: pd.DataFrame, d0: int, d1: int) -> pd.DataFrame:
        """~0.5% extra bank lines that a cash-flow monitor should flag (truth records the type)."""
        k = int(rng.binomial(len(txns), 0.005))
        if not k:
            return txns
        out = txns[txns["signed"] < 0]
        vendor_pay = txns[(txns.get("direction") == "outgoing")] if "direction" in txns else txns.iloc[0:0]
        weekend = np.arange(d0, d1 + 1)[weekday_of(np.arange(d0, d1 + 1)) >= 5]
        rows = []
        for _ in range(k):
            kind = ["large_amount", "unknown_counterparty", "odd_timing", "duplicate_payment"][int(rng.integers(4))]
            if kind == "duplicate_payment" and len(vendor_pay):
                src = vendor_pay.iloc[int(rng.integers(len(vendor_pay)))]
                rows.append((min(d1, int(src["day"]) + int(rng.integers(1, 4))), src["signed"], src["name"], src["iban"],
                             src["reference"], src["currency"], kind))
                continue
            day = int(next_weekday(np.array([rng.integers(d0, d1 + 1)]))[0])
            day = min(day, d1)
            if kind == "odd_timing" and len(weekend):
                day = int(weekend[int(rng.integers(len(weekend)))])
            elif kind == "odd_timing":
                kind = "large_amount"
            base = float(out["signed"].median()) if len(out) else -1000.0
            if kind == "unknown_counterparty":
                rows.append((day, round(base * float(rng.uniform(1, 4)), 2), UNKNOWN_NAMES[int(rng.integers(len(UNKNOWN_NAMES)))],
                             f"LT{int(rng.integers(10**17, 10**18))}", "Invoice 2291", "EUR", kind))
            else:
                src = out.iloc[int(rng.integers(len(out)))] if len(out) else None
                factor = float(rng.uniform(12, 40)) if kind == "large_amount" else 1.0
                name, iban, ref = (src["name"], src["iban"], src["reference"]) if src is not None else ("Unknown", None, None)
                rows.append((day, round(base * factor, 2), name, iban, ref, "EUR", kind))
        extra = pd.DataFrame(rows, columns=["day", "signed", "name", "iban", "reference", "currency", "anomaly"])
        return pd.concat([txns, extra], ignore_index=True)


def _obj(s: pd.Series) -> np.ndarray:
    arr = s.to_numpy(dtype=object, copy=True)
    arr[pd.isna(arr)] = None
    return arr


def _c(df: pd.DataFrame, rename: dict[str, str], names: list[str]) -> dict[str, np.ndarray]:
    """Writer columns from a DataFrame; rename maps output name -> DataFrame column."""
    out = {}
    for n in names:
        s = df[rename.get(n, n)]
        out[n] = s.to_numpy() if s.dtype.kind in "iufb" else _obj(s)
    return out
