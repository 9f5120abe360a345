"""An offline, seeded generator of a realistic WeChat mini-program shop data set.

:func:`generate_demo_data` writes one file per table the policy declares (``users``, ``events``,
``orders``, ``consents``) under ``out_dir/input/``, with the policy's column names, so that every
stage of privacy_profile can run end to end on data shaped like a mini-program's: WeChat openids
and unionids, mainland mobile numbers in the spellings users type, resident IDs, Chinese names,
cities weighted toward tier-1 and tier-2, a Taobao-like funnel (view ~89.8%, cart ~5.3%,
fav ~2.8%, buy ~2.1%), heavy-tailed order amounts, free text with a little planted PII, and
consent records covering every path of the consent gate. A few deliberately messy rows (~0.2%)
exercise the quarantine path.

Everything is synthetic and deterministic for a seed (the seed is a test hook: this is demo data,
not key material). Identifiers are built from public reference data, never copied from real
people: resident IDs from a real area code, a birth date and the GB 11643 check character; bank
cards from a real BIN and length plus the Luhn digit; phones from real mobile prefixes.

Tables are built with numpy on whole columns; no Python loop runs per row.
"""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal, cast

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from privacy_profile.demo import _text as tx
from privacy_profile.demo.campaigns import CampaignTruth, write_campaign_inputs
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.policy.model import Policy

__all__ = [
    "CATEGORIES",
    "DEFAULT_NOW",
    "EVENT_TYPES",
    "GENERATED_COLUMNS",
    "ConsentScenario",
    "DemoDataset",
    "MessyKind",
    "PlantedIdentifiers",
    "generate_demo_data",
    "generate_events_frame",
]

StrArray = npt.NDArray[np.str_]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]
Format = Literal["csv", "parquet", "jsonl"]

DAY: Final = 86_400
#: The reference time of :func:`generate_events_frame` when none is given (fixed, so seeded
#: output never depends on the wall clock).
DEFAULT_NOW: Final = dt.datetime(2026, 11, 30, 12, 0, 0, tzinfo=dt.timezone(dt.timedelta(hours=8)))

#: The columns the generator produces per table (a policy may declare a subset, in any order).
GENERATED_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "users": (
            "openid", "unionid", "phone", "resident_id", "nickname", "birthdate", "gender",
            "city", "registered_at", "channel",
        ),
        "events": ("openid", "event_type", "item_id", "category", "ts", "search_keyword"),
        "orders": (
            "order_id", "openid", "amount", "status", "category", "coupon_used", "ordered_at",
            "delivery_address", "comment",
        ),
        "consents": (
            "openid", "purpose", "status", "recorded_at", "notice_version", "guardian_consent",
            "sensitive_consent", "personalised_marketing_opt_out",
        ),
    }
)  # fmt: skip
#: An undeclared column planted in ``events`` (the policy drops undeclared columns there).
UNDECLARED_EVENTS_COLUMN: Final = "debug_flag"

EVENT_TYPES: Final = ("view", "cart", "fav", "buy")
# Shares in the Taobao UserBehavior sample (Tianchi 649, first 814 users).
_EVENT_P = np.array([0.8980, 0.0533, 0.0279, 0.0208])
_EVENT_P = _EVENT_P / _EVENT_P.sum()

