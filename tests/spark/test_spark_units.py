"""SparkUnitRows against LocalUnitRows: the same rows, columns, folds and aggregates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from privacy_profile.dp import (
    Aggregation,
    BudgetWindow,
    MetricSpec,
    PrivacyLoss,
    PrivacyUnit,
    PublicGroups,
)
from privacy_profile.dp.ledger import BudgetLedger
from privacy_profile.segments.units import LocalUnitRows, UnitRows, unit_rows
from privacy_profile.spark.units import POSITION, SparkUnitRows


def _frame() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 500
    return pd.DataFrame(
        {
            "unit": [f"u{i:04d}" for i in range(n)],
            "x": rng.uniform(0, 10, n),
            "k": rng.integers(0, 4, n).astype(np.int64),
            "day": pd.to_datetime("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        }
    )


def _spark_rows(spark: Any, frame: pd.DataFrame) -> SparkUnitRows:
    # shuffled partitions: the position column restores the unit order
    with_pos = frame.assign(**{POSITION: np.arange(len(frame), dtype=np.int64)})
    sdf = spark.createDataFrame(with_pos.sample(frac=1.0, random_state=3)).repartition(3)
    sdf = sdf.withColumn("day", sdf["day"].cast("timestamp_ntz"))
    return SparkUnitRows(sdf)


@pytest.fixture(autouse=True)
def _functions_by_value() -> None:
    """This module's batch functions reach the Python workers by value (the workers cannot
    import the tests package)."""
    import sys

    from pyspark import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])


def _both(spark: Any) -> list[UnitRows]:
    f = _frame()
    return [LocalUnitRows(f), _spark_rows(spark, f)]


def _band(batch: pd.DataFrame) -> pd.DataFrame:
    assert pd.api.types.is_datetime64_dtype(batch["day"])  # days reach batches as datetime64
    return pd.DataFrame(
        {
            "band": np.where(batch["x"].to_numpy() > 5, "high", "low"),
            "month": batch["day"].dt.month.to_numpy(dtype=np.int64),
        }
    )


def test_with_columns_where_and_order_agree(spark: Any) -> None:
    local, remote = _both(spark)
    schema = {"band": "string", "month": "long"}
    a = local.with_columns(_band, schema).where(lambda b: b["k"].to_numpy() != 2).to_pandas()
    b = remote.with_columns(_band, schema).where(lambda b: b["k"].to_numpy() != 2).to_pandas()
    assert remote.columns == local.columns  # the position column is hidden
    assert list(b["unit"]) == list(a["unit"])
    assert list(b["band"].astype(str)) == list(a["band"].astype(str))
    assert b["month"].tolist() == a["month"].tolist()
    np.testing.assert_allclose(remote.values("x"), local.values("x"))
    assert remote.count() == local.count() == 500


def test_fold_sums_batches(spark: Any) -> None:
    local, remote = _both(spark)

    def per_k(batch: pd.DataFrame) -> np.ndarray:
        k = batch["k"].to_numpy(dtype=np.int64)
        return np.stack([np.bincount(k, minlength=4), np.bincount(k, batch["x"], minlength=4)])

    a, b = local.fold(per_k, (2, 4)), remote.fold(per_k, (2, 4))
    np.testing.assert_allclose(b, a)
    assert a[0].sum() == 500
    with pytest.raises(Exception, match="shape"):
        remote.fold(per_k, (4, 2))


def test_batch_function_contract_is_checked(spark: Any) -> None:
    local, remote = _both(spark)

    def bad(batch: pd.DataFrame) -> pd.DataFrame:
        return pd.DataFrame({"other": np.zeros(len(batch))})

    with pytest.raises(ValueError, match="expected"):
        local.with_columns(bad, {"band": "string"})
    with pytest.raises(Exception, match="expected"):
        remote.with_columns(bad, {"band": "string"}).to_pandas()


def test_dp_aggregate_true_counts_agree_at_huge_epsilon(spark: Any, tmp_path: Any) -> None:
    got = []
    for i, rows in enumerate(_both(spark)):
        ledger = BudgetLedger.open(
            tmp_path / f"l{i}.sqlite",
            dataset="d",
            budget=PrivacyLoss(epsilon=1e9),
            window=BudgetWindow.lifetime(),
        )
        res = rows.dp_aggregate(
            unit=PrivacyUnit.one_row_per_unit("unit"),
            by=["k"],
            metrics=[MetricSpec(aggregation=Aggregation.PRIVACY_ID_COUNT)],
            loss=PrivacyLoss(epsilon=1e8),
            ledger=ledger,
            run_id="r",
            groups=PublicGroups.of([0, 1, 2, 3]),
            threshold=0,
            label="t",
        )
        got.append(res.table.set_index("k")["privacy_id_count"].sort_index().tolist())
    truth = np.bincount(_frame()["k"], minlength=4).tolist()
    assert got[0] == got[1] == truth


def test_unit_rows_wraps_frames() -> None:
    f = _frame()
    assert isinstance(unit_rows(f), LocalUnitRows)
    rows = LocalUnitRows(f)
    assert unit_rows(rows) is rows
    assert isinstance(rows, UnitRows)


def test_of_pandas_and_labels(spark: Any) -> None:
    from privacy_profile.segments.units import UnitLabels, as_series

    f = _frame()
    rows = SparkUnitRows.of_pandas(spark, f)
    assert rows.columns == tuple(f.columns)
    back = rows.to_pandas()
    assert list(back["unit"]) == list(f["unit"])
    assert pd.api.types.is_datetime64_dtype(back["day"])
    labelled = rows.with_columns(_band, {"band": "string", "month": "long"})
    got = as_series(UnitLabels(labelled, "unit", "band"))
    want = pd.Series(np.where(f["x"] > 5, "high", "low"), index=f["unit"].to_numpy())
    assert got.astype(str).to_dict() == want.to_dict()
    local = pd.Series(["a"], index=["u"])
    assert as_series(local) is local
