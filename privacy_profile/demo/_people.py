"""Synthetic users (openids, phones, resident IDs, names, cities) and their events (a
Taobao-like funnel with a little planted PII in search text), built on whole columns."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.demo import _text as tx
from privacy_profile.demo._columns import (
    _DEFAULT_SPEC,
    _blank_to_na,
    _check_counts,
    _check_seed,
    _Clock,
    _pick_disjoint,
    _rng,
    _Spec,
    _ymd,
)
from privacy_profile.demo.vocabulary import (
    _BAD_TIMESTAMPS,
    _CAT_BASE,
    _CAT_FEMALE,
    _CAT_MALE,
    _CHANNEL_P,
    _CHANNELS,
    _EVENT_P,
    _HOUR_P,
    _ITEMS_PER_CATEGORY,
    _KEYWORDS,
    _MESSY_KINDS,
    CATEGORIES,
    DAY,
    DEFAULT_NOW,
    EVENT_TYPES,
    UNDECLARED_EVENTS_COLUMN,
    BoolArray,
    IntArray,
    MessyKind,
    StrArray,
)

# --------------------------------------------------------------------------- users


@dataclass(frozen=True)
class _Users:
    n: int
    openid: StrArray
    gender: npt.NDArray[np.int8]  # 0 male, 1 female, 2 unknown
    registered_s: IntArray
    birth_ymd: IntArray
    age: IntArray
    birth_known: BoolArray
    district: IntArray  # index into the division subset (-1: city not given)
    primary: IntArray  # favourite category
    secondary: IntArray
    activity: npt.NDArray[np.float64]  # mean 1, heavy-tailed


def _openids(seed: int, n: int) -> StrArray:
    rng = _rng(seed, "users.openid")
    app = tx.random_token(rng, 1, 5)[0]  # openids of one mini-program share a prefix
    ids = tx.concat("o", app, tx.random_token(rng, n, 22))
    while len(np.unique(ids)) < n:  # never in practice (64**22 values), but guaranteed unique
        _, first = np.unique(ids, return_index=True)
        dup = np.setdiff1d(np.arange(n), first)
        ids[dup] = tx.concat("o", app, tx.random_token(rng, len(dup), 22))
    return ids


def _users_core(seed: int, n: int, clock: _Clock, spec: _Spec) -> _Users:
    rng = _rng(seed, "users.core")
    gender = rng.choice(3, size=n, p=[0.41, 0.52, 0.07]).astype(np.int8)
    # registration: recent-heavy over the users' retention, a few older (retention exclusion)
    ret = spec.users_retention_days
    days = np.where(
        rng.random(n) < 0.025,
        rng.uniform(ret + 1, ret + 500, n),
        rng.beta(1.1, 2.2, n) * ret,
    )
    registered = clock.now_s - (days * DAY).astype(np.int64) - rng.integers(0, DAY, n)
    registered = np.minimum(registered, clock.now_s - 3600)
    # ages 8-75: some children under 14, some teenagers, most adults around 30
    kind = rng.choice(3, size=n, p=[0.05, 0.05, 0.90])
    age_years = np.select(
        [kind == 0, kind == 1],
        [rng.uniform(8, 14, n), rng.uniform(14, 18, n)],
        np.clip(rng.normal(33, 11, n), 18, 75.99),
    )
    now_day = clock.now_s // DAY
    birth_day = now_day - (age_years * 365.2425).astype(np.int64)
    birth_ymd = _ymd(birth_day)
    age = (clock.today_ymd() - birth_ymd) // 10_000
    birth_known = rng.random(n) >= 0.08
    div = tx.divisions()
    district = rng.choice(len(div.weight), size=n, p=div.weight)
    district = np.where(rng.random(n) < 0.03, -1, district)
    # interests: a favourite and a second category, tilted by gender
    female_p = _CAT_BASE * _CAT_FEMALE
    male_p = _CAT_BASE * _CAT_MALE
    base_p = _CAT_BASE / _CAT_BASE.sum()
    primary = np.select(
        [gender == 1, gender == 0],
        [
            rng.choice(len(CATEGORIES), n, p=female_p / female_p.sum()),
            rng.choice(len(CATEGORIES), n, p=male_p / male_p.sum()),
        ],
        rng.choice(len(CATEGORIES), n, p=base_p),
    )
    secondary = rng.choice(len(CATEGORIES), n, p=base_p)
    activity = rng.gamma(0.9, 1 / 0.9, n)
    return _Users(
        n=n,
        openid=_openids(seed, n),
        gender=gender,
        registered_s=registered.astype(np.int64),
        birth_ymd=birth_ymd,
        age=age,
        birth_known=birth_known,
        district=district.astype(np.int64),
        primary=primary.astype(np.int64),
        secondary=secondary.astype(np.int64),
        activity=activity,
    )


def _users_table(
    seed: int, u: _Users, clock: _Clock
) -> tuple[dict[str, pd.Series], dict[MessyKind, IntArray], dict[str, frozenset[str]]]:
    rng = _rng(seed, "users.table")
    n = u.n
    div = tx.divisions()
    phone = tx.format_mobiles(rng, tx.mobile_numbers(rng, n))
    phone = np.where(rng.random(n) < 0.08, "", phone)
    # the ID's area is mostly the user's city (a district there), else anywhere
    home = np.where(u.district >= 0, u.district, rng.choice(len(div.weight), n, p=div.weight))
    born_elsewhere = rng.random(n) < 0.3
    id_area = np.where(born_elsewhere, rng.choice(len(div.weight), n, p=div.weight), home).astype(
        np.int64
    )
    rid = tx.resident_ids(rng, div.area_code[id_area], u.birth_ymd, u.gender == 0)
    rid = np.where(rng.random(n) < 0.4, rid, "")
    unionid = np.where(rng.random(n) < 0.6, tx.concat("o6_bm", tx.random_token(rng, n, 23)), "")
    nickname = np.where(rng.random(n) < 0.04, "", tx.nicknames(rng, n))
    y, rest = u.birth_ymd // 10_000, u.birth_ymd % 10_000
    birth_iso = tx.concat(
        tx.to_text(y),
        "-",
        np.strings.zfill(tx.to_text(rest // 100), 2),
        "-",
        np.strings.zfill(tx.to_text(rest % 100), 2),
    )
    birthdate = np.where(u.birth_known, birth_iso, "")
    gender = np.asarray(["male", "female", "unknown"])[u.gender]
    city = np.where(u.district >= 0, div.city[np.maximum(u.district, 0)], "")
    registered = clock.iso(u.registered_s)
    channel = tx.choice_strings(rng, n, _CHANNELS, _CHANNEL_P)
    openid = u.openid.copy()

    messy = _pick_disjoint(rng, np.arange(n, dtype=np.int64), _MESSY_KINDS["users"])
    openid[messy[MessyKind.MISSING_OPENID]] = ""
    bad = messy[MessyKind.UNPARSABLE_TIMESTAMP]
    registered = registered.astype("<U32")
    registered[bad] = tx.choice_strings(rng, len(bad), _BAD_TIMESTAMPS)

    cols = {
        "openid": openid,
        "unionid": unionid,
        "phone": phone,
        "resident_id": rid,
        "nickname": nickname,
        "birthdate": birthdate,
        "gender": gender,
        "city": city,
        "registered_at": registered,
        "channel": channel,
    }
    planted = {
        f"users.{c}": frozenset(np.unique(v[v != ""]).tolist())
        for c, v in cols.items()
        if c in ("unionid", "phone", "resident_id", "nickname")
    }
    planted["users.openid"] = frozenset(u.openid.tolist())
    return {c: _blank_to_na(v) for c, v in cols.items()}, messy, planted


# --------------------------------------------------------------------------- events


@dataclass(frozen=True)
class _Events:
    user: IntArray
    etype: IntArray
    item: IntArray
    category: IntArray
    ts: IntArray
    keyword: IntArray  # code into keyword_categories, -1 when blank
    keyword_categories: StrArray
    planted: dict[str, set[str]]
    planted_rows: int


def _plant_search_pii(rng: np.random.Generator, k: int) -> tuple[StrArray, dict[str, StrArray]]:
    """``k`` search strings carrying a phone, an e-mail or a name (the kinds in turn)."""
    kind = np.arange(k) % 4
    phones = tx.mobile_numbers(rng, k)
    spelled = tx.format_mobiles(rng, phones)
    mails = tx.emails(rng, k)
    names = tx.person_names(rng, k)
    text = np.select(
        [kind == 0, kind == 1, kind == 2],
        [spelled, tx.concat("联系我", spelled), mails],
        tx.concat("我叫", names),
    )
    values = {
        "CN_MOBILE": spelled[(kind == 0) | (kind == 1)],
        "EMAIL_ADDRESS": mails[kind == 2],
        "CN_PERSON": names[kind == 3],
    }
    return text, values


def _events_core(seed: int, u: _Users, user: IntArray, clock: _Clock, spec: _Spec) -> _Events:
    rng = _rng(seed, "events")
    n = len(user)
    etype = rng.choice(len(EVENT_TYPES), size=n, p=_EVENT_P).astype(np.int8)
    r = rng.random(n)
    base_p = _CAT_BASE / _CAT_BASE.sum()
    category = np.where(
        r < 0.55,
        u.primary[user],
        np.where(r < 0.8, u.secondary[user], rng.choice(len(CATEGORIES), n, p=base_p)),
    ).astype(np.int8)
    rank = np.minimum((rng.pareto(1.1, n) * 30).astype(np.int64), _ITEMS_PER_CATEGORY - 1)
    item = category.astype(np.int64) * _ITEMS_PER_CATEGORY + rank

    # timestamps: within the last 180 days after registration; ~1.5% older than the events'
    # retention (for users registered that long ago) to exercise the exclusion path
    now = clock.now_s
    ret = spec.events_retention_days
    reg = u.registered_s[user]
    start = np.maximum(reg, now - 180 * DAY)
    old_end = now - (ret + 1) * DAY
    old_start = np.maximum(reg, now - (ret + 180) * DAY)
    old = (rng.random(n) < 0.015) & (reg < old_end)
    lo = np.where(old, old_start, start)
    hi = np.where(old, old_end, now - 1)
    ts = lo + (rng.random(n) * (hi - lo)).astype(np.int64)
    tod = rng.choice(24, size=n, p=_HOUR_P) * 3600 + rng.integers(0, 3600, n)
    ts = (ts // DAY) * DAY + tod
    ts = np.where(ts < lo, ts + DAY, ts)  # keep the hour profile near the window's edges
    ts = np.where(ts > hi, ts - DAY, ts)
    ts = np.clip(ts, lo, hi)
    order = np.argsort(ts, kind="stable")
    user, item, ts = user[order], item[order], ts[order]
    etype, category = etype[order], category[order]

    # search keywords: mostly product words from the event's category, a little PII
    counts = np.array([len(k) for k in _KEYWORDS])
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]])
    words = np.array([w for ks in _KEYWORDS for w in ks])
    has_kw = rng.random(n) < np.where(etype == 0, 0.3, 0.08)
    code = offsets[category] + (rng.random(n) * counts[category]).astype(np.int64)
    code = np.where(has_kw, code, -1)
    kw_rows = np.flatnonzero(has_kw)
    k = min(len(kw_rows), max(8, round(len(kw_rows) * 0.002)))
    rows = np.sort(rng.choice(kw_rows, size=k, replace=False))
    text, values = _plant_search_pii(rng, k)
    pii_codes, uniques = pd.factorize(text)
    code[rows] = len(words) + pii_codes
    return _Events(
        user=user.astype(np.int64),
        etype=etype.astype(np.int64),
        item=item,
        category=category.astype(np.int64),
        ts=ts,
        keyword=code.astype(np.int64),
        keyword_categories=np.concatenate([words, np.asarray(uniques, dtype=np.str_)]),
        planted={kind: set(v.tolist()) for kind, v in values.items()},
        planted_rows=k,
    )


def _categorical(codes: IntArray, categories: StrArray | tuple[str, ...]) -> pd.Categorical:
    return pd.Categorical.from_codes(
        codes, categories=pd.Index(np.asarray(categories), dtype="str")
    )


def _item_names() -> StrArray:
    n = len(CATEGORIES) * _ITEMS_PER_CATEGORY
    return tx.concat("SKU", np.strings.zfill(tx.to_text(np.arange(1, n + 1) + 1_000_000), 7))


def _events_frame(
    seed: int, u: _Users, e: _Events, clock: _Clock, *, messy: bool
) -> tuple[pd.DataFrame, dict[MessyKind, IntArray]]:
    n = len(e.user)
    user = e.user.copy()
    picked: dict[MessyKind, IntArray] = {}
    ts: pd.Series = pd.Series(e.ts.astype("datetime64[s]"))
    if clock.tz is not None:
        ts = ts.dt.tz_localize(clock.tz)
    if messy:
        rng = _rng(seed, "events.messy")
        picked = _pick_disjoint(rng, np.arange(n, dtype=np.int64), _MESSY_KINDS["events"])
        user[picked[MessyKind.MISSING_OPENID]] = -1
        ts_text = clock.iso(e.ts).astype("<U32")
        bad = picked[MessyKind.UNPARSABLE_TIMESTAMP]
        ts_text[bad] = tx.choice_strings(rng, len(bad), _BAD_TIMESTAMPS)
        ts = pd.Series(ts_text, dtype="str")
    frame = pd.DataFrame(
        {
            "openid": _categorical(user, u.openid),
            "event_type": _categorical(e.etype, EVENT_TYPES),
            "item_id": _categorical(e.item, _item_names()),
            "category": _categorical(e.category, CATEGORIES),
            "ts": ts,
            "search_keyword": _categorical(e.keyword, e.keyword_categories),
        }
    )
    if messy:
        flag = (rng.random(n) < 0.01).astype(np.int64)
        frame[UNDECLARED_EVENTS_COLUMN] = _categorical(flag, ("0", "1"))
    return frame, picked


def generate_events_frame(
    n_rows: int,
    n_users: int,
    seed: int = 7,
    *,
    now: dt.datetime = DEFAULT_NOW,
    messy: bool = False,
) -> pd.DataFrame:
    """An in-memory ``events`` table of exactly ``n_rows`` rows over ``n_users`` users.

    For benchmarks. Users are drawn by a heavy-tailed activity, so a few users contribute many
    rows. ``openid``, ``event_type``, ``item_id``, ``category`` and ``search_keyword`` are
    pandas categoricals (a few bytes a row: 10M rows take well under 1 GB); ``ts`` is
    ``datetime64[s]`` in ``now``'s time zone. The openids are those :func:`generate_demo_data`
    writes for the same seed and ``n_users``. With ``messy=True`` the frame is the file's
    content instead: ``ts`` as text with ~0.1% unparsable values, ~0.1% missing openids and the
    undeclared ``debug_flag`` column.
    """
    _check_counts(n_users=n_users, n_rows=n_rows)
    _check_seed(seed)
    clock = _Clock.of(now)
    u = _users_core(seed, n_users, clock, _DEFAULT_SPEC)
    rng = _rng(seed, "events.users")
    user = rng.choice(n_users, size=n_rows, p=u.activity / u.activity.sum()).astype(np.int64)
    e = _events_core(seed, u, user, clock, _DEFAULT_SPEC)
    frame, _ = _events_frame(seed, u, e, clock, messy=messy)
    return frame
