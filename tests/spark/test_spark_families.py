"""RFM, lifecycle and rule segments on per-unit rows kept by Spark release exactly what the
pandas engine releases on the same table (seeded: same tables, ledger charges and per-unit
labels), without collecting the rows (``SparkUnitRows.to_pandas`` refuses while releasing)."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile import scanner_for
from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sanitize import sanitize
from privacy_profile.policy import LoadedPolicy
from privacy_profile.policy.releases import ReleaseId, SegmentFamily
from privacy_profile.policy.segmentation import RuleSegmentSpec, SegmentationSpec
from privacy_profile.segments import families
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.columns import feature_columns, unit_column
from privacy_profile.segments.features import (
    PREVIOUS_ACTIVE_DAY,
    FeatureParams,
    UnitFeatures,
    compute_features,
)
from privacy_profile.segments.registry import BuildState
from privacy_profile.segments.units import UnitLabels, as_series
from privacy_profile.spark.units import SparkUnitRows

from .conftest import NOW, PURPOSE

pytestmark = pytest.mark.slow

RULES = [
    {
        "name": "big_spenders_east",
        "label_zh": "华东高消费",
        "label_en": "East-China big spenders",
        "expr": 'monetary > 200 and province in ["浙江省", "上海市", "江苏省"]',
    },
    {
        "name": "lapsed_or_unknown",
        "label_zh": "流失或未知",
        "label_en": "lapsed or unknown",
        "expr": 'not (recency_days <= 90) or gender != "female"',
    },
]


@pytest.fixture(scope="module")
def shop(demo: tuple[LoadedPolicy, Path, KeyRing]) -> tuple[UnitFeatures, SegmentationSpec, str]:
    """The demo shop's per-unit features (the pandas engine), with the previous active day
    column the Spark features carry, built from the reduced activity rows."""
    loaded, input_dir, keys = demo
    san = sanitize(input_dir, loaded, PURPOSE, keys, now=NOW, scanner=scanner_for(loaded.policy))
    spec = loaded.policy.segmentation
    assert spec is not None and spec.lifecycle is not None
    spec = spec.model_copy(update={"rules": [RuleSegmentSpec.model_validate(r) for r in RULES]})
    u = unit_column(loaded.policy)
    feats = compute_features(
        san.tables,
        FeatureParams(
            unit_column=u,
            now=NOW,
            columns=feature_columns(loaded.policy),
            lookback_days=spec.lookback_days,
            spending_bands=(0.0, 100.0, 500.0, 2000.0),
            activity_before_days=spec.lifecycle.active_within_days,
        ),
    )
    prev = feats.activity.set_index(u)["_day"]
    table = feats.table.assign(
        **{PREVIOUS_ACTIVE_DAY: prev.reindex(feats.table[u].to_numpy()).to_numpy()}
    )
    assert len(table) > 100 and table[PREVIOUS_ACTIVE_DAY].notna().any()
    return replace(feats, table=table), spec, u


def _refuse(self: SparkUnitRows) -> pd.DataFrame:
    raise AssertionError("a family collected the per-unit rows")


@pytest.fixture
def no_collect(
    monkeypatch: pytest.MonkeyPatch,
) -> Callable[[], contextlib.AbstractContextManager[None]]:
    """A context in which collecting kept rows (``SparkUnitRows.to_pandas``) fails."""

    @contextlib.contextmanager
    def refusing() -> Iterator[None]:
        with monkeypatch.context() as m:
            m.setattr(SparkUnitRows, "to_pandas", _refuse)
            yield

    return refusing


def test_the_refusal_catches_a_collect(spark: Any, no_collect: Any) -> None:
    rows = SparkUnitRows.of_pandas(spark, pd.DataFrame({"u": ["a", "b"], "x": [1.0, 2.0]}))
    with no_collect(), pytest.raises(AssertionError, match="collected"):
        rows.select(["u"]).to_pandas()
    assert rows.to_pandas()["u"].tolist() == ["a", "b"]  # restored after the context


def _state(feats: UnitFeatures, spec: SegmentationSpec, u: str, zcdp: frozenset[str]) -> BuildState:
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=1000.0, delta=1e-3), window=BudgetWindow.lifetime()
    )
    ctx = ReleaseContext(
        ledger=ledger,
        run_id="r1",
        rng=DPRandom.for_testing(29),
        unit_column=u,
        threshold=5,
        zcdp=zcdp,
    )
    return BuildState(
        features=feats,
        spec=spec,
        ctx=ctx,
        now=NOW,
        unit_column=u,
        max_categories_per_user=3,
        domains={},
    )


def _charges(st: BuildState) -> list[tuple[str, str, float, float, float]]:
    return [
        (c.label, c.mechanism, c.epsilon, c.rho, c.sensitivity)
        for c in st.ctx.ledger.charges_for_run("r1")
    ]


def _records(st: BuildState) -> list[dict[str, Any]]:
    """The mechanism records as plain data (a quantile's noise_sd is NaN: compared as text)."""
    return [{k: repr(v) for k, v in r.to_dict().items()} for r in st.records]


RUNNERS: dict[str, Callable[[BuildState, dict[ReleaseId, float]], None]] = {
    "rfm": families._rfm,
    "lifecycle": families._lifecycle,
    "rules": families._rules,
}


def _run(name: str, st: BuildState) -> None:
    spec = st.spec
    if name == "rules":
        releases = {ReleaseId(SegmentFamily.RULE, r.name): 0.5 for r in spec.rules}
    else:
        releases = {ReleaseId(SegmentFamily(name)): 1.0}
    RUNNERS[name](st, releases)


@pytest.mark.parametrize(
    ("name", "zcdp"),
    [
        ("rfm", frozenset()),
        ("lifecycle", frozenset({"lifecycle"})),  # zCDP: discrete Gaussian sizes
        ("rules", frozenset()),
    ],
)
def test_family_on_spark_rows_releases_what_pandas_releases(
    spark: Any,
    shop: tuple[UnitFeatures, SegmentationSpec, str],
    no_collect: Any,
    name: str,
    zcdp: frozenset[str],
) -> None:
    feats, spec, u = shop
    local = _state(feats, spec, u, zcdp)
    _run(name, local)
    rows = SparkUnitRows.of_pandas(spark, feats.table)
    # the Spark engine's features: no activity rows, the previous active day is a column
    remote = _state(replace(feats, table=rows, activity=feats.activity.iloc[0:0]), spec, u, zcdp)
    with no_collect():
        _run(name, remote)

    assert _charges(remote) == _charges(local) and _charges(local)
    assert _records(remote) == _records(local)
    assert len(remote.tables) == len(local.tables)
    for got, want in zip(remote.tables, local.tables, strict=True):
        pd.testing.assert_frame_equal(got, want, check_exact=False, rtol=1e-12)
    released = pd.concat(local.tables)
    assert (~released["suppressed"]).any()  # something released: the comparison has numbers
    assert [f.name for f in remote.families] == [f.name for f in local.families]
    for got_f, want_f in zip(remote.families, local.families, strict=True):
        assert isinstance(got_f.assignment, UnitLabels)
        assert "province" in got_f.assignment.rows.columns  # the tags travel with the labels
        assert isinstance(want_f.assignment, pd.Series)
        pd.testing.assert_series_equal(
            as_series(got_f.assignment).astype(object),
            want_f.assignment.astype(object),
            check_names=False,
        )
    assert remote.rule_members.keys() == local.rule_members.keys()
    for key, member in local.rule_members.items():
        kept = remote.rule_members[key]
        assert isinstance(kept, UnitLabels) and isinstance(member, np.ndarray)
        got_m = as_series(kept)
        assert got_m.index.tolist() == feats.table[u].tolist()
        assert got_m.to_numpy(dtype=bool).tolist() == member.tolist()
        assert 0 < member.sum() < len(member)
