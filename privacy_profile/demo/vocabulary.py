"""The demo data set's vocabulary: array types, event types, categories, channels, messy-row
kinds, consent scenarios and their weights, and the result types of the generator."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from types import MappingProxyType
from typing import Final, Literal

import numpy as np
import numpy.typing as npt

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

    def messy_rows(self, table: str) -> int:
        return sum(self.messy.get(table, {}).values())