CATEGORIES: Final = (
    "女装", "男装", "美妆", "母婴", "数码", "家居", "食品", "运动", "图书", "宠物", "鞋靴", "个护",
)  # fmt: skip
_CAT_BASE = np.array([14, 7, 11, 6, 10, 9, 12, 7, 4, 5, 8, 7], dtype=np.float64)
# interest tilt for women / men (multiplies the base popularity)
_CAT_FEMALE = np.array([2.2, 0.3, 2.2, 1.8, 0.6, 1.1, 1.0, 0.7, 1.0, 1.1, 1.1, 1.3])
_CAT_MALE = np.array([0.3, 2.4, 0.3, 0.7, 2.2, 0.9, 1.0, 1.8, 1.1, 0.9, 1.2, 0.8])
# median order amount (yuan) per category; amounts are log-normal around it
_CAT_MEDIAN = np.array([159, 189, 129, 169, 399, 99, 49, 219, 45, 89, 259, 69], dtype=np.float64)
_ITEMS_PER_CATEGORY = 4000
_KEYWORDS: Final[tuple[tuple[str, ...], ...]] = (
    ("连衣裙", "碎花连衣裙", "半身裙", "针织开衫", "羽绒服女", "阔腿裤", "卫衣女", "大衣"),
    ("男士T恤", "休闲裤男", "衬衫男", "夹克", "羽绒服男", "牛仔裤", "polo衫"),
    ("口红", "面霜", "粉底液", "防晒霜", "眼影盘", "卸妆水", "精华液", "面膜"),
    ("纸尿裤", "奶粉", "婴儿推车", "奶瓶", "儿童绘本", "湿巾", "辅食"),
    ("蓝牙耳机", "手机壳", "充电宝", "数据线", "机械键盘", "平板电脑", "智能手表", "手机"),
    ("四件套", "收纳盒", "拖鞋", "保温杯", "台灯", "抱枕", "垃圾袋", "毛巾"),
    ("零食大礼包", "坚果", "牛奶", "咖啡", "螺蛳粉", "茶叶", "月饼", "大米"),
    ("瑜伽垫", "跑步鞋", "运动裤", "哑铃", "骑行服", "羽毛球拍", "健身手套"),
    ("小说", "考研资料", "儿童读物", "漫画", "英语词典", "历史书"),
    ("猫粮", "狗粮", "猫砂", "宠物玩具", "冻干", "牵引绳"),
    ("运动鞋", "小白鞋", "马丁靴", "凉鞋", "高跟鞋", "帆布鞋"),
    ("洗发水", "牙膏", "沐浴露", "电动牙刷", "剃须刀", "护手霜"),
)  # fmt: skip
_REVIEWS: Final = (
    "质量很好，物流很快", "物美价廉，会回购", "包装很精致，送人很有面子", "尺码合适，颜色好看",
    "一般般吧，和图片有点差别", "客服态度很好，耐心解答", "发货速度快，第二天就到了",
    "性价比高，推荐购买", "味道不错，家里人都喜欢", "有点小瑕疵，不过能接受", "东西收到了，还没用",
    "第二次购买了，一如既往的好", "做工精细，值得入手", "物流太慢了，等了一周", "好评！",
    "效果还可以，再观察一下", "孩子很喜欢", "和描述一致，满意",
)  # fmt: skip
_CHANNELS: Final = (
    "wechat_search", "friend_share", "official_account", "ads", "offline_qr", "live_stream",
    "mini_program_jump",
)  # fmt: skip
_CHANNEL_P = np.array([0.25, 0.2, 0.15, 0.15, 0.1, 0.08, 0.07])
# hour-of-day profile of shop activity (lunch and evening peaks)
_HOUR_W = np.array(
    [3, 2, 1, 1, 1, 1, 2, 4, 6, 7, 8, 9, 11, 10, 8, 8, 8, 8, 9, 11, 13, 14, 12, 7], dtype=float
)
_HOUR_P = _HOUR_W / _HOUR_W.sum()
_BAD_TIMESTAMPS: Final = (
    "2026-02-30T10:00:00", "2026-13-01 08:00:00", "昨天 20:15", "N/A", "25/13/2026 10:61",
    "--",
)  # fmt: skip
_BAD_AMOUNTS: Final = ("¥129.00", "129元", "壹佰贰拾", "12..5", "N/A", "about 80")
_OLD_NOTICE_VERSION: Final = "2024-01"
_MESSY_SHARE: Final = 0.002


class MessyKind(StrEnum):
    """A deliberately broken row for the quarantine path (one defect per row)."""

    MISSING_OPENID = "missing_openid"
    UNPARSABLE_TIMESTAMP = "unparsable_timestamp"
    NON_NUMERIC_AMOUNT = "non_numeric_amount"


_MESSY_KINDS: Final[Mapping[str, tuple[MessyKind, ...]]] = MappingProxyType(
    {
        "users": (MessyKind.MISSING_OPENID, MessyKind.UNPARSABLE_TIMESTAMP),
        "events": (MessyKind.MISSING_OPENID, MessyKind.UNPARSABLE_TIMESTAMP),
        "orders": (
            MessyKind.MISSING_OPENID,
            MessyKind.UNPARSABLE_TIMESTAMP,
            MessyKind.NON_NUMERIC_AMOUNT,
        ),
        "consents": (),
    }
)


class ConsentScenario(StrEnum):
    """The consent history of one (user, purpose); the latest record decides."""

    NO_RECORD = "no_record"
    GRANTED = "granted"
    GRANTED_THEN_WITHDRAWN = "granted_then_withdrawn"
    WITHDRAWN_THEN_REGRANTED = "withdrawn_then_regranted"  # granted, withdrawn, granted again
    WITHDRAWN_ONLY = "withdrawn_only"
    OLD_NOTICE_ONLY = "old_notice_only"  # granted under a notice version the policy refuses
    OLD_NOTICE_RENEWED = "old_notice_renewed"  # then granted again under an accepted version
    OPTED_OUT = "opted_out"  # granted with an opt-out of personalised marketing
    GRANTED_THEN_OPTED_OUT = "granted_then_opted_out"
    OPTED_OUT_THEN_OPTED_IN = "opted_out_then_opted_in"


