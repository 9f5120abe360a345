"""CN_ADDRESS: Chinese postal addresses from a division gazetteer plus street-level rules.

jieba's ``ns`` tag finds place names but misses road names and tags plain words; a
gazetteer of provinces, cities and counties (NBS 2023, shipped in ``pii/data``) followed by
road / number / building / room parts finds delivery addresses. Scores: a street-level part
(路 + 号, 小区, 单元, 室) 0.8; a chain of two or more divisions (广东省深圳市) 0.55; a single
division name (北京) 0.35, which needs a context word (地址, 收货, 寄到) to be reported.

With the name model (``tagger``: the scanner passes its LAC tagger when ``names: lac``), runs
of adjacent LAC ``LOC`` words join in, extended by the number / building / room parts that
follow (广东省深圳市南山区科技园南路18号海岸城3栋1201室 is one span): a run of two or more
place words 0.7, with a number 0.85, a single place word holding a number (文三路90号) 0.8. A
single place word without a number is not an address (``CN_PLACE`` reports it). Overlapping
or touching gazetteer and model spans merge into one span with the higher score.
"""

from __future__ import annotations

import re
from functools import cache
from typing import TYPE_CHECKING, Any, ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern
from privacy_profile.refdata import read_rows

if TYPE_CHECKING:
    from privacy_profile.pii.lac import LacTagger

_PROVINCE_SUFFIX = re.compile(r"(省|市|壮族自治区|回族自治区|维吾尔自治区|自治区|特别行政区)$")
_CITY_SUFFIX = re.compile(r"(市|地区|盟|自治州)$")
_DIGIT = "[0-9０-９一二三四五六七八九十百零〇]"
_HAN = "\u4e00-\u9fff"


def _names(file: str) -> list[str]:
    return [row["name"] for row in read_rows(file)]


@cache
def division_regex() -> str:
    """An alternation of division names, long forms and unambiguous short forms."""
    names: set[str] = set()
    for n in _names("cn_admin_provinces.csv"):
        names.add(n)
        short = _PROVINCE_SUFFIX.sub("", n)
        if len(short) >= 2:
            names.add(short)
    for n in _names("cn_admin_cities.csv"):
        if n in ("市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"):
            continue
        names.add(n)
        short = _CITY_SUFFIX.sub("", n)
        if len(short) >= 2 and short != n:
            names.add(short)
    for n in _names("cn_admin_areas.csv"):
        if len(n) >= 3:
            names.add(n)
    return "|".join(re.escape(n) for n in sorted(names, key=len, reverse=True))


@cache
def division_trie_regex() -> str:
    """:func:`division_regex` factored into a trie, led by a first-character look-ahead.

    Same matches, in the same order: the names matching at one position lie on one path of
    the trie, and each node tries its longer continuations before ending (longest first, as
    in the sorted alternation). Python's ``re`` tries alternatives one by one, so the trie
    and the look-ahead make the gazetteer scan ~5x faster.
    """
    names = [re.sub(r"\\(.)", r"\1", n) for n in division_regex().split("|")]
    trie: dict[str, Any] = {}
    for n in names:
        node = trie
        for ch in n:
            node = node.setdefault(ch, {})
        node[""] = {}

    def build(node: dict[str, Any]) -> str:
        branches = [re.escape(ch) + build(child) for ch, child in sorted(node.items()) if ch]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return f"(?=[{division_first_chars()}]){build(trie)}"


@cache
def division_first_chars() -> str:
    """The first characters of the division names (for a character class)."""
    names = [re.sub(r"\\(.)", r"\1", n) for n in division_regex().split("|")]
    return "".join(sorted({re.escape(n[0]) for n in names}))


_ROAD = rf"[{_HAN}]{{1,6}}?(?:大道|大街|路|街|巷|弄|胡同|里)"  # Han only: 比4输给里 is no road
_NUMBER = rf"(?:{_DIGIT}{{1,5}}[-－]?)+(?:号院|号|弄|栋|幢|号楼|座)"
_UNIT = rf"(?:{_DIGIT}{{1,5}}[-－]?[A-Za-z]?(?:号楼|栋|幢|单元|层|楼|室|户|座|号)|[A-Za-z]座)"
_ESTATE = rf"[{_HAN}]{{2,8}}?(?:小区|花园|公寓|大厦|广场|新村|家园|苑|村|社区|镇|乡|街道)"


#: Last characters of a road or estate word: a street part cannot match without one.
_STREET_END = re.compile("[道街路巷弄同里区园寓厦场村苑镇乡]")
#: Number, building, unit and room parts after a place word (LAC tags them m/xc/nz).
_TAIL = re.compile(rf"(?:[ \u3000]?(?:{_UNIT}|{_NUMBER}))+")
#: After a run that already holds a number, bare numbers (海岸城3栋 1201, T3 1508) too.
_TAIL_LOOSE = re.compile(
    rf"(?:[ \u3000]?(?:{_UNIT}|{_NUMBER}|[A-Za-z]{{0,2}}{_DIGIT}{{1,5}}(?:室|号|楼|层)?))+"
)
_TAIL_STOP = re.compile(rf"[年月日号元万亿个%％人岁kKmM]|{_DIGIT}")
_HAS_DIGIT = re.compile(_DIGIT)
_HAN_RE = re.compile(f"[{_HAN}]")


