"""The fast path (recognizers called directly, behind pre-filters) equals the presidio path."""

from __future__ import annotations

import random
import re

import pytest
from test_recognizers import TABLES

from privacy_profile.pii import PiiScanner, ScanConfig, build_analyzer, synth
from privacy_profile.pii._presidio import PatternRecognizer
from privacy_profile.pii.recognizers import RECOGNIZERS, default_entities
from privacy_profile.pii.recognizers.cn_address import division_regex, division_trie_regex

_FILLERS = [
    "收到货了，质量不错，下次还来",
    "请周末送货，工作日不在家",
    "The parcel arrived on time, thanks!",
    "收件人王小明，送到北京市朝阳区建国路88号3单元501室",
    "加我qq 123456789 或微信 abc_12345，ip 10.0.0.1",
    "李先生的车牌京A12345，护照E12345678",
    "openid o6_bmjrPTlm6_2sgVt7hMZOPfL2M unionid oAbCdEfGhIjKlMnOpQrStUvWxYz0",
]
_ENTITIES = ("CN_MOBILE", "CN_RESIDENT_ID", "BANK_CARD", "EMAIL_ADDRESS")


def _generated() -> list[str]:
    rng = random.Random(20240602)
    texts = [synth.embed(rng, _FILLERS, e).text for e in _ENTITIES for _ in range(60)]
    texts += [synth.to_full_width(t) for t in texts[:40]]
    return texts + _FILLERS


_TABLE_TEXTS = [t for rows in TABLES.values() for t, _ in rows]


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    s = PiiScanner(ScanConfig(score_threshold=0.3))  # low: more findings to compare
    assert s._fast is not None
    return s


@pytest.mark.parametrize("source", ["tables", "generated"])
def test_fast_path_equals_presidio_path(scanner: PiiScanner, source: str) -> None:
    texts = _TABLE_TEXTS if source == "tables" else _generated()
    fast = [scanner._scan_one_fast(t) for t in texts]
    slow = [scanner._scan_one_presidio(t) for t in texts]
    assert fast == slow
    assert sum(map(len, fast)) > len(texts) // 2  # the comparison is not vacuous


def test_prefilters_are_implied_by_every_finding() -> None:
    texts = _TABLE_TEXTS + _generated()
    checked = 0
    for entity in default_entities():
        cls = RECOGNIZERS[entity]
        rec = cls(cls.LANGUAGES[0])
        pre = rec.prefilter()
        assert pre is not None, entity  # every offline recognizer has one
        for t in texts:
            if rec.analyze(t, []):
                checked += 1
                assert pre.search(t), (entity, t)
    assert checked > 100


def test_prefilter_skips_recognizers() -> None:
    rec = RECOGNIZERS["BANK_CARD"]("zh")
    pre = rec.prefilter()
    assert pre is not None and pre.search("13812345678") is None


def test_division_trie_matches_the_alternation() -> None:
    alternation = re.compile(f"(?:{division_regex()})+")
    trie = re.compile(f"(?:{division_trie_regex()})+")
    texts = [*_TABLE_TEXTS, *_FILLERS, "广东省深圳市南山区", "内蒙古自治区呼和浩特市", "北京北京市"]
    for t in texts:
        assert [m.span() for m in alternation.finditer(t)] == [m.span() for m in trie.finditer(t)]


def test_foreign_recognizer_uses_the_presidio_path() -> None:
    analyzer = build_analyzer(["CN_MOBILE"])
    analyzer.registry.add_recognizer(
        PatternRecognizer(supported_entity="CN_MOBILE", supported_language="en", deny_list=["x"])
    )
    s = PiiScanner(ScanConfig(entities=("CN_MOBILE",)), analyzer=analyzer)
    assert s._fast is None
    assert [f.entity_type for f in s.scan_texts(["call 13812345678"])[0]] == ["CN_MOBILE"]


def test_person_model_score_is_monotone_in_context() -> None:
    rec = RECOGNIZERS["CN_PERSON"]("zh")
    (plain,) = rec.analyze("他把文件交给了张伟", [])
    (ctx,) = rec.analyze("他把文件交给了张伟先生", [])
    assert ctx.score > plain.score
    assert rec.analyze("今天天气很好，我们出去玩", []) == []
