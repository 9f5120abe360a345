"""CN_PERSON: Chinese person names, scored by surname and given-name character statistics.

Chosen by measurement on CLUENER2020 (``benchmarks/pii_eval.py``, docs/pii.md). Every listed
surname (~430 single and compound) followed by one or two Han characters is a candidate,
scored by a logistic model over: how often the surname starts a name and the given-name
characters occur in names rather than in ordinary words (counts from jieba's own dictionary,
computed at first use: no name list ships with us), whether the candidate or its edges form
dictionary words, punctuation and Han characters around it, context words (先生, 我叫,
收件人, 表示...) and, only for texts where it can still change the outcome, whether jieba's
POS tagger segments the candidate as a person name (``nr``). The model's weights and the
operating point were fitted on CLUENER train (research use: only these numbers are kept,
no CLUENER text) and evaluated on CLUENER dev. The score is the model's probability, so the
scanner's default threshold 0.5 is the precision-oriented point (~3% of name-free sentences
altered); lower thresholds trade alteration for recall (docs/pii.md has the curve). Names
without a listed surname (transliterated foreign names) are not found.
"""

from __future__ import annotations

import bisect
import math
import re
import threading
from functools import cache
from importlib import resources
from typing import Any, ClassVar

from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Match, Pattern

_HAN_CHAR = re.compile(r"[\u4e00-\u9fff]")
_LOCK = threading.Lock()
#: Shop words jieba's dictionary tags ``nr`` (measured false positives on comments).
STOPWORDS = frozenset(
    "连衣裙 谢谢 蓝牙 高跟鞋 牛仔裤 包邮 满意 卫衣 毛衣 方便 安全 舒服 温柔 于是 万一 常常 "
    "高兴 高端 宝贝 江湖 金额 司机 文件 石头 黄金 白色 黑色 红色 林林总总".split()
)


@cache
def surnames() -> tuple[frozenset[str], frozenset[str]]:
    """(single-character surnames, compound surnames) shipped in ``pii/data``."""
    data = resources.files("privacy_profile.pii.data")
    single = frozenset(data.joinpath("cn_surnames.txt").read_text(encoding="utf-8").strip())
    compound = frozenset(
        data.joinpath("cn_compound_surnames.txt").read_text(encoding="utf-8").split()
    )
    return single, compound


@cache
def _posseg() -> Any:
    import logging

    with _LOCK:
        import jieba
        import jieba.posseg

        jieba.setLogLevel(logging.WARNING)
        jieba.initialize()
        return jieba.posseg


def pos_tags(text: str) -> tuple[frozenset[tuple[int, int]], frozenset[int]]:
    """jieba POS cut of ``text``: (spans of person-name tokens, token boundaries)."""
    nr: set[tuple[int, int]] = set()
    bounds: set[int] = set()
    pos = 0
    for word, flag in _posseg().cut(text):
        bounds.add(pos)
        if flag in ("nr", "nrfg", "nrt"):
            nr.add((pos, pos + len(word)))
        pos += len(word)
    bounds.add(pos)
    return frozenset(nr), frozenset(bounds)


def has_surname(word: str) -> bool:
    """True when ``word`` starts with a listed single or compound surname."""
    single, compound = surnames()
    return word[:2] in compound or word[0] in single


_TITLES = ("先生", "女士", "小姐", "老师", "师傅", "同学", "经理")
_AFTER = (
    *_TITLES, "总", "教授", "博士", "医生", "主任", "书记", "局长", "院长", "说", "表示", "认为",
    "指出", "称",
)  # fmt: skip
_BEFORE = (
    "我叫", "叫", "联系人", "收件人", "收货人", "姓名", "名字", "寄件人", "记者", "作者", "导演",
    "主演", "教练", "球员", "总统", "主席",
)  # fmt: skip
_BEFORE_SET, _BEFORE_LENS = frozenset(_BEFORE), sorted({len(b) for b in _BEFORE})
_AFTER_SET, _AFTER_LENS = frozenset(_AFTER), sorted({len(a) for a in _AFTER})
_PUNCT = frozenset("，。、；：“”（）《》 ,")


