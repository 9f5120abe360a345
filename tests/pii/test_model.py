"""The LAC name model: batched decoding equals one-at-a-time, no state across scans, a clear
error without the extra, per-entity thresholds and the public presidio path."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from privacy_profile.errors import ScanError
from privacy_profile.pii import PiiScanner, ScanConfig, lac
from privacy_profile.pii.lac import LacTagger, viterbi_batch

_TEXTS = [
    "张三在北京市海淀区工作",
    "收货地址：广东省深圳市南山区科技园南路18号海岸城3栋1201室，张伟收",
    "温格的球队赢了",
    "质量很好，物流很快",
    "欧阳娜娜与王小明在上海见面" * 20,  # longer than one piece: cut at punctuation or length
    "a",
]


def _viterbi_one(emissions: np.ndarray, transitions: np.ndarray) -> list[int]:
    """The textbook one-sequence Viterbi (the reference)."""
    t, _k = emissions.shape
    score = emissions[0].astype(np.float64)
    back = []
    for i in range(1, t):
        cand = score[:, None] + transitions
        back.append(cand.argmax(axis=0))
        score = cand.max(axis=0) + emissions[i]
    path = [int(score.argmax())]
    for bp in reversed(back):
        path.append(int(bp[path[-1]]))
    return path[::-1]


@pytest.mark.parametrize("trans_scale", [1.0, 0.02, 0.2])  # full, pruned, mixed
def test_batched_viterbi_equals_one_sequence_decoding(trans_scale: float) -> None:
    rng = np.random.default_rng(7)
    trans = (rng.normal(size=(9, 9)) * trans_scale).astype(np.float32)
    for t in (1, 2, 17):
        emis = (rng.normal(size=(40, t, 9)) * 3).astype(np.float32)
        got = viterbi_batch(emis, trans, keep=3)
        assert got.shape == (40, t)
        assert [list(row) for row in got] == [_viterbi_one(e, trans) for e in emis]


@pytest.fixture(scope="module")
def tagger() -> LacTagger:
    return LacTagger()


def test_batches_equal_single_texts(tagger: LacTagger) -> None:
    batch = tagger.tag(_TEXTS)
    assert batch == [tagger.tag([t])[0] for t in _TEXTS]
    for text, words in zip(_TEXTS, batch, strict=True):
        assert words[0][0] == 0 and words[-1][1] == len(text)  # words tile the text
        assert all(a[1] == b[0] for a, b in itertools.pairwise(words))
    (zhang, *_) = batch[0]
    assert zhang == (0, 2, "PER")


def test_tagger_state_lives_only_during_a_scan() -> None:
    scanner = PiiScanner(ScanConfig(entities=("CN_PERSON",)))
    assert scanner.tagger is not None
    out = scanner.scan_texts(_TEXTS)
    assert any(out)
    assert len(scanner.tagger) == 0  # primed for the batch, cleared after it
    other = PiiScanner(ScanConfig(entities=("CN_PERSON",)))
    assert other.tagger is not scanner.tagger


def test_missing_model_fails_naming_the_extra(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lac, "lac_available", lambda: False)
    with pytest.raises(ScanError, match=r"privacy_profile\[names\]"):
        PiiScanner()
    with pytest.raises(ScanError, match=r"privacy_profile\[names\]"):
        PiiScanner(ScanConfig(names="surname", entities=("CN_PLACE",)))
    # names: surname needs no model
    scanner = PiiScanner(ScanConfig(names="surname"))
    assert scanner.tagger is None
    assert scanner.scan_texts(["收件人王小明"])[0][0].entity_type == "CN_PERSON"


def test_per_entity_threshold() -> None:
    text = "他去了台湾，电话13812345678"
    low = PiiScanner(ScanConfig(entities=("CN_PLACE", "CN_MOBILE")))
    high = PiiScanner(ScanConfig(entities=("CN_PLACE", "CN_MOBILE"), thresholds={"CN_PLACE": 0.9}))
    assert {f.entity_type for f in low.scan_texts([text])[0]} == {"CN_PLACE", "CN_MOBILE"}
    assert {f.entity_type for f in high.scan_texts([text])[0]} == {"CN_MOBILE"}


@pytest.mark.parametrize(
    "bad",
    [{"names": "thulac"}, {"engine": "spark"}, {"thresholds": {"NOPE": 0.5}},
     {"thresholds": {"CN_PERSON": 0.0}}],
)  # fmt: skip
def test_bad_switches_raise(bad: dict[str, object]) -> None:
    with pytest.raises(ScanError):
        ScanConfig(**bad)  # type: ignore[arg-type]


def test_presidio_engine_is_public_and_agrees() -> None:
    texts = [*_TEXTS, "电话13812345678，邮箱a@b.com", "+852 9123 4567"]
    fast = PiiScanner(ScanConfig(entities=("CN_PERSON", "CN_MOBILE", "PHONE_NUMBER")))
    slow = PiiScanner(
        ScanConfig(entities=("CN_PERSON", "CN_MOBILE", "PHONE_NUMBER"), engine="presidio")
    )
    assert slow.scan_texts(texts) == fast.scan_texts(texts)
    got = slow.redact_series(pd.Series(texts)).series.tolist()
    assert "<CN_MOBILE>" in got[-2] and got[-1] == "<PHONE_NUMBER>"


def test_policy_switches_build_the_scan_config() -> None:
    from privacy_profile.pii.recognizers import default_entities
    from privacy_profile.policy.model import PiiScanSpec

    default = ScanConfig.from_policy(PiiScanSpec())
    assert default.entities == default_entities() and default.names == "lac"
    spec = PiiScanSpec(names="off", addresses=False, places=True, thresholds={"CN_PLACE": 0.7})
    cfg = ScanConfig.from_policy(spec)
    assert cfg.entities is not None
    assert "CN_PERSON" not in cfg.entities and "CN_ADDRESS" not in cfg.entities
    assert "CN_PLACE" in cfg.entities and "CN_MOBILE" in cfg.entities  # others untouched
    assert cfg.threshold("CN_PLACE") == 0.7 and cfg.threshold("CN_MOBILE") == 0.5
    assert ScanConfig.from_policy(PiiScanSpec(names="surname")).names == "surname"
    with pytest.raises(ValueError, match="thresholds"):
        PiiScanSpec(thresholds={"CN_PERSON": 1.5})
    with pytest.raises(ScanError, match="unknown entity"):
        ScanConfig.from_policy(PiiScanSpec(thresholds={"NOPE": 0.5}))


def test_person_confidence_is_a_probability_per_per_word(tagger: LacTagger) -> None:
    text = "温格的球队赢了，李先生和张伟在北京"
    ((words, confidence),) = tagger.tag_scored([text])
    per = {(s, e) for s, e, tag in words if tag == "PER"}
    assert set(confidence) == per and per  # one confidence per PER word, no other word
    assert all(0.0 <= c <= 1.0 for c in confidence.values())
    assert confidence[(12, 14)] > 0.9  # 张伟: the model is sure
    assert tagger.person_confidence(text) == confidence  # unprimed: computed on the spot


def test_low_model_confidence_lowers_the_name_score() -> None:
    from privacy_profile.pii.recognizers import CnPersonModelRecognizer

    class Fixed:
        def __init__(self, c: float) -> None:
            self.c = c

        def words(self, text: str) -> tuple[tuple[int, int, str], ...]:
            return ((0, 3, "PER"), (3, len(text), "v"))

        def person_confidence(self, text: str) -> dict[tuple[int, int], float]:
            return {(0, 3): self.c}

    scores = {}
    for c in (1.0, 0.5, 0.3, 0.1):
        rec = CnPersonModelRecognizer("zh", tagger=Fixed(c))  # type: ignore[arg-type]
        got = rec.matches("王小明去上班")  # listed surname: 0.35 + 0.5 c
        assert len(got) == 1
        scores[c] = got[0][2]
    assert scores[1.0] == pytest.approx(0.85)
    assert scores[0.3] == pytest.approx(0.5)
    assert scores[0.1] < 0.5 < scores[0.5]
    foreign = CnPersonModelRecognizer("zh", tagger=Fixed(0.5))  # type: ignore[arg-type]
    assert foreign.matches("瓦尔德去上班")[0][2] == pytest.approx(0.5)  # other: 0.35 + 0.3 c


def test_two_processes_run_the_name_model_in_the_workers() -> None:
    texts = [f"{t}，编号{i}" for i, t in enumerate(_TEXTS * 6)]
    one = PiiScanner(ScanConfig(entities=("CN_PERSON", "CN_ADDRESS")))
    two = PiiScanner(
        ScanConfig(entities=("CN_PERSON", "CN_ADDRESS"), processes=2, parallel_min_texts=10)
    )
    assert two._work(texts) >= 10  # the pool is used
    expected = one.scan_texts(texts)
    assert any(expected)
    assert two.scan_texts(texts) == expected
    assert two.tagger is not None and len(two.tagger) == 0  # the parent primed nothing