# (granted?, opted out?, old notice?) per record, oldest first
_SCENARIO_RECORDS: Final[Mapping[ConsentScenario, tuple[tuple[bool, bool, bool], ...]]] = {
    ConsentScenario.NO_RECORD: (),
    ConsentScenario.GRANTED: ((True, False, False),),
    ConsentScenario.GRANTED_THEN_WITHDRAWN: ((True, False, False), (False, False, False)),
    ConsentScenario.WITHDRAWN_THEN_REGRANTED: (
        (True, False, False),
        (False, False, False),
        (True, False, False),
    ),
    ConsentScenario.WITHDRAWN_ONLY: ((False, False, False),),
    ConsentScenario.OLD_NOTICE_ONLY: ((True, False, True),),
    ConsentScenario.OLD_NOTICE_RENEWED: ((True, False, True), (True, False, False)),
    ConsentScenario.OPTED_OUT: ((True, True, False),),
    ConsentScenario.GRANTED_THEN_OPTED_OUT: ((True, False, False), (True, True, False)),
    ConsentScenario.OPTED_OUT_THEN_OPTED_IN: ((True, True, False), (True, False, False)),
}
_SCENARIO_P = np.array([0.07, 0.52, 0.08, 0.05, 0.04, 0.06, 0.06, 0.05, 0.04, 0.03])
_SCENARIOS = tuple(ConsentScenario)


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class PlantedIdentifiers:
    """Raw identifier values the generator wrote, for leak tests. Kept in memory only.

    ``columns`` maps ``table.column`` to the values of a direct-identifier column as written;
    ``free_text`` maps an entity type (``CN_MOBILE``, ``CN_RESIDENT_ID``, ``BANK_CARD``,
    ``EMAIL_ADDRESS``, ``CN_PERSON``, ``CN_ADDRESS``) to the values planted in free text;
    ``free_text_rows`` maps ``table.column`` to how many of its cells carry planted PII.
    """

    columns: Mapping[str, frozenset[str]]
    free_text: Mapping[str, frozenset[str]]
    free_text_rows: Mapping[str, int]

    def all_values(self) -> frozenset[str]:
        out: set[str] = set()
        for values in (*self.columns.values(), *self.free_text.values()):
            out |= values
        return frozenset(out)


@dataclass(frozen=True)
class DemoDataset:
    """What :func:`generate_demo_data` wrote: files, row counts and what was planted where."""

    input_dir: Path
    fmt: Format
    paths: Mapping[str, Path]
    rows: Mapping[str, int]  # data rows per table, messy rows included
    messy: Mapping[str, Mapping[MessyKind, int]]  # table -> kind -> rows
    undeclared_columns: Mapping[str, tuple[str, ...]]
    consent_scenarios: Mapping[ConsentScenario, int]  # (user, purpose) pairs per scenario
    planted: PlantedIdentifiers = field(repr=False)
    campaigns: CampaignTruth | None = None  # the arm effects, when campaign tables were written

    def messy_rows(self, table: str) -> int:
        return sum(self.messy.get(table, {}).values())


# --------------------------------------------------------------------------- policy view


@dataclass(frozen=True)
class _Spec:
    columns: Mapping[str, tuple[str, ...]]
    files: Mapping[str, str]
    purposes: tuple[str, ...]
    accepted_versions: tuple[str, ...]
    amount_upper: float
    events_retention_days: int
    users_retention_days: int
    minimum_age: int


_DEFAULT_SPEC: Final = _Spec(
    columns=GENERATED_COLUMNS,
    files={t: t for t in GENERATED_COLUMNS},
    purposes=("marketing.advertising.profiling", "analytics.reporting.campaign_insights"),
    accepted_versions=("2025-06", "2026-03"),
    amount_upper=2000.0,
    events_retention_days=365,
    users_retention_days=1095,
    minimum_age=14,
)