class CnAddressRecognizer(ContextPatternRecognizer):
    """Divisions + road/number/estate/unit parts (built from the gazetteer at first use)."""

    ENTITY = "CN_ADDRESS"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT = (
        "地址", "收货", "寄到", "送到", "住在", "住址", "家住", "位于", "快递", "配送", "邮寄",
        "address",
    )  # fmt: skip
    CONTEXT_WINDOW = 8
    LANGUAGES = ("zh",)
    STREET_SCORE: ClassVar[float] = 0.8
    CHAIN_SCORE: ClassVar[float] = 0.55
    SINGLE_SCORE: ClassVar[float] = 0.35

    RUN_SCORE: ClassVar[float] = 0.7
    RUN_NUMBER_SCORE: ClassVar[float] = 0.85
    WORD_NUMBER_SCORE: ClassVar[float] = 0.8

    def __init__(self, supported_language: str = "zh", *, tagger: LacTagger | None = None):
        super().__init__(supported_language)
        self.tagger = tagger
        div = f"(?:{division_trie_regex()})"
        street = rf"(?:{_ROAD}(?:{_NUMBER})?|{_ESTATE})(?:{_UNIT}|{_NUMBER})*"
        self._street = re.compile(rf"(?P<div>(?:{div}){{0,4}})(?P<street>{street})")
        self._divs = re.compile(rf"(?:{div})+")
        self._div1 = re.compile(div)

    def prefilter(self) -> re.Pattern[str] | None:
        """A division's first character or a street part's last character."""
        return re.compile(f"[{division_first_chars()}]|{_STREET_END.pattern}")

    def matches(self, text: str) -> list[Match]:
        found: list[tuple[int, int, float]] = []
        streets = self._street.finditer(text) if _STREET_END.search(text) else ()
        for m in streets:
            street = m.group("street")
            has_number = re.search(_DIGIT, street) is not None
            if not m.group("div") and not has_number:
                continue  # "大道" / "小区" alone: not an address
            found.append((m.start(), m.end(), self.STREET_SCORE))
        for m in self._divs.finditer(text):
            s, e = m.span()
            if any(a <= s < b for a, b, _ in found):
                continue
            n = len(self._div1.findall(m.group()))
            score = self.CHAIN_SCORE if n >= 2 else self.SINGLE_SCORE
            found.append((s, e, score))
        out: list[Match] = []
        for s, e, score in found:
            if self.has_context(text, s, e):
                score += self.CONTEXT_BOOST
            out.append((s, e, min(score, 1.0), "gazetteer"))
        if self.tagger is None:
            return out
        return _merge([*out, *self._model_spans(text)])

    def _model_spans(self, text: str) -> list[Match]:
        """Addresses from runs of LAC ``LOC`` words plus the parts that follow them."""
        assert self.tagger is not None
        runs: list[list[int]] = []  # [start, end, words]
        for s, e, tag in self.tagger.words(text):
            if tag != "LOC":
                continue
            if runs and runs[-1][1] == s:
                runs[-1][1] = e
                runs[-1][2] += 1
            else:
                runs.append([s, e, 1])
        out: list[Match] = []
        for s, e, n in runs:
            if not _HAN_RE.search(text, s, e):
                continue  # digits or Latin letters alone are not a place
            number = _HAS_DIGIT.search(text, s, e) is not None
            tail = (_TAIL_LOOSE if number else _TAIL).match(text, e)
            took_tail = False
            if tail is not None and tail.end() > e:
                after = text[tail.end() : tail.end() + 1]
                if not _TAIL_STOP.match(after):
                    e, number, took_tail = tail.end(), True, True
            if not took_tail and self._divs.fullmatch(text, s, e):
                # division names only (四川省: its 四 is no house number): the gazetteer scores
                # those; a lone province or city is a place, not an address
                continue
            if n >= 2:
                score = self.RUN_NUMBER_SCORE if number else self.RUN_SCORE
            elif number:
                score = self.WORD_NUMBER_SCORE
            else:
                continue  # a bare place name: CN_PLACE
            if self.has_context(text, s, e):
                score += self.CONTEXT_BOOST
            out.append((s, e, min(score, 1.0), "lac"))
        return out


def _merge(spans: list[Match]) -> list[Match]:
    """Overlapping or touching spans as one span with the highest score among them."""
    out: list[Match] = []
    for s, e, score, name in sorted(spans):
        if out and s <= out[-1][1]:
            ps, pe, psc, pname = out[-1]
            best = pname if psc >= score else name
            out[-1] = (ps, max(pe, e), max(psc, score), best)
        else:
            out.append((s, e, score, name))
    return out
