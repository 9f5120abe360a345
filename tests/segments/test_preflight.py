"""Pre-flight is a pure function of sanitize's output: each check fails on the situation it
names, passes on a healthy run, and its messages never hold a count."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from _segments_helpers import REPO

from privacy_profile.errors import PreflightError
from privacy_profile.ingest.report import IngestReport, TableReport
from privacy_profile.policy.loader import load_policy
from privacy_profile.policy.model import Policy
from privacy_profile.segments.columns import feature_columns
from privacy_profile.segments.preflight import CHECKS, preflight, require_preflight

N = 200  # units; the demo policy's threshold is 50


@pytest.fixture(scope="module")
def shop() -> Policy:
    return load_policy(REPO / "policies" / "wechat_shop.yaml")


def _report(**quarantined: int) -> IngestReport:
    def table(name: str, rows: int) -> TableReport:
        q = quarantined.get(name, 0)
        return TableReport(
            table=name,
            file=f"{name}.csv",
            role="data",
            input_rows=rows,
            accepted_rows=rows - q,
            excluded={},
            quarantined={"bad_boolean": q} if q else {},
        )

    return IngestReport(
        policy="p",
        purpose="x",
        pseudonymization_domain="d",
        run_time="2026-11-01T00:00:00",
        tables={n: table(n, N) for n in ("users", "orders", "events")},
        keys=(),
        development_keys=True,
    )


def _tables(status: str = "paid", gender: object = "female") -> dict[str, pd.DataFrame]:
    g = np.random.default_rng(0)
    units = [f"p{i}" for i in range(N)]
    users = pd.DataFrame(
        {
            "openid": units,
            "birthdate": "25-34",
            "gender": pd.Series([gender] * N, dtype="string"),
            "city": "浙江省",
            "channel": "ads",
        }
    )
    orders = pd.DataFrame(
        {"openid": units, "order_id": range(N), "amount": g.uniform(1, 99, N), "status": status,
         "ordered_at": pd.Timestamp("2026-10-01"), "category": "女装"}
    )  # fmt: skip
    events = pd.DataFrame(
        {
            "openid": units,
            "event_type": "view",
            "ts": pd.Timestamp("2026-10-01"),
            "category": "女装",
        }
    )
    return {"users": users, "orders": orders, "events": events}


def _run(policy: Policy, report: IngestReport, tables: dict[str, pd.DataFrame]) -> set[str]:
    res = preflight(policy, report, {}, tables, feature_columns(policy), "openid")
    assert res.checks == CHECKS
    for issue in res.issues:  # reasons and fixes only: no count ever leaves pre-flight
        assert not re.search(r"\b\d{2,}\b", issue.reason.replace("0-", "")), issue.reason
        assert issue.fix
    return {i.check for i in res.issues}


def test_a_healthy_run_passes(shop: Policy) -> None:
    assert _run(shop, _report(), _tables()) == set()


def test_every_order_quarantined_fails(shop: Policy) -> None:
    quarantine = {"orders": pd.DataFrame({"_row": [1], "_column": ["coupon_used"]})}
    res = preflight(shop, _report(orders=N), quarantine, _tables(), feature_columns(shop), "openid")
    (issue,) = [i for i in res.issues if i.check == "tables_readable"]
    assert "coupon_used" in issue.reason and "value map" in issue.fix


def test_no_paid_order_with_rfm_fails(shop: Policy) -> None:
    assert "paid_orders" in _run(shop, _report(), _tables(status="已支付"))


def test_a_dimension_all_unknown_fails(shop: Policy) -> None:
    assert "dimensions_known" in _run(shop, _report(), _tables(gender=None))
    # values outside the declared domain are unknown to personas too
    assert "dimensions_known" in _run(shop, _report(), _tables(gender="男"))


def test_too_few_units_for_the_threshold_fails(shop: Policy) -> None:
    small = {k: v.head(10) for k, v in _tables().items()}
    assert "family_units" in _run(shop, _report(), small)


def test_no_admitted_subject_fails_and_require_raises(shop: Policy) -> None:
    tables = _tables()
    tables["users"] = tables["users"].head(0)
    with pytest.raises(PreflightError, match="subjects_admitted") as info:
        require_preflight(shop, _report(), {}, tables, feature_columns(shop), "openid")
    assert "no budget was spent" in str(info.value)


def test_diffprivlib_kmeans_with_the_features_on_an_engine_fails(shop: Policy) -> None:
    """diffprivlib's k-means needs the points in one process: refused before any family
    charges when the orders or events table (hence the per-unit features) is on an engine."""
    from privacy_profile.policy.segmentation import KMeansMethodName
    from privacy_profile.segments import preflight as pf

    spec = shop.segmentation
    assert spec is not None and spec.kmeans is not None
    dpl = spec.model_copy(
        update={"kmeans": spec.kmeans.model_copy(update={"method": KMeansMethodName.DIFFPRIVLIB})}
    )
    cols = feature_columns(shop)

    class Remote:  # a table an engine keeps (only its type matters to this check)
        pass

    remote = {**_tables(), "events": Remote()}
    (issue,) = pf._engine_support(dpl, remote, cols)  # type: ignore[arg-type]
    assert issue.check == "engine_support" and "method: lloyd" in issue.fix
    assert pf._engine_support(spec, remote, cols) == []  # type: ignore[arg-type]  # lloyd runs
    assert pf._engine_support(dpl, _tables(), cols) == []  # pandas: diffprivlib runs
    # and in the whole pre-flight of a pandas run, diffprivlib passes
    assert _run(shop.model_copy(update={"segmentation": dpl}), _report(), _tables()) == set()