def _spec(policy: Policy | None, fmt: Format) -> _Spec:
    if policy is None:
        return _DEFAULT_SPEC
    columns: dict[str, tuple[str, ...]] = {}
    files: dict[str, str] = {}
    for name, generated in GENERATED_COLUMNS.items():
        table = policy.tables.get(name)
        if table is None:
            raise PolicyError(
                f"the demo generator writes table {name!r}, which policy {policy.name!r} "
                "does not declare",
                hint="declare users, events, orders and consents as policies/wechat_shop.yaml does",
            )
        unknown = [c for c in table.columns if c not in generated]
        if unknown:
            raise PolicyError(
                f"policy {policy.name!r} declares column(s) {', '.join(unknown)} in table "
                f"{name!r}, which the demo generator does not produce",
                hint=f"the generator produces: {', '.join(generated)}",
            )
        columns[name] = tuple(table.columns)
        if table.format.value == fmt:
            files[name] = Path(table.file_name(name)).stem
        else:
            files[name] = name
    versions = sorted({v for p in policy.purposes for v in p.consent.accepted_notice_versions})
    bounds = policy.metric_bounds("orders", "amount")
    events_ret = policy.tables["events"].retention_days
    return _Spec(
        columns=MappingProxyType(columns),
        files=MappingProxyType(files),
        purposes=tuple(p.data_use for p in policy.purposes),
        accepted_versions=tuple(v for v in versions if v != _OLD_NOTICE_VERSION) or ("2025-06",),
        amount_upper=bounds.upper if bounds is not None else 2000.0,
        events_retention_days=events_ret,
        users_retention_days=policy.tables["users"].retention_days,
        minimum_age=min(p.consent.minors.minimum_age for p in policy.purposes),
    )


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per named stream, so columns do not shift one another."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(stream.encode()),))
    )


@dataclass(frozen=True)
class _Clock:
    now_s: int  # wall-clock seconds since 1970-01-01 in now's time zone
    suffix: str  # "+08:00", or "" when now is naive
    tz: dt.tzinfo | None

    @classmethod
    def of(cls, now: dt.datetime) -> _Clock:
        if not isinstance(now, dt.datetime):
            raise InputError("`now` must be a datetime", hint="pass now=datetime(...)")
        suffix = ""
        offset = now.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds()) // 60
            sign = "+" if minutes >= 0 else "-"
            suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        wall = now.replace(tzinfo=None, microsecond=0)
        now_s = int((wall - dt.datetime(1970, 1, 1)).total_seconds())
        return cls(now_s=now_s, suffix=suffix, tz=now.tzinfo)

    def iso(self, seconds: IntArray) -> StrArray:
        s = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        return tx.concat(s, self.suffix) if self.suffix else s

    def today_ymd(self) -> int:
        return int(str(np.datetime64(self.now_s, "s").astype("datetime64[D]")).replace("-", ""))