class _Stats:
    """Character and word statistics from jieba's dictionary (loaded once, at first use)."""

    def __init__(self) -> None:
        single, compound = surnames()
        given: dict[str, int] = {}
        starts: dict[str, int] = {}
        chars: dict[str, int] = {}
        words: dict[str, str] = {}
        path = resources.files("jieba").joinpath("dict.txt")
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                word, freq, tag = line.split()
                words[word] = tag
                for c in word:
                    chars[c] = chars.get(c, 0) + int(freq)
                if tag != "nr" or not 2 <= len(word) <= 3 or not all(map(_HAN_CHAR.match, word)):
                    continue
                sur = word[:2] if word[:2] in compound else word[0] if word[0] in single else ""
                if not sur or len(word) == len(sur):
                    continue
                starts[sur] = starts.get(sur, 0) + 1
                for c in word[len(sur) :]:
                    given[c] = given.get(c, 0) + 1
        n_given, n_starts, n_chars = sum(given.values()), sum(starts.values()), sum(chars.values())
        self.words = words
        self._given = {c: math.log((k + 0.5) / n_given) for c, k in given.items()}
        self._given_default = math.log(0.5 / n_given)
        self._starts = {c: math.log((k + 0.5) / n_starts) for c, k in starts.items()}
        self._starts_default = math.log(0.5 / n_starts)
        self._chars = chars
        self._n_chars = n_chars

    def _text_log(self, c: str) -> float:
        return math.log((self._chars.get(c, 0) + 50) / self._n_chars)

    def given(self, c: str) -> float:
        """log P(c in a given name) - log P(c in ordinary words)."""
        return self._given.get(c, self._given_default) - self._text_log(c)

    def surname(self, s: str) -> float:
        """log P(s starts a name) - log P(s in ordinary words); compound surnames: 2.0."""
        if len(s) > 1:
            return 2.0
        return self._starts.get(s, self._starts_default) - self._text_log(s)


@cache
def _stats() -> _Stats:
    with _LOCK:
        return _Stats()


def _logit(p: float) -> float:
    return math.log(p / (1.0 - p))


_TITLE_RE = re.compile("|".join(_TITLES))


def title_forms(text: str) -> list[tuple[int, int]]:
    """Spans of a bare surname with a form of address (李先生, 欧阳女士), not inside a word."""
    single, compound = surnames()
    out: list[tuple[int, int]] = []
    for m in _TITLE_RE.finditer(text):
        t = m.start()
        for k in (2, 1):
            sur = text[t - k : t]
            if t - k >= 0 and (sur in compound or (k == 1 and sur in single)):
                prev = text[t - k - 1] if t - k > 0 else ""
                if _stats().words.get(prev + sur[0], "nr") == "nr":
                    out.append((t - k, m.end()))
                break
    return out


