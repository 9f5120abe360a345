"""Evasive forms: each is folded before matching and found at its span in the ORIGINAL text."""

from __future__ import annotations

import itertools

import pandas as pd
import pytest

from privacy_profile.pii import PiiScanner, ScanConfig
from privacy_profile.pii.fold import fold, fold_candidates, map_span

ZW = "\u200b"

#: (text, entity, the original substring that must be the finding)
FORMS: list[tuple[str, str, str]] = [
    (f"电话139{ZW}1234{ZW}5678", "CN_MOBILE", f"139{ZW}1234{ZW}5678"),  # zero-width
    (f"z{ZW}hang@qq.com", "EMAIL_ADDRESS", f"z{ZW}hang@qq.com"),
    ("身份证1101051949\u200c1231002X", "CN_RESIDENT_ID", "1101051949\u200c1231002X"),
    (
        f"openid o6_bmjrPTlm6_2sgV{ZW}t7hMZOPfL2M",
        "WECHAT_OPENID",
        f"o6_bmjrPTlm6_2sgV{ZW}t7hMZOPfL2M",
    ),
    ("手机139.1234.5678", "CN_MOBILE", "139.1234.5678"),  # dots
    ("139\u00a01234\u00a05678", "CN_MOBILE", "139\u00a01234\u00a05678"),  # no-break spaces
    ("139—1234—5678", "CN_MOBILE", "139—1234—5678"),  # em-dashes
    ("139_1234_5678", "CN_MOBILE", "139_1234_5678"),
    ("139/1234/5678", "CN_MOBILE", "139/1234/5678"),
    ("1 3 9 1 2 3 4 5 6 7 8", "CN_MOBILE", "1 3 9 1 2 3 4 5 6 7 8"),  # digit by digit
    ("手机一三九一二三四五六七八", "CN_MOBILE", "一三九一二三四五六七八"),  # Chinese numerals
    ("电话幺三九 一二三四 五六七八", "CN_MOBILE", "幺三九 一二三四 五六七八"),
    ("电话①③⑨①②③④⑤⑥⑦⑧", "CN_MOBILE", "①③⑨①②③④⑤⑥⑦⑧"),  # circled digits
    ("ｚｈａｎｇ＠ｑｑ．ｃｏｍ", "EMAIL_ADDRESS", "ｚｈａｎｇ＠ｑｑ．ｃｏｍ"),  # all full-width
    ("联系zhang at qq dot com", "EMAIL_ADDRESS", "zhang at qq dot com"),
    ("zhang(at)163(dot)com", "EMAIL_ADDRESS", "zhang(at)163(dot)com"),
    ("收件人王 小 明 电话", "CN_PERSON", "王 小 明"),  # a spaced name
    ("有事加我 zhang_san1988", "WECHAT_ID", "zhang_san1988"),  # no context word
]


@pytest.fixture(scope="module")
def scanner() -> PiiScanner:
    return PiiScanner()


@pytest.mark.parametrize(("text", "entity", "value"), FORMS, ids=[f[0] for f in FORMS])
def test_evasive_form_is_found_in_the_original(
    scanner: PiiScanner, text: str, entity: str, value: str
) -> None:
    (findings,) = scanner.scan_texts([text])
    assert [(f.entity_type, text[f.start : f.end]) for f in findings] == [(entity, value)]


def test_redaction_leaves_nothing_of_the_forms(scanner: PiiScanner) -> None:
    out = scanner.redact_series(pd.Series([t for t, _, _ in FORMS])).series.tolist()
    for (text, entity, value), new in zip(FORMS, out, strict=True):
        assert value not in new and f"<{entity}>" in new, text


def test_without_normalize_the_forms_survive() -> None:
    plain = PiiScanner(ScanConfig(normalize=False))
    found = plain.scan_texts([t for t, _, _ in FORMS])
    assert sum(1 for fs in found if not fs) >= 10  # the folding is what finds them


@pytest.mark.parametrize(
    "text",
    [
        "登录IP 10.0.0.1",  # an IPv4 address keeps its dots
        "均价1523.13812345678元",  # a decimal fraction is not folded into a phone
        "今天 天气 很好",  # two-character words with spaces are not a spaced name
        "三十五个人",  # numerals that are a quantity, not a digit string
        "plain ascii text",
    ],
)
def test_fold_leaves_ordinary_text(text: str) -> None:
    folded, index = fold(text)
    assert index is None and folded == text


def test_offset_map_points_into_the_original() -> None:
    text = f"电话１３９{ZW}1234—5678，谢谢"
    folded, index = fold(text)
    assert index is not None and folded == "电话1391234-5678，谢谢"  # zero-width removed
    assert len(index) == len(folded)
    s = folded.index("139")
    start, end = map_span(index, s, s + len("1391234-5678"))
    assert text[start:end] == f"１３９{ZW}1234—5678"
    assert all(b >= a for a, b in itertools.pairwise(index))  # monotone


def test_batch_test_flags_every_text_fold_would_change() -> None:
    """``fold_candidates`` (one RE2 pass over a batch) is a superset of what ``fold``
    changes: the scanner skips folding only texts it does not flag."""
    ordinary = ["质量很好，物流很快", "plain ascii text", "订单2024年3月", "三十五个人", "cat"]
    texts = [t for t, _, _ in FORMS] * 4 + ordinary * 10
    flags = fold_candidates(texts)
    assert len(texts) >= 64  # large enough for the Arrow pass
    for text, flag in zip(texts, flags, strict=True):
        if fold(text)[1] is not None:
            assert flag, text
    assert not flags[texts.index("质量很好，物流很快")]  # nothing to fold: not flagged
    assert fold_candidates(texts[:3]) == [True] * 3  # small batches: fold decides per text


def test_scanner_finds_the_forms_in_a_large_batch(scanner: PiiScanner) -> None:
    texts = [t for t, _, _ in FORMS] + [f"普通的句子{i}号" for i in range(100)]
    found = scanner.scan_texts(texts)
    for (text, entity, value), fs in zip(FORMS, found[: len(FORMS)], strict=True):
        assert any(f.entity_type == entity and text[f.start : f.end] == value for f in fs), text
