"""Synthetic orders (heavy-tailed amounts, comments with planted PII) and consent records
covering every path of the consent gate."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from privacy_profile.demo import _text as tx
from privacy_profile.demo._columns import (
    _blank_to_na,
    _bool_text,
    _Clock,
    _pick_disjoint,
    _rng,
    _Spec,
    _ymd,
)
from privacy_profile.demo._people import (
    _Events,
    _Users,
)
from privacy_profile.demo.vocabulary import (
    _BAD_AMOUNTS,
    _BAD_TIMESTAMPS,
    _CAT_MEDIAN,
    _MESSY_KINDS,
    _OLD_NOTICE_VERSION,
    _REVIEWS,
    _SCENARIO_P,
    _SCENARIO_RECORDS,
    _SCENARIOS,
    CATEGORIES,
    DAY,
    BoolArray,
    ConsentScenario,
    IntArray,
    MessyKind,
    StrArray,
)

# --------------------------------------------------------------------------- orders


def _plant_comment_pii(
    rng: np.random.Generator, k: int, district: IntArray
) -> tuple[StrArray, dict[str, StrArray]]:
    """``k`` reviews carrying a phone, resident ID, bank card, e-mail, address or name."""
    kind = np.arange(k) % 6
    div = tx.divisions()
    phones = tx.format_mobiles(rng, tx.mobile_numbers(rng, k))
    birth = _ymd(rng.integers(-3650, 15000, k))  # born 1960-2011
    rids = tx.resident_ids(rng, div.area_code[district], birth, rng.random(k) < 0.5)
    cards, banks = tx.bank_cards(rng, k)
    mails = tx.emails(rng, k)
    addrs = tx.addresses(rng, k, district)
    names = tx.person_names(rng, k)
    text = np.select(
        [kind == 0, kind == 1, kind == 2, kind == 3, kind == 4],
        [
            tx.concat("质量很好，有问题联系我", phones),
            tx.concat("发票抬头", names, "，身份证号", rids),
            tx.concat("退款请打到", banks, "卡号", cards),
            tx.concat("赠品没收到，请发到邮箱", mails),
            tx.concat("下次请寄到", addrs, "，谢谢"),
        ],
        tx.concat("快递员很负责，收件人", names, "很满意"),
    )
    values = {
        "CN_MOBILE": phones[kind == 0],
        "CN_RESIDENT_ID": rids[kind == 1],
        "BANK_CARD": cards[kind == 2],
        "EMAIL_ADDRESS": mails[kind == 3],
        "CN_ADDRESS": addrs[kind == 4],
        "CN_PERSON": names[(kind == 1) | (kind == 5)],
    }
    return text, values


def _orders_table(
    seed: int, u: _Users, e: _Events, clean_buy: IntArray, clock: _Clock, spec: _Spec
) -> tuple[
    dict[str, pd.Series], dict[MessyKind, IntArray], dict[str, set[str]], int, frozenset[str]
]:
    rng = _rng(seed, "orders")
    n = len(clean_buy)
    user = e.user[clean_buy]
    category = e.category[clean_buy]
    ordered = e.ts[clean_buy] + rng.integers(5, 600, n)
    amount = _CAT_MEDIAN[category] * np.exp(rng.normal(0.0, 0.8, n))
    bulk = rng.random(n) < 0.006
    amount = np.where(bulk, amount * rng.uniform(3, 15, n), amount)
    over = rng.choice(n, size=min(n, max(2, round(n * 0.005))), replace=False)
    amount[over] = spec.amount_upper * rng.uniform(1.05, 4.0, len(over))
    cents = np.maximum(np.floor(amount), 1).astype(np.int64) * 100 + rng.choice(
        [0, 90, 99, 50], size=n, p=[0.4, 0.25, 0.25, 0.1]
    )
    amount_text = tx.concat(
        tx.to_text(cents // 100), ".", np.strings.zfill(tx.to_text(cents % 100), 2)
    )
    status = tx.choice_strings(
        rng, n, ("paid", "cancelled", "returned"), np.array([0.88, 0.07, 0.05])
    )
    coupon = _bool_text(rng.random(n) < 0.3)
    # order ids: WX + date + a 10-digit number unique across the table (an affine bijection)
    mult = int(rng.integers(1, 10**9)) * 10 + 3  # ends in 3: coprime with 10**10
    serial = (np.arange(n, dtype=np.int64) * mult + int(rng.integers(0, 10**10))) % 10**10
    order_id = tx.concat(
        "WX", tx.to_text(_ymd(ordered // DAY)), np.strings.zfill(tx.to_text(serial), 10)
    )
    # delivery address: one per user (in their city when known), a second one sometimes
    div = tx.divisions()
    buyers, inverse = np.unique(user, return_inverse=True)
    buyer_district = np.where(
        u.district[buyers] >= 0,
        u.district[buyers],
        rng.choice(len(div.weight), len(buyers), p=div.weight),
    ).astype(np.int64)
    home = tx.addresses(rng, len(buyers), buyer_district)[inverse]
    other = tx.addresses(rng, n, rng.choice(len(div.weight), n, p=div.weight).astype(np.int64))
    r = rng.random(n)
    address = np.where(r < 0.03, "", np.where(r < 0.25, other, home))
    # comments: half blank, mostly plain reviews, ~2% with PII
    comment = np.where(rng.random(n) < 0.5, "", tx.choice_strings(rng, n, _REVIEWS)).astype("<U96")
    k = min(n, max(12, round(n * 0.02)))
    pii_rows = np.sort(rng.choice(n, size=k, replace=False))
    pii_district = rng.choice(len(div.weight), k, p=div.weight).astype(np.int64)
    text, values = _plant_comment_pii(rng, k, pii_district)
    comment[pii_rows] = text
    openid = u.openid[user]
    ordered_text = clock.iso(ordered).astype("<U32")
    amount_text = amount_text.astype("<U16")

    messy = _pick_disjoint(rng, np.arange(n, dtype=np.int64), _MESSY_KINDS["orders"])
    openid[messy[MessyKind.MISSING_OPENID]] = ""
    bad = messy[MessyKind.UNPARSABLE_TIMESTAMP]
    ordered_text[bad] = tx.choice_strings(rng, len(bad), _BAD_TIMESTAMPS)
    bad = messy[MessyKind.NON_NUMERIC_AMOUNT]
    amount_text[bad] = tx.choice_strings(rng, len(bad), _BAD_AMOUNTS)

    cols = {
        "order_id": order_id,
        "openid": openid,
        "amount": amount_text,
        "status": status,
        "category": np.asarray(CATEGORIES)[category],
        "coupon_used": coupon,
        "ordered_at": ordered_text,
        "delivery_address": address,
        "comment": comment,
    }
    planted = {kind: set(v.tolist()) for kind, v in values.items()}
    addresses = frozenset(np.unique(address[address != ""]).tolist())
    return {c: _blank_to_na(v) for c, v in cols.items()}, messy, planted, k, addresses


# --------------------------------------------------------------------------- consents


def _join_int(parts: list[IntArray]) -> IntArray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.int64)


def _join_bool(parts: list[BoolArray]) -> BoolArray:
    return np.concatenate(parts) if parts else np.empty(0, dtype=np.bool_)


def _version_start(version: str) -> int | None:
    try:
        d = dt.datetime.strptime(version, "%Y-%m")
    except ValueError:
        return None
    return int((d - dt.datetime(1970, 1, 1)).total_seconds())


def _consents_table(
    seed: int, u: _Users, clock: _Clock, spec: _Spec
) -> tuple[dict[str, pd.Series], dict[ConsentScenario, int]]:
    rng = _rng(seed, "consents")
    n, n_p = u.n, len(spec.purposes)
    # scenario per (user, purpose); a user's purposes mostly share one history
    first = rng.choice(len(_SCENARIOS), size=n, p=_SCENARIO_P)
    scen = np.empty((n, n_p), dtype=np.int64)
    for j in range(n_p):  # a loop over the purposes, not rows
        own = rng.choice(len(_SCENARIOS), size=n, p=_SCENARIO_P)
        scen[:, j] = first if j == 0 else np.where(rng.random(n) < 0.7, first, own)
    # guardian consent for about half of the minors (at least one with, one without)
    minor = u.birth_known & (u.age < spec.minimum_age)
    guardian = minor & (rng.random(n) < 0.5)
    minors = np.flatnonzero(minor)
    if len(minors) >= 2:
        guardian[minors[0]], guardian[minors[1]] = True, False
    sensitive = rng.random((n, n_p)) < 0.4

    starts = [(_version_start(v) or 0, v) for v in spec.accepted_versions]
    starts.sort()
    start_s = np.array([s for s, _ in starts], dtype=np.int64)
    version_names = np.array([v for _, v in starts])

    users_col: list[IntArray] = []
    purpose_col: list[IntArray] = []
    granted_col: list[BoolArray] = []
    optout_col: list[BoolArray] = []
    old_col: list[BoolArray] = []
    time_col: list[IntArray] = []
    sens_col: list[BoolArray] = []
    for j in range(n_p):  # a loop over purposes and scenarios, not rows
        for s_idx, scenario in enumerate(_SCENARIOS):
            records = _SCENARIO_RECORDS[scenario]
            who = np.flatnonzero(scen[:, j] == s_idx)
            if not records or len(who) == 0:
                continue
            m = len(records)
            t = u.registered_s[who] + rng.integers(60, 3 * DAY, len(who))
            prev: IntArray | None = None
            for r_idx, (is_granted, opted_out, old) in enumerate(records):
                if r_idx > 0:
                    t = t + rng.integers(DAY, 120 * DAY, len(who))
                if not old:  # consent to an accepted notice postdates its publication
                    t = np.maximum(t, start_s[0] + rng.integers(0, 30 * DAY, len(who)))
                t = np.minimum(t, clock.now_s - (m - r_idx) * 60)
                if prev is not None:
                    t = np.maximum(t, prev + 1)
                prev = t
                users_col.append(who)
                purpose_col.append(np.full(len(who), j, dtype=np.int64))
                granted_col.append(np.full(len(who), is_granted))
                optout_col.append(np.full(len(who), opted_out))
                old_col.append(np.full(len(who), old))
                time_col.append(t)
                sens_col.append(sensitive[who, j])
    order = rng.permutation(sum(len(w) for w in users_col))  # the latest record decides,
    # whatever the file order
    who = _join_int(users_col)[order]
    purpose = _join_int(purpose_col)[order]
    t = _join_int(time_col)[order]
    granted = _join_bool(granted_col)[order]
    optout = _join_bool(optout_col)[order]
    old_notice = _join_bool(old_col)[order]
    sens = _join_bool(sens_col)[order]
    v_idx = np.clip(np.searchsorted(start_s, t, side="right") - 1, 0, len(start_s) - 1)
    version = np.where(old_notice, _OLD_NOTICE_VERSION, version_names[v_idx])
    cols = {
        "openid": u.openid[who],
        "purpose": np.asarray(spec.purposes)[purpose],
        "status": np.where(granted, "granted", "withdrawn"),
        "recorded_at": clock.iso(t),
        "notice_version": version,
        "guardian_consent": _bool_text(guardian[who]),
        "sensitive_consent": _bool_text(sens),
        "personalised_marketing_opt_out": _bool_text(optout),
    }
    counts = np.bincount(scen.ravel(), minlength=len(_SCENARIOS))
    scenarios = {s: int(counts[i]) for i, s in enumerate(_SCENARIOS)}
    return {c: _blank_to_na(v) for c, v in cols.items()}, scenarios
