"""Vectorized builders of synthetic identifiers and Chinese text (numpy string arrays).

Every function takes a :class:`numpy.random.Generator` and a row count and returns a numpy
unicode array; none loops over rows in Python. The identifiers are synthetic: resident IDs use
a real area code, a birth date and the GB 11643 MOD 11-2 check character; bank cards a real BIN
at its issued length plus the Luhn digit; mobile numbers a real mobile prefix. Any resemblance
to a real person's identifier is a coincidence of random digits.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import cast

import numpy as np
import numpy.typing as npt

from privacy_profile._checksums import gb11643_check_chars, luhn_check_digits

__all__ = [
    "MOBILE_PREFIXES",
    "Divisions",
    "addresses",
    "bank_cards",
    "bank_names",
    "bins",
    "choice_strings",
    "concat",
    "divisions",
    "emails",
    "format_mobiles",
    "full_width_digits",
    "gb11643_check_chars",
    "luhn_check_digits",
    "mobile_numbers",
    "nicknames",
    "person_names",
    "random_token",
    "resident_ids",
    "to_text",
]

StrArray = npt.NDArray[np.str_]
IntArray = npt.NDArray[np.int64]

# Allocated mainland mobile prefixes (13x, 15x, 17x, 18x, 19x; 154, 174 and 179 are not mobile
# number blocks in use, 194 is unallocated).
MOBILE_PREFIXES: tuple[int, ...] = (
    *range(130, 140),
    150, 151, 152, 153, 155, 156, 157, 158, 159,
    170, 171, 172, 173, 175, 176, 177, 178,
    *range(180, 190),
    190, 191, 192, 193, 195, 196, 197, 198, 199,
)  # fmt: skip

# Common surnames with rough shares (per mille) from the 2020 census, plus compound surnames.
_SURNAMES = (
    ("王", 71), ("李", 70), ("张", 64), ("刘", 54), ("陈", 46), ("杨", 31), ("黄", 25),
    ("赵", 23), ("吴", 20), ("周", 19), ("徐", 15), ("孙", 15), ("马", 14), ("朱", 13),
    ("胡", 12), ("郭", 12), ("何", 11), ("林", 11), ("高", 11), ("罗", 10), ("郑", 9),
    ("梁", 9), ("谢", 8), ("宋", 8), ("唐", 7), ("许", 7), ("韩", 7), ("冯", 7), ("邓", 7),
    ("曹", 6), ("彭", 6), ("曾", 6), ("肖", 6), ("田", 5), ("董", 5), ("潘", 5), ("袁", 5),
    ("蔡", 5), ("蒋", 5), ("余", 5), ("欧阳", 1), ("上官", 1), ("司马", 1), ("诸葛", 1),
)  # fmt: skip
_GIVEN = tuple(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉萍红玲斌宇浩凯鹏俊帅辉婷雪琳欣怡"
    "佳慧颖雨萱涵晶倩梅洁璐思梦晨嘉泽天安子一诗睿轩博文建国志"
)
_HANDLE_PREFIX = ("小", "阿", "老")
_EMAIL_LOCAL = (
    "zhangwei", "wangfang", "lina", "liuyang", "chenjing", "yangmin", "huanglei", "zhaoli",
    "wujun", "zhouxin", "xuyan", "sunhao", "maxiaoyu", "zhujie", "hulin", "guoqiang",
)  # fmt: skip
_EMAIL_DOMAINS = ("163.com", "126.com", "sina.com", "foxmail.com", "gmail.com", "outlook.com")
_ROADS = (
    "人民路", "中山路", "解放路", "建设路", "和平路", "新华路", "长江路", "黄河路", "文化路",
    "学府路", "科技园路", "滨江大道", "东风大街", "青年路", "胜利街", "友谊路", "光明路",
    "幸福路", "朝阳路", "迎宾大道",
)  # fmt: skip
_ESTATES = (
    "阳光花园", "锦绣家园", "翠湖小区", "金色家园", "幸福里小区", "丽景苑", "学府公寓",
    "东方大厦", "滨江花园", "绿城新村",
)  # fmt: skip
_BASE64URL = np.frombuffer(
    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_", dtype=np.uint8
).astype(np.uint32)


def _data_rows(name: str) -> list[dict[str, str]]:
    with (
        resources.files("privacy_profile.demo").joinpath("data", name).open(encoding="utf-8") as fh
    ):
        return list(csv.DictReader(fh))


@dataclass(frozen=True)
class Divisions:
    """The shipped subset of administrative divisions, with a sampling weight per district."""

    area_code: IntArray
    district: StrArray
    city: StrArray
    province: StrArray
    weight: npt.NDArray[np.float64]


@cache
def divisions() -> Divisions:
    rows = _data_rows("cn_divisions_subset.csv")
    w = np.array([float(r["weight"]) for r in rows])
    return Divisions(
        area_code=np.array([int(r["area_code"]) for r in rows], dtype=np.int64),
        district=np.array([r["district"] for r in rows]),
        city=np.array([r["city"] for r in rows]),
        province=np.array([r["province"] for r in rows]),
        weight=w / w.sum(),
    )


@cache
def bins() -> tuple[tuple[str, str, int], ...]:
    """(BIN, bank code, card length) of the shipped BIN subset."""
    return tuple(
        (r["bin"], r["bank"], int(r["length"])) for r in _data_rows("cn_bankcard_bin_subset.csv")
    )


@cache
def bank_names() -> dict[str, str]:
    """Bank code -> bank name for the shipped BIN subset."""
    return {r["bank"]: r["bank_name"] for r in _data_rows("cn_bankcard_bin_subset.csv")}


# --------------------------------------------------------------------------- string helpers


def to_text(values: npt.NDArray[np.integer]) -> StrArray:
    """Integers to decimal strings."""
    return values.astype(np.str_)


def concat(*parts: StrArray | str) -> StrArray:
    """Element-wise concatenation of string arrays and scalars."""
    out: StrArray = np.asarray(parts[0], dtype=np.str_)
    for p in parts[1:]:
        out = np.strings.add(out, p)
    return out


def choice_strings(
    rng: np.random.Generator,
    n: int,
    options: tuple[str, ...] | list[str],
    p: npt.NDArray[np.float64] | None = None,
) -> StrArray:
    return np.asarray(options)[rng.choice(len(options), size=n, p=p)]


def random_token(rng: np.random.Generator, n: int, length: int) -> StrArray:
    """``n`` random strings of ``length`` characters of ``[A-Za-z0-9_-]``."""
    codes = _BASE64URL[rng.integers(0, 64, size=(n, length), dtype=np.uint8)]
    return cast(StrArray, np.ascontiguousarray(codes).view(np.dtype(("U", length))).reshape(n))


def full_width_digits(values: StrArray) -> StrArray:
    """ASCII digits to full-width digits (０-９), other characters unchanged."""
    a = np.ascontiguousarray(values)
    width = a.dtype.itemsize // 4
    if len(a) == 0 or width == 0:
        return a
    codes = a.view(np.uint32).reshape(len(a), width).copy()
    digit = (codes >= 0x30) & (codes <= 0x39)
    codes[digit] += 0xFF10 - 0x30
    return codes.view(a.dtype).reshape(len(a))


# --------------------------------------------------------------------------- identifiers


def mobile_numbers(rng: np.random.Generator, n: int) -> StrArray:
    """Plain 11-digit mobile numbers with a real mobile prefix."""
    prefix = np.asarray(MOBILE_PREFIXES, dtype=np.int64)[rng.integers(0, len(MOBILE_PREFIXES), n)]
    return to_text(prefix * 100_000_000 + rng.integers(0, 100_000_000, n, dtype=np.int64))


def format_mobiles(rng: np.random.Generator, plain: StrArray) -> StrArray:
    """Mixed real-world spellings: plain, ``+86 138 1234 5678``, ``138-1234-5678``, full width."""
    n = len(plain)
    a, b, c = (np.strings.slice(plain, i, j) for i, j in ((0, 3), (3, 7), (7, 11)))
    kind = rng.choice(6, size=n, p=[0.55, 0.15, 0.12, 0.06, 0.06, 0.06])
    out = plain.astype("<U24")
    out[kind == 1] = concat("+86 ", a, " ", b, " ", c)[kind == 1]
    out[kind == 2] = concat(a, "-", b, "-", c)[kind == 2]
    out[kind == 3] = concat(a, " ", b, " ", c)[kind == 3]
    out[kind == 4] = full_width_digits(plain)[kind == 4]
    out[kind == 5] = concat("+86", plain)[kind == 5]
    return out


def resident_ids(
    rng: np.random.Generator, area_code: IntArray, birth_ymd: IntArray, male: npt.NDArray[np.bool_]
) -> StrArray:
    """18-character resident IDs: area code, birth date, sequence (odd for men), check char.

    About a third of the ``X`` check characters are written in lower case, as users type them.
    """
    n = len(area_code)
    seq = rng.integers(0, 500, n, dtype=np.int64) * 2 + male.astype(np.int64)
    body = area_code * 100_000_000_000 + birth_ymd * 1000 + seq
    check = gb11643_check_chars(body)
    lower = (check == "X") & (rng.random(n) < 0.35)
    check[lower] = "x"
    return concat(to_text(body), check)


def bank_cards(rng: np.random.Generator, n: int) -> tuple[StrArray, StrArray]:
    """Bank card numbers (real BIN, issued length, Luhn digit) and their banks' names."""
    table = bins()
    pick = rng.integers(0, len(table), n)
    out = np.empty(n, dtype="<U19")
    banks = np.empty(n, dtype="<U12")
    names = bank_names()
    for i, (bin_, bank, length) in enumerate(table):  # a loop over the few BINs, not rows
        rows = np.flatnonzero(pick == i)
        if len(rows) == 0:
            continue
        rest = length - 1 - len(bin_)
        payload = int(bin_) * 10**rest + rng.integers(0, 10**rest, len(rows), dtype=np.int64)
        check = luhn_check_digits(payload, length - 1)
        out[rows] = to_text(payload * 10 + check)
        banks[rows] = names[bank]
    return out, banks


