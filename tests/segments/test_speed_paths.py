"""The vectorized segment paths against the pandas code they replaced (kept here as cheap
references) on seeded synthetic data: event counts (was ``pd.crosstab``), activity (was
``drop_duplicates`` + ``groupby``), and persona long rows (was ``isin`` + ``reindex`` per
pair). The marketing-table pseudonym check moved to the release guard (tests/lineage)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from _segments_helpers import DEMO_COLUMNS, NOW, synth_tables

from privacy_profile.segments import FeatureParams, compute_features
from privacy_profile.segments._common import SegmentDef
from privacy_profile.segments.features import _activity, _event_counts
from privacy_profile.segments.personas import UNKNOWN, Family, _LongFrames

# -- references: the replaced implementations, verbatim in substance ------------------------


EVENTS = DEMO_COLUMNS.events
assert EVENTS is not None


def ref_event_counts(units: pd.Series, kinds: pd.Series) -> pd.DataFrame:
    counts = pd.crosstab(units, kinds.astype("string"))
    ev = pd.DataFrame(index=counts.index)
    ev["events"] = counts.sum(axis=1)
    for name, kind in (("purchase", "buy"), ("view", "view"), ("cart", "cart"), ("fav", "fav")):
        ev[f"{name}_events"] = counts[kind] if kind in counts.columns else 0
    return ev


def ref_activity(rows: pd.DataFrame, u: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    activity = rows.drop_duplicates()
    g = activity.groupby(u, sort=False)["_day"]
    table = pd.DataFrame({"first_seen": g.min(), "last_seen": g.max(), "active_days": g.nunique()})
    return activity, table


def ref_long(
    family: Family, dim: str, features: pd.DataFrame, categories: pd.DataFrame, unit: str
) -> pd.DataFrame:
    seg = family.assignment
    if dim == "top_categories":
        df = categories[[unit, "category"]].rename(columns={"category": "value"})
    else:
        df = pd.DataFrame(
            {unit: features[unit].to_numpy(), "value": features[dim].astype("string").to_numpy()}
        )
        df["value"] = df["value"].fillna(UNKNOWN)
    df = df.loc[df[unit].isin(seg.index)].copy()
    df["segment"] = seg.reindex(df[unit].to_numpy()).to_numpy()
    df["value"] = df["value"].astype(str)
    return df


# -- data -----------------------------------------------------------------------------------


def messy_events(seed: int, n: int = 4000, dtype: str = "string") -> pd.DataFrame:
    """Events with missing units and types, an unexpected type, repeated (unit, day) pairs."""
    g = np.random.default_rng(seed)
    units = np.array([f"p{i:04d}" for i in range(300)], dtype=object)
    kinds = np.array(["view", "cart", "buy", "share", None], dtype=object)
    u = units[g.integers(0, len(units), n)]
    u[g.random(n) < 0.02] = None
    k = kinds[g.integers(0, len(kinds), n)]
    day = pd.Timestamp("2026-01-01") + pd.to_timedelta(g.integers(0, 40, n), unit="D")
    return pd.DataFrame(
        {
            "openid": pd.Series(u, dtype=dtype),
            "event_type": pd.Series(k, dtype=dtype),
            "_day": pd.Series(day).astype("datetime64[us]"),
        }
    )


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", ["string", "object"])
def test_event_counts_match_crosstab(seed: int, dtype: str) -> None:
    e = messy_events(seed, dtype=dtype)
    got = _event_counts(e["openid"], e["event_type"], EVENTS)
    want = ref_event_counts(e["openid"], e["event_type"])
    assert set(got.index) == set(want.index)  # same units (NA units and NA-only units absent)
    got = got.loc[list(want.index)]
    np.testing.assert_array_equal(got.to_numpy(), want.to_numpy())
    assert list(got.columns) == list(want.columns)
    assert (got.dtypes == np.int64).all()


def test_event_counts_without_a_kind_and_empty() -> None:
    e = pd.DataFrame({"openid": ["a", "a", "b"], "event_type": ["buy", "buy", "view"]})
    got = _event_counts(e["openid"], e["event_type"], EVENTS)
    assert got.loc["a"].tolist() == [2, 2, 0, 0, 0] and got.loc["b"].tolist() == [1, 0, 1, 0, 0]
    empty = _event_counts(pd.Series([], dtype="string"), pd.Series([], dtype="string"), EVENTS)
    assert empty.empty and list(empty.columns) == [
        "events",
        "purchase_events",
        "view_events",
        "cart_events",
        "fav_events",
    ]


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("dtype", ["string", "object"])
def test_activity_matches_drop_duplicates_groupby(seed: int, dtype: str) -> None:
    e = messy_events(seed, dtype=dtype)[["openid", "_day"]]
    got_rows, got = _activity(e, "openid")
    want_rows, want = ref_activity(e, "openid")
    pd.testing.assert_frame_equal(got_rows, want_rows)  # same rows, order and index
    pd.testing.assert_frame_equal(got, want, check_index_type=False)
    assert list(got.index) == list(want.index)  # order of first appearance


def test_compute_features_event_and_activity_columns_on_synthetic_shop() -> None:
    """compute_features' columns against the references run on the same windowed rows."""
    tables = synth_tables(n_users=600, seed=5)
    params = FeatureParams(
        unit_column="openid", now=NOW, columns=DEMO_COLUMNS, spending_bands=(0, 100, 500, 2000)
    )
    feats = compute_features(tables, params)
    table = feats.table.set_index("openid")
    e = tables["events"]
    want = ref_event_counts(e["openid"], e["event_type"]).reindex(table.index).fillna(0)
    for col in ("events", "view_events", "cart_events", "fav_events"):
        np.testing.assert_array_equal(table[col].to_numpy(), want[col].to_numpy())
    rows, per_unit = ref_activity(feats.activity, "openid")
    assert len(rows) == len(feats.activity)  # already distinct (unit, day) rows
    # first_seen is then moved back to the registration date where that is earlier
    assert (table["first_seen"] <= per_unit["first_seen"].reindex(table.index)).all()
    pd.testing.assert_frame_equal(
        table[["last_seen", "active_days"]],
        per_unit[["last_seen", "active_days"]].reindex(table.index),
        check_index_type=False,
        check_names=False,
    )


