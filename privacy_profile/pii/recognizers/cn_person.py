"""CN_PERSON: Chinese person names from jieba part-of-speech tags, filtered by surname.

Chosen by measurement on CLUENER dev (``benchmarks/pii_eval.py``, see docs/pii.md): jieba's
``nr`` tag alone alters a third of name-free cells (products such as 连衣裙 are tagged as
names); requiring a surname from a list of ~430 common single and compound surnames, a
2-4 character all-Han token, and scoring context words (先生, 收件人, 姓名...) keeps most
true names. Transliterated foreign names (温格) carry no surname and are only reported next
to a context word.
"""

from __future__ import annotations

import re
import threading
from functools import cache
from importlib import resources
from typing import Any, ClassVar

from privacy_profile.pii._presidio import RecognizerResult
from privacy_profile.pii.recognizers._base import ContextPatternRecognizer, Pattern

_HAN = re.compile(r"[\u4e00-\u9fff]{2,4}")
_TITLE = re.compile(r"(?P<v>[\u4e00-\u9fff]{1,2})(?=先生|女士|小姐|老师|师傅|同学|经理|总)")
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


def has_surname(word: str) -> bool:
    """True when ``word`` starts with a listed single or compound surname."""
    single, compound = surnames()
    return word[:2] in compound or word[0] in single


class CnPersonRecognizer(ContextPatternRecognizer):
    """jieba ``nr`` tokens that start with a surname; ``X先生`` style forms of address."""

    ENTITY = "CN_PERSON"
    PREFILTER = "[\u4e00-\u9fff]{2}"
    PATTERNS: ClassVar[tuple[Pattern, ...]] = ()
    CONTEXT = (
        "先生", "女士", "小姐", "收件人", "收货人", "联系人", "姓名", "名字", "客户", "签收",
        "老师", "经理", "师傅", "叫", "寄件人", "本人",
    )  # fmt: skip
    CONTEXT_WINDOW = 6
    LANGUAGES = ("zh",)
    SURNAME_SCORE: ClassVar[float] = 0.6
    NO_SURNAME_SCORE: ClassVar[float] = 0.3
    TITLE_SCORE: ClassVar[float] = 0.55

    def analyze(
        self, text: str, entities: list[str], nlp_artifacts: Any = None
    ) -> list[RecognizerResult]:
        if entities and self.ENTITY not in entities:
            return []
        spans: dict[tuple[int, int], float] = {}
        pos = 0
        for word, flag in _posseg().cut(text):
            start, end = pos, pos + len(word)
            pos = end
            if flag not in ("nr", "nrfg", "nrt") or word in STOPWORDS or not _HAN.fullmatch(word):
                continue
            base = self.SURNAME_SCORE if has_surname(word) else self.NO_SURNAME_SCORE
            if self.has_context(text, start, end):
                base += self.CONTEXT_BOOST
            spans[(start, end)] = max(spans.get((start, end), 0.0), min(base, 1.0))
        for m in _TITLE.finditer(text):
            s, e = m.span("v")
            word = m.group("v")
            if not has_surname(word):
                continue
            if len(word) == 2 and word[:2] not in surnames()[1]:
                s, word = s + 1, word[1:]
                if not has_surname(word):
                    continue
            if not any(a <= s and e <= b for a, b in spans):
                spans[(s, e)] = self.TITLE_SCORE + self.CONTEXT_BOOST
        return [
            self.make_result(s, e, score, "jieba_nr") for (s, e), score in sorted(spans.items())
        ]