def person_names(rng: np.random.Generator, n: int) -> StrArray:
    """Chinese full names: a surname weighted by frequency and one or two given characters."""
    w = np.array([s for _, s in _SURNAMES], dtype=np.float64)
    surname = np.array([s for s, _ in _SURNAMES])[rng.choice(len(_SURNAMES), n, p=w / w.sum())]
    given = np.array(_GIVEN)
    first = given[rng.integers(0, len(given), n)]
    second = np.where(rng.random(n) < 0.7, given[rng.integers(0, len(given), n)], "")
    return concat(surname, first, second)


def nicknames(rng: np.random.Generator, n: int) -> StrArray:
    """WeChat nicknames: mostly real-looking names, some ``小王`` / ``阿明`` style handles."""
    names = person_names(rng, n)
    handle = concat(
        choice_strings(rng, n, _HANDLE_PREFIX), np.array(_GIVEN)[rng.integers(0, len(_GIVEN), n)]
    )
    return np.where(rng.random(n) < 0.88, names, handle)


def emails(rng: np.random.Generator, n: int) -> StrArray:
    """E-mail addresses: pinyin names with digits at common mail providers, or QQ numbers."""
    local = concat(
        choice_strings(rng, n, _EMAIL_LOCAL),
        np.where(rng.random(n) < 0.7, to_text(rng.integers(1, 2000, n)), ""),
    )
    named = concat(local, "@", choice_strings(rng, n, _EMAIL_DOMAINS))
    qq = concat(to_text(rng.integers(10_000_000, 3_000_000_000, n, dtype=np.int64)), "@qq.com")
    return np.where(rng.random(n) < 0.3, qq, named)


def addresses(rng: np.random.Generator, n: int, district_index: IntArray) -> StrArray:
    """Delivery addresses: province, city, district, road and number, often an estate and unit."""
    div = divisions()
    province = div.province[district_index]
    city = div.city[district_index]
    district = div.district[district_index]
    head = concat(
        province,
        np.where(city == province, "", city),  # municipalities: 北京市朝阳区
        np.where(district == city, "", district),  # cities without districts: 东莞市
    )
    road = concat(choice_strings(rng, n, _ROADS), to_text(rng.integers(1, 999, n)), "号")
    unit = concat(
        choice_strings(rng, n, _ESTATES),
        to_text(rng.integers(1, 30, n)),
        "栋",
        to_text(rng.integers(1, 33, n)),
        np.strings.zfill(to_text(rng.integers(1, 6, n)), 2),
        "室",
    )
    return concat(head, road, np.where(rng.random(n) < 0.7, unit, ""))