class CnPersonRecognizer(ContextPatternRecognizer):
    """Surname + 1-2 Han characters scored by a logistic model (see the module docstring)."""

    ENTITY = "CN_PERSON"
    PREFILTER = "[\\u4e00-\\u9fff]{2}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT = (*_BEFORE, *_AFTER)
    LANGUAGES = ("zh",)
    #: Logistic weights fitted on CLUENER train (numbers only; see benchmarks/pii_eval.py).
    WEIGHTS: ClassVar[dict[str, float]] = {
        "intercept": -9.626, "sur": 0.757, "g1": 0.278, "g2": 0.41, "len3": 0.428,
        "dictword": -1.359, "dictnr": -2.005, "prevword": -0.69, "nextword": -0.878,
        "prevhan": 0.835, "nexthan": 0.824, "ctx_after": 2.176, "ctx_before": 2.513,
        "punct_before": 1.296, "punct_after": 1.575, "jnr": 1.753, "jalign": 3.061,
    }  # fmt: skip
    #: Candidates scoring below this are not reported (and jieba is skipped when none can
    #: reach it), so thresholds under 0.3 find no more names.
    REPORT_FLOOR: ClassVar[float] = 0.3
    TITLE_SCORE: ClassVar[float] = 0.85
    #: jieba blocks whose tags are kept (per recognizer, so per scanner: nothing outlives it).
    POS_CACHE_SIZE: ClassVar[int] = 1 << 16

    def __init__(self, supported_language: str = "zh") -> None:
        super().__init__(supported_language)
        self._pos_cache: dict[str, tuple[frozenset[tuple[int, int]], frozenset[int]]] = {}

    def _pos_tags_cached(self, block: str) -> tuple[frozenset[tuple[int, int]], frozenset[int]]:
        got = self._pos_cache.get(block)
        if got is None:
            if len(self._pos_cache) >= self.POS_CACHE_SIZE:
                self._pos_cache.clear()
            got = self._pos_cache[block] = pos_tags(block)
        return got

    def candidates(self, text: str) -> list[tuple[int, int, float]]:
        """(start, end, logit without the jieba terms) for every surname candidate."""
        single, compound = surnames()
        st = _stats()
        w = self.WEIGHTS
        words = st.words
        n = len(text)
        out: list[tuple[int, int, float]] = []
        for i, ch in enumerate(text):
            surs = []
            if text[i : i + 2] in compound:
                surs.append(text[i : i + 2])
            if ch in single:
                surs.append(ch)
            if not surs:
                continue
            prev = text[i - 1] if i else ""
            ctx_before = any(i >= k and text[i - k : i] in _BEFORE_SET for k in _BEFORE_LENS)
            for sur in surs:
                base = w["intercept"] + w["sur"] * st.surname(sur)
                if prev:
                    if words.get(prev + sur[0], "nr") != "nr":
                        base += w["prevword"]
                    if _HAN_CHAR.match(prev):
                        base += w["prevhan"]
                if not prev or prev in _PUNCT:
                    base += w["punct_before"]
                if ctx_before:
                    base += w["ctx_before"]
                for glen in (1, 2):
                    j = i + len(sur) + glen
                    if j > n:
                        break
                    given = text[i + len(sur) : j]
                    if not _HAN_CHAR.match(given[-1]):
                        break
                    cand = text[i:j]
                    if cand in STOPWORDS:
                        continue
                    nxt = text[j] if j < n else ""
                    score = base + w["g1"] * st.given(given[0])
                    if glen == 2:
                        score += w["g2"] * st.given(given[1]) + w["len3"]
                    tag = words.get(cand)
                    if tag is not None:
                        score += w["dictnr"] if tag == "nr" else w["dictword"]
                    if nxt:
                        if words.get(cand[-1] + nxt, "nr") != "nr":
                            score += w["nextword"]
                        if _HAN_CHAR.match(nxt):
                            score += w["nexthan"]
                    if not nxt or nxt in _PUNCT:
                        score += w["punct_after"]
                    if any(text[j : j + k] in _AFTER_SET for k in _AFTER_LENS):
                        score += w["ctx_after"]
                    out.append((i, j, score))
        return out

    def matches(self, text: str) -> list[Match]:
        w = self.WEIGHTS
        floor = _logit(self.REPORT_FLOOR)
        cands = self.candidates(text)
        scored: list[tuple[float, int, int]] = []
        # jieba only where it can lift a candidate over the floor, and only on the jieba
        # blocks holding such candidates (jieba cuts each block alone: same tags, tested).
        reach = [c for c in cands if c[2] + w["jnr"] + w["jalign"] >= floor]
        if reach:
            blocks = [m.span() for m in _posseg().re_han_internal.finditer(text)]
            starts = [b[0] for b in blocks]
            whole: tuple[frozenset[tuple[int, int]], frozenset[int]] | None = None
            for s, e, logit in reach:
                k = bisect.bisect_right(starts, s) - 1
                if k >= 0 and e <= blocks[k][1]:
                    b0, b1 = blocks[k]
                    nr, bounds = self._pos_tags_cached(text[b0:b1])
                    s0, e0 = s - b0, e - b0
                else:  # the candidate crosses a block edge: tag the whole text
                    whole = whole or pos_tags(text)
                    (nr, bounds), s0, e0 = whole, s, e
                logit += w["jnr"] if (s0, e0) in nr else 0.0
                logit += w["jalign"] if s0 in bounds and e0 in bounds else 0.0
                if logit >= floor:
                    scored.append((1.0 / (1.0 + math.exp(-logit)), s, e))
        scored.extend((self.TITLE_SCORE, s, e) for s, e in title_forms(text))
        kept: list[tuple[float, int, int]] = []
        for score, s, e in sorted(scored, key=lambda x: (-x[0], -(x[2] - x[1]), x[1])):
            if all(e <= a or b <= s for _, a, b in kept):
                kept.append((score, s, e))
        return [(s, e, sc, "surname_model") for sc, s, e in sorted(kept, key=lambda x: x[1])]