def _ymd(days: IntArray) -> IntArray:
    """Days since 1970-01-01 to YYYYMMDD integers."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return cast(IntArray, y * 10_000 + m * 100 + day)


def _pick_disjoint(
    rng: np.random.Generator, candidates: IntArray, kinds: tuple[MessyKind, ...]
) -> dict[MessyKind, IntArray]:
    """Disjoint row sets, one per kind, together about 0.2% of the rows (at least one each)."""
    if not kinds or len(candidates) == 0:
        return {k: np.empty(0, dtype=np.int64) for k in kinds}
    each = max(1, round(len(candidates) * _MESSY_SHARE / len(kinds)))
    each = min(each, len(candidates) // len(kinds))
    chosen = rng.choice(candidates, size=each * len(kinds), replace=False)
    return {k: np.sort(chosen[i * each : (i + 1) * each]) for i, k in enumerate(kinds)}


def _blank_to_na(values: StrArray) -> pd.Series:
    return pd.Series(values, dtype="str").where(values != "")


def _bool_text(values: BoolArray) -> StrArray:
    return np.where(values, "true", "false")


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


# --------------------------------------------------------------------------- writing


def _write(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    if fmt == "csv":
        _write_csv(frame, path)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV through Arrow (several times faster than pandas; byte-identical for our values).

    No value we generate needs quoting; should one ever (a comma or a quote from a policy),
    Arrow refuses to write it unquoted and pandas writes the file instead.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = pa.table(
        {
            name: col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    try:
        with path.open("wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pa_csv.write_csv(
                table, fh, pa_csv.WriteOptions(include_header=False, quoting_style="none")
            )
    except pa.ArrowInvalid:
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"`{name}` must be a positive integer, got {value!r}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"`seed` must be a non-negative integer, got {seed!r}")


def generate_demo_data(
    out_dir: Path,
    *,
    n_users: int = 5000,
    seed: int = 7,
    now: dt.datetime,
    policy: Policy | None = None,
    events_per_user: float = 40.0,
    fmt: Format = "csv",
) -> DemoDataset:
    """Write a synthetic mini-program data set under ``out_dir/input/`` and describe it.

    One file per table (``users``, ``events``, ``orders``, ``consents``) with the columns the
    policy declares, in its order (``policy=None``: the columns of policies/wechat_shop.yaml).
    The policy also sets the consent purposes, the accepted notice versions (an old ``2024-01``
    version is planted too), the amount bound some orders exceed, the retention some events
    fall outside and the minimum age. Timestamps are ISO 8601 in ``now``'s time zone (with its
    offset when ``now`` is aware), booleans ``true``/``false``, blanks empty.

    Deterministic for a seed; every value is synthetic. The returned :class:`DemoDataset` holds
    the raw identifier values written (for leak tests) in memory only.
    """
    _check_counts(n_users=n_users)
    _check_seed(seed)
    if not events_per_user > 0:
        raise InputError(f"`events_per_user` must be positive, got {events_per_user!r}")
    if fmt not in ("csv", "parquet", "jsonl"):
        raise InputError(f"`fmt` must be csv, parquet or jsonl, got {fmt!r}")
    clock = _Clock.of(now)
    spec = _spec(policy, fmt)
    input_dir = Path(out_dir) / "input"
    input_dir.mkdir(parents=True, exist_ok=True)

    u = _users_core(seed, n_users, clock, spec)
    users, users_messy, col_planted = _users_table(seed, u, clock)

    rng = _rng(seed, "events.users")
    per_user = rng.poisson(u.activity * events_per_user)
    e = _events_core(seed, u, np.repeat(np.arange(n_users, dtype=np.int64), per_user), clock, spec)
    events, events_messy = _events_frame(seed, u, e, clock, messy=True)
    broken = np.zeros(len(e.user), dtype=bool)
    for messy_rows in events_messy.values():
        broken[messy_rows] = True
    clean_buy = np.flatnonzero((e.etype == EVENT_TYPES.index("buy")) & ~broken)
    orders, orders_messy, order_planted, order_pii_rows, addresses = _orders_table(
        seed, u, e, clean_buy, clock, spec
    )
    consents, scenarios = _consents_table(seed, u, clock, spec)
    campaign_truth, campaign_paths, campaign_rows = write_campaign_inputs(
        seed, u.openid, policy, input_dir, fmt, now_s=clock.now_s, iso=clock.iso
    )

    tables: dict[str, pd.DataFrame] = {
        "users": pd.DataFrame(users),
        "events": events,
        "orders": pd.DataFrame(orders),
        "consents": pd.DataFrame(consents),
    }
    paths: dict[str, Path] = {}
    rows: dict[str, int] = {}
    undeclared: dict[str, tuple[str, ...]] = {}
    ext = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl"}[fmt]
    for name, frame in tables.items():
        extra = tuple(c for c in frame.columns if c not in GENERATED_COLUMNS[name])
        frame = frame[[*spec.columns[name], *extra]]
        path = input_dir / f"{spec.files[name]}.{ext}"
        _write(frame, path, fmt)
        paths[name] = path
        rows[name] = len(frame)
        if extra:
            undeclared[name] = extra
    paths.update(campaign_paths)
    rows.update(campaign_rows)

    free_text: dict[str, set[str]] = {}
    for source in (e.planted, order_planted):
        for kind, values in source.items():
            free_text.setdefault(kind, set()).update(values)
    col_planted["orders.delivery_address"] = addresses
    planted = PlantedIdentifiers(
        columns=MappingProxyType(dict(sorted(col_planted.items()))),
        free_text=MappingProxyType({k: frozenset(v) for k, v in sorted(free_text.items())}),
        free_text_rows=MappingProxyType(
            {"events.search_keyword": e.planted_rows, "orders.comment": order_pii_rows}
        ),
    )
    messy = {
        "users": users_messy,
        "events": events_messy,
        "orders": orders_messy,
    }
    return DemoDataset(
        input_dir=input_dir,
        fmt=fmt,
        paths=MappingProxyType(paths),
        rows=MappingProxyType(rows),
        messy=MappingProxyType(
            {
                t: MappingProxyType({k: len(v) for k, v in kinds.items()})
                for t, kinds in messy.items()
            }
        ),
        undeclared_columns=MappingProxyType(undeclared),
        consent_scenarios=MappingProxyType(scenarios),
        planted=planted,
        campaigns=campaign_truth,
    )
