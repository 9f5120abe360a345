"""A small bilingual (Chinese / English) vocabulary: column-name hints and value words.

Column names are matched after :func:`normalize_name` (lower case, no spaces, ``_``, ``-``
or ``.``). A hint proposes a data category, a privacy role, a treatment and, where the column
plays a part in profiling, a semantic role (``order_id``, ``amount``, ...). Value words are the
closed vocabularies whose meanings a draft may name (是/否, 已支付, 购买, ...): a draft names a
sample value only when it is one of these built-in words, never any other value.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

__all__ = [
    "BOOLEAN_WORDS",
    "CONSENT_WORDS",
    "EVENT_WORDS",
    "NAME_HINTS",
    "STATUS_WORDS",
    "NameHint",
    "hint_for",
    "normalize_name",
    "value_meanings",
]


def normalize_name(name: str) -> str:
    """Lower case without spaces, underscores, hyphens or dots (``Order_ID`` -> ``orderid``)."""
    return re.sub(r"[\s_\-.()（）]+", "", name).lower()


@dataclass(frozen=True)
class NameHint:
    """What a column name suggests.

    ``kind`` is the treatment family: ``id`` (pseudonymize), ``contact`` (drop), ``text``
    (scan), ``birthdate``/``age`` (age bands), ``city`` (to province), ``time`` (truncate),
    ``metric``, ``boolean``, ``attribute``, ``qi`` (quasi-identifier kept).
    """

    category: str
    kind: str
    semantic: str | None = None  # order_id, amount, time, status, category, event_type, ...
    exact: tuple[str, ...] = ()
    contains: tuple[str, ...] = ()
    suffixes: tuple[str, ...] = ()

    def matches(self, norm: str) -> bool:
        return (
            norm in self.exact
            or any(c in norm for c in self.contains)
            or any(norm.endswith(s) and len(norm) > len(s) for s in self.suffixes)
        )


# Order matters: the first matching hint wins (more specific hints first).
NAME_HINTS: tuple[NameHint, ...] = (
    NameHint("user.unique_id.wechat_unionid", "id", "subject_id", contains=("unionid",)),
    NameHint("user.unique_id.wechat_openid", "id", "subject_id", contains=("openid",)),
    NameHint(
        "user.government_id.resident_id",
        "contact",
        exact=("idcard", "idno", "residentid", "身份证", "身份证号", "身份证号码"),
        contains=("身份证",),
    ),
    NameHint(
        "user.contact.phone_number",
        "contact",
        exact=("phone", "mobile", "tel", "telephone", "phonenumber", "cellphone"),
        contains=("手机", "电话", "联系方式", "mobile", "phone"),
    ),
    NameHint("user.contact.email", "contact", contains=("email", "邮箱", "mail")),
    NameHint(
        "user.contact.address",
        "contact",
        exact=("address", "addr", "deliveryaddress", "shippingaddress"),
        contains=("地址", "address"),
    ),
    NameHint(
        "user.name",
        "contact",
        exact=("name", "nickname", "nick", "realname", "username", "fullname"),
        contains=("姓名", "昵称", "名字", "nickname", "realname"),
    ),
    NameHint(
        "user.behavior.purchase_history",
        "attribute",
        "order_id",
        exact=("orderid", "orderno", "ordernumber", "订单号", "订单编号", "订单id"),
        contains=("订单号", "订单编号"),
    ),
    NameHint(
        "user.unique_id",
        "id",
        "subject_id",
        exact=(
            "userid",
            "uid",
            "memberid",
            "customerid",
            "custid",
            "buyerid",
            "会员id",
            "会员编号",
            "会员号",
            "用户id",
            "用户编号",
            "客户id",
            "客户编号",
            "买家id",
        ),
    ),
    NameHint(
        "user.demographic.date_of_birth",
        "birthdate",
        exact=("birthdate", "birthday", "dob", "dateofbirth"),
        contains=("生日", "出生"),
    ),
    NameHint("user.demographic.age_range", "age", exact=("age", "年龄")),
    NameHint("user.demographic.gender", "qi", exact=("gender", "sex", "性别")),
    NameHint(
        "user.location.imprecise",
        "city",
        exact=("city", "城市", "所在城市", "区县", "district"),
        contains=("城市",),
    ),
    NameHint(
        "user.location.imprecise",
        "qi",
        exact=("province", "region", "country", "省份", "省", "地区"),
        contains=("省份",),
    ),
    NameHint(
        "user.privacy_preferences",
        "attribute",
        "consent_purpose",
        exact=("purpose", "datause"),
        contains=("用途", "目的", "purpose"),
    ),
    NameHint(
        "user.privacy_preferences",
        "consent",
        "consent_flag",
        contains=("同意", "授权", "consent", "optin", "optout", "退订"),
    ),
    NameHint(
        "user.behavior.purchase_history",
        "metric",
        "amount",
        exact=("amount", "price", "total", "payment", "gmv", "payamount"),
        contains=("金额", "实付", "价格", "amount"),
    ),
    NameHint(
        "user.behavior.purchase_history",
        "boolean",
        "coupon_flag",
        contains=("coupon", "优惠券", "用券"),
    ),
    NameHint(
        "user.behavior.purchase_history",
        "attribute",
        "status",
        exact=("status", "orderstatus", "state", "订单状态", "状态", "支付状态"),
        contains=("状态",),
    ),
    NameHint(
        "user.behavior",
        "time",
        "time",
        exact=("ts", "time", "timestamp", "datetime", "date", "createdat", "updatedat"),
        contains=("时间", "日期", "time", "date"),
        suffixes=("at",),
    ),
    NameHint(
        "user.behavior.browsing_history",
        "attribute",
        "event_type",
        exact=("eventtype", "event", "action", "behavior", "behaviortype", "actiontype"),
        contains=("行为", "事件"),
    ),
    NameHint(
        "user.behavior.browsing_history",
        "attribute",
        "category",
        exact=("category", "cat", "categoryid", "品类", "类目", "分类"),
        contains=("品类", "类目", "category"),
    ),
    NameHint(
        "user.content.private",
        "text",
        contains=("comment", "remark", "review", "note", "评价", "评论", "备注", "留言", "反馈"),
    ),
    NameHint(
        "user.behavior.search_history",
        "text",
        contains=("keyword", "search", "query", "搜索", "关键词"),
    ),
    NameHint(
        "user.behavior", "attribute", "channel", contains=("channel", "source", "渠道", "来源")
    ),
    NameHint(
        "user.behavior",
        "attribute",
        "member_level",
        contains=("level", "tier", "grade", "等级", "级别"),
    ),
    NameHint("user.demographic", "qi", "occupation", contains=("occupation", "job", "职业")),
    NameHint(
        "user.privacy_preferences",
        "attribute",
        "notice_version",
        contains=("version", "版本"),
    ),
)


def hint_for(name: str) -> NameHint | None:
    """The first name hint matching column ``name``, or None."""
    norm = normalize_name(name)
    for h in NAME_HINTS:
        if h.matches(norm):
            return h
    return None


# Closed value vocabularies: meaning -> words (compared after strip + lower case).
BOOLEAN_WORDS: dict[str, frozenset[str]] = {
    "true": frozenset({"是", "y", "yes", "1", "true", "t", "有", "已同意", "同意"}),
    "false": frozenset({"否", "n", "no", "0", "false", "f", "无", "未同意", "不同意"}),
}
CONSENT_WORDS: dict[str, frozenset[str]] = {
    "granted": frozenset({"granted", "同意", "已同意", "授权", "已授权", "是", "y", "yes", "1"}),
    "withdrawn": frozenset(
        {"withdrawn", "撤回", "已撤回", "拒绝", "不同意", "取消授权", "否", "n", "no", "0"}
    ),
}
STATUS_WORDS: dict[str, frozenset[str]] = {
    "paid": frozenset(
        {"paid", "已支付", "已付款", "支付成功", "交易成功", "已完成", "completed", "success"}
    ),
    "refunded": frozenset({"refunded", "已退款", "退款", "退款成功", "refund", "cancelled"}),
}
EVENT_WORDS: dict[str, frozenset[str]] = {
    "purchase": frozenset({"buy", "purchase", "pay", "order", "购买", "下单", "支付"}),
    "view": frozenset({"view", "pv", "click", "浏览", "点击", "查看"}),
    "cart": frozenset({"cart", "addtocart", "add_to_cart", "加购", "加入购物车", "购物车"}),
    "favourite": frozenset({"fav", "favorite", "favourite", "收藏"}),
}


def value_meanings(
    values: list[str], vocabulary: dict[str, frozenset[str]]
) -> tuple[dict[str, list[str]], int]:
    """Which of ``values`` are built-in words of ``vocabulary``, by meaning, and how many are
    not (those are never named)."""
    out: dict[str, list[str]] = {}
    unknown = 0
    for v in values:
        low = v.strip().lower()
        meaning = next((m for m, words in vocabulary.items() if low in words), None)
        if meaning is None:
            unknown += 1
        else:
            out.setdefault(meaning, []).append(v.strip())
    return {m: sorted(set(vs)) for m, vs in out.items()}, unknown
