"""Segments on a real data set (the UCI Online Retail fixture, 445 customers)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from _segments_helpers import DEMO_COLUMNS

from privacy_profile.demo.public_data import read_uci_lines, uci_orders
from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.segments._common import ReleaseContext
from privacy_profile.segments.features import FeatureParams, compute_features
from privacy_profile.segments.rfm import RfmParams, release_rfm


def test_rfm8_on_uci_fixture(shared_data: Path) -> None:
    lines = read_uci_lines(shared_data / "uci_online_retail" / "uci_online_retail_custid_mod10.csv")
    assert len(lines) == 36378
    orders = uci_orders(lines, unit_column="openid", id_prefix="c")
    feats = compute_features(
        {"orders": orders},
        FeatureParams(unit_column="openid", now=dt.datetime(2011, 12, 10), columns=DEMO_COLUMNS),
    ).table
    assert len(feats) == 445
    led = BudgetLedger.in_memory(
        dataset="uci", budget=PrivacyLoss(epsilon=10.0), window=BudgetWindow.lifetime()
    )
    ctx = ReleaseContext(
        ledger=led, run_id="r", rng=DPRandom.for_testing(2), unit_column="openid", threshold=20
    )
    params = RfmParams(
        recency_bounds=Bounds(lower=0, upper=400),
        frequency_bounds=Bounds(lower=0, upper=100),
        monetary_bounds=Bounds(lower=0, upper=20000),
    )
    rel = release_rfm(feats, params, loss=PrivacyLoss(epsilon=2.0), ctx=ctx)
    released = rel.table.loc[~rel.table["suppressed"]]
    assert len(released) >= 4
    assert released["dp_size"].sum() == pytest.approx(len(rel.assignment), rel=0.1)
    assert 0 < rel.splits["recency_days"] < 400
    assert led.spent().epsilon == pytest.approx(2.0)
