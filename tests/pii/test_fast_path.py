"""The fast path (recognizers called directly, behind pre-filters) equals the presidio path."""

from __future__ import annotations

import random
import re

import numpy as np
import pyarrow as pa
import pytest
from _support import pii_synth as synth
from test_recognizers import TABLES

from privacy_profile.pii import (
    Finding,
    Language,
    PiiScanner,
    ScanConfig,
    build_analyzer,
    route,
)
from privacy_profile.pii._presidio import EntityRecognizer, PatternRecognizer, RecognizerResult
from privacy_profile.pii.engine import HAN_TEXT_WEIGHT, _arrow_mask
from privacy_profile.pii.recognizers import RECOGNIZERS, default_entities
from privacy_profile.pii.recognizers.cn_address import division_regex, division_trie_regex
from privacy_profile.pii.spans import remove_duplicates

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


# -- whole-cell families: a column of cells that ARE one identifier ---------------------------
def _whole_cells() -> list[str]:
    """Phone- and e-mail-shaped cells: valid, invalid and adversarial (other recognizers)."""
    rng = random.Random(20240603)
    cells = [synth.mobile(rng, style="plain") for _ in range(300)]
    cells += ["+86" + synth.mobile(rng, style="plain") for _ in range(50)]
    cells += [f"1{rng.randint(0, 9)}{rng.randint(0, 10**9 - 1):09d}" for _ in range(200)]
    cells += [synth.email(rng) for _ in range(300)]
    cells += [
        "12012345678",  # not a mobile prefix
        "+8612012345678",
        "13812345678@qq.com",  # a phone inside an address
        "12345.6@qq.com",  # a QQ number next to "qq"
        "6222021234567890123.card@x.com",  # a card with its context word
        "1.2.3.4@ip.com",  # an IPv4 with context
        "wxid_abcdef12.wx@q.com",  # a WeChat id
        "abcdefg+wx@y.com",
        "o6_bmjrPTlm6_2sgVt7hMZOPfL2M@openid.com",  # an openid with context
        "E12345678@passport.cn",
        "010-12345678@x.com",
        "a..b@x.com",
        "a.@x.com",
        "a@b.com.",
        "a@b.c0m",
        "a@b",
        "x" * 70 + "@example.com",  # local part too long
        "a@-b.com",
        "abc@def@ghi.com",
    ]
    return cells


def test_whole_cells_equal_matches() -> None:
    cells = _whole_cells()
    checked = 0
    for entity in ("CN_MOBILE", "EMAIL_ADDRESS"):
        rec = RECOGNIZERS[entity]("en")
        assert rec.WHOLE_CELL is not None
        shaped = [t for t in cells if re.fullmatch(rec.WHOLE_CELL, t)]
        assert rec.whole_cells(shaped) == [rec.matches(t) for t in shaped]
        checked += len(shaped)
    assert checked > 800


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.8])
def test_whole_cell_path_equals_presidio_path(threshold: float) -> None:
    s = PiiScanner(ScanConfig(score_threshold=threshold))
    assert len(s._families) == 2
    cells = _whole_cells()
    done = np.zeros(len(cells), dtype=bool)
    out: list[list[Finding] | None] = [None] * len(cells)
    s._scan_whole_cells(np.asarray(cells, dtype=object), out, done)
    assert done.sum() > 700  # most cells took the whole-cell path
    assert not done[cells.index("13812345678@qq.com")]  # another pre-filter matched
    for cell, d, fs in zip(cells, done, out, strict=True):
        if d:
            assert fs == s._scan_one_presidio(cell), cell
    assert s.scan_texts(cells) == [s._scan_one_presidio(t) for t in cells]


def test_arrow_prefilter_gate_agrees_with_python_re() -> None:
    s = PiiScanner()
    cells = [t for t in _whole_cells() + _TABLE_TEXTS + _generated() if t.isascii()]
    arr = pa.array(cells, type=pa.large_string())
    for _, others in s._families:
        rx = re.compile(others)
        assert _arrow_mask(arr, others).tolist() == [rx.search(t) is not None for t in cells]


def test_remove_duplicates_replays_presidio() -> None:
    rng = random.Random(5)
    for _ in range(300):
        raw = [
            (
                rng.choice(["A", "B"]),
                (s := rng.randint(0, 8)),
                s + rng.randint(1, 6),
                rng.choice([0.0, 0.3, 0.6, 0.6, 0.9]),
                "R",
            )
            for _ in range(rng.randint(2, 6))
        ]
        results = [RecognizerResult(e, s, t, sc) for e, s, t, sc, _ in raw]
        expected = [
            (r.entity_type, r.start, r.end, r.score)
            for r in EntityRecognizer.remove_duplicates(results)
        ]
        assert [r[:4] for r in remove_duplicates(raw)] == expected


def test_jieba_tags_blocks_alone() -> None:
    """CN_PERSON tags only the jieba blocks holding candidates: same tags as the whole text."""
    from privacy_profile.pii.recognizers.cn_person import _posseg, pos_tags

    texts = [
        *_FILLERS,
        *(t for t in _TABLE_TEXTS if route(t) is Language.ZH),
        "记者王小明报道，张伟表示：“李娜和刘洋今天到了上海。”欧阳娜娜说，OK！",
        "收件人：赵敏（电话13812345678）；地址：杭州市西湖区文三路90号",
    ]
    blocks_seen = 0
    for text in texts:
        nr, bounds = pos_tags(text)
        for m in _posseg().re_han_internal.finditer(text):
            b0, b1 = m.span()
            bnr, bbounds = pos_tags(text[b0:b1])
            assert {(s + b0, e + b0) for s, e in bnr} == {(s, e) for s, e in nr if b0 <= s < b1}
            assert {b + b0 for b in bbounds} == {b for b in bounds if b0 <= b <= b1}
            blocks_seen += 1
    assert blocks_seen > 20


def test_parallel_work_weights_han_texts() -> None:
    s = PiiScanner(ScanConfig(processes=2, parallel_min_texts=100))
    assert s._work(["张伟说"] * 5) == 5 * HAN_TEXT_WEIGHT
    assert s._work(["13812345678"] * 5) == 5