def _families(features: pd.DataFrame, seed: int) -> list[Family]:
    g = np.random.default_rng(seed)
    units = features["openid"]
    out = []
    for i, frac in enumerate((1.0, 0.6, 0.05)):
        pick = units.sample(frac=frac, random_state=seed + i).to_numpy()
        keys = ["a", "b", "c"]
        out.append(
            Family(
                name=f"f{i}",
                segments=tuple(SegmentDef(k, k, k) for k in keys),
                assignment=pd.Series(g.choice(keys, len(pick)), index=pick),
            )
        )
    # a family naming units the feature table does not hold
    out.append(
        Family(
            name="ghost",
            segments=(SegmentDef("a", "a", "a"),),
            assignment=pd.Series(["a", "a"], index=["nobody-1", str(units.iloc[0])]),
        )
    )
    return out


@pytest.mark.parametrize("seed", [0, 1])
def test_persona_long_rows_match_isin_reindex(seed: int) -> None:
    tables = synth_tables(n_users=500, seed=seed + 10)
    feats = compute_features(
        tables,
        FeatureParams(
            columns=DEMO_COLUMNS,
            unit_column="openid",
            now=NOW,
            spending_bands=(0, 100, 500),
            max_categories_per_user=2,
        ),
    )
    f = feats.table.copy()
    f.loc[f.index[:7], "gender"] = pd.NA  # missing values become "(unknown)"
    long = _LongFrames(f, feats.categories, "openid")
    dims = ("age_band", "gender", "province", "channel", "spending_band", "top_categories")
    for fam in _families(f, seed):
        for dim in dims:
            want = ref_long(fam, dim, f, feats.categories, "openid")
            pd.testing.assert_frame_equal(long.pairs(fam, dim), want)
