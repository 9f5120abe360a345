"""Personas over families whose labels Spark keeps (:class:`UnitLabels` over
:class:`SparkUnitRows`): the same released tables, ledger charges and DP random stream as the
pandas path on the same units, and the features table itself is never collected when every
family's labelled rows carry the dimensions."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.segments._common import ReleaseContext, SegmentDef
from privacy_profile.segments.personas import Family, PersonaParams, release_personas
from privacy_profile.segments.units import UnitLabels
from privacy_profile.spark.units import SparkUnitRows

UNIT = "openid"


@pytest.fixture(autouse=True)
def _functions_by_value() -> None:
    """This module's batch functions reach the Python workers by value."""
    import sys

    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


SEGS = (SegmentDef("a", "甲", "a"), SegmentDef("b", "乙", "b"), SegmentDef("c", "丙", "c"))


def _features(n: int = 600) -> pd.DataFrame:
    rng = np.random.default_rng(11)
    gender = rng.choice(np.array(["female", "male", None], dtype=object), n, p=[0.5, 0.4, 0.1])
    return pd.DataFrame(
        {
            UNIT: [f"u{i:05d}" for i in range(n)],
            "gender": pd.array(gender, dtype="string"),
            "city_tier": pd.array(rng.choice(["1", "2", "3"], n), dtype="string"),
            "spend": rng.uniform(0, 100, n),
        }
    )


def _categories(features: pd.DataFrame) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    rows = []
    for u in features[UNIT]:
        for rank, c in enumerate(rng.choice(["tea", "toys", "books", "shoes"], 2, replace=False)):
            rows.append((u, c, 1.0, rank + 1))
    return pd.DataFrame(rows, columns=[UNIT, "category", "weight", "rank"])


class _Segment:
    """A pure row-wise labelling: segment by spend (units below 10 unlabelled)."""

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        x = batch["spend"].to_numpy()
        seg = np.where(x < 40, "a", np.where(x < 70, "b", "c")).astype(object)
        seg[x < 10] = None
        return pd.DataFrame({"seg": pd.array(seg, dtype="string")})


def _release(families: list[Family], features: Any, categories: pd.DataFrame) -> Any:
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=100.0, delta=1e-3), window=BudgetWindow.lifetime()
    )
    ctx = ReleaseContext(
        ledger=ledger,
        run_id="r",
        rng=DPRandom.for_testing(3),
        unit_column=UNIT,
        threshold=5,
        delta=1e-6,
    )
    params = PersonaParams(
        dimensions=("gender", "city_tier", "top_categories"),
        top_n=2,
        max_categories_per_user=2,
        domains={"gender": ("female", "male")},  # city_tier: private selection
        deny_list=(),
        tags=("city_tier",),
    )
    out = release_personas(
        families, features, categories, params, loss=PrivacyLoss(epsilon=3.0), ctx=ctx
    )
    charges = [
        (c.label, c.mechanism, c.epsilon, c.delta, c.sensitivity)
        for c in ledger.charges_for_run("r")
    ]
    return out, charges


def test_personas_on_kept_labels_match_pandas(spark: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    feats = _features()
    cats = _categories(feats)
    local_seg = _Segment()(feats)["seg"]
    keep = local_seg.notna().to_numpy()
    local_fam = Family(
        name="spend",
        segments=SEGS,
        assignment=pd.Series(local_seg[keep].to_numpy(), index=feats.loc[keep, UNIT].to_numpy()),
    )
    want, want_charges = _release([local_fam], feats, cats)

    rows = SparkUnitRows.of_pandas(spark, feats)
    labelled = rows.with_columns(_Segment(), {"seg": "string"})
    remote_fam = Family(name="spend", segments=SEGS, assignment=UnitLabels(labelled, UNIT, "seg"))

    # every dimension is carried by the family's rows: the features are never collected
    collected = []
    real = SparkUnitRows.to_pandas

    def spy(self: Any) -> pd.DataFrame:
        collected.append(self.columns)
        return real(self)

    monkeypatch.setattr(SparkUnitRows, "to_pandas", spy)
    got, got_charges = _release([remote_fam], rows, cats)
    assert collected == [(UNIT, "seg")]  # only the labels, for the top categories
    assert got_charges == want_charges
    pd.testing.assert_frame_equal(got.personas, want.personas)
    pd.testing.assert_frame_equal(got.recommendations, want.recommendations)
    assert set(want.personas["dimension"]) == {"gender", "city_tier", "top_categories"}
