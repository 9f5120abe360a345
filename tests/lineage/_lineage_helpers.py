"""Helpers for the lineage tests: a complete synthetic run (inputs with planted identifiers,
a run log, a ledger, released outputs) built only from the lineage package's public API."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
from _support.lineage_example import example_facet

from privacy_profile.ingest import IdentifierIndex
from privacy_profile.lineage import (
    ColumnLineage,
    DatasetInfo,
    DpMechanismRecord,
    FieldInfo,
    LineageRecorder,
    PrivacyRunFacet,
    ReleaseGuard,
    RunLog,
    SourceField,
    Transform,
)

# Distinctive raw values planted in the inputs; they must never reach events, logs or outputs.
PLANTED_OPENID = "oQx7Zk3Lm9Pq2Rs5Tu8Vw1Xy4Za6"
PLANTED_PHONE = "13912345678"
PLANTED_NICKNAME = "龙猫小栗子"
PLANTED_AMOUNT = "987654.321"

NS = "file:///data/test-shop"


def users_frame() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "openid": [PLANTED_OPENID, "oAb1Cd2Ef3Gh4Ij5Kl6Mn7Op8Qr9", "oZz9Yy8Xx7Ww6Vv5Ts2Rr1"],
            "phone": [PLANTED_PHONE, "13800001111", "13700002222"],
            "nickname": [PLANTED_NICKNAME, "小明", "阿花"],
            "amount": [PLANTED_AMOUNT, "12.5", "40"],
        }
    )


def inputs() -> list[DatasetInfo]:
    return [
        DatasetInfo(
            namespace=NS,
            name="users",
            fields=(
                FieldInfo(
                    name="openid",
                    type="string",
                    category="user.unique_id.wechat_openid",
                    pii=True,
                    sensitive=False,
                ),
                FieldInfo(
                    name="phone",
                    type="string",
                    category="user.contact.phone_number",
                    pii=True,
                    sensitive=False,
                ),
                FieldInfo(
                    name="amount",
                    type="float",
                    category="user.behavior.purchase_history",
                    pii=False,
                    sensitive=False,
                ),
            ),
        )
    ]


def outputs() -> tuple[list[DatasetInfo], list[ColumnLineage]]:
    out = DatasetInfo(
        namespace="file:///out",
        name="segments.csv",
        fields=(
            FieldInfo(
                name="segment",
                type="string",
                category="user.behavior.purchase_history",
                pii=False,
                sensitive=False,
            ),
            FieldInfo(
                name="users",
                type="float",
                category="user.behavior.purchase_history",
                pii=False,
                sensitive=False,
            ),
        ),
    )
    lineage = [
        ColumnLineage(
            output="segments.csv",
            field="users",
            sources=(
                SourceField(
                    namespace=NS, name="users", field="openid", transform=Transform.PSEUDONYMIZE
                ),
                SourceField(
                    namespace=NS, name="users", field="openid", transform=Transform.DP_AGGREGATE
                ),
            ),
        ),
        ColumnLineage(
            output="segments.csv",
            field="segment",
            sources=(
                SourceField(
                    namespace=NS, name="users", field="amount", transform=Transform.GROUP_BY
                ),
            ),
        ),
    ]
    return [out], lineage


def segments_frame() -> pd.DataFrame:
    return pd.DataFrame({"segment": ["Champions", "At risk"], "users": [1184.0, 953.0]})


def facet_for_run() -> PrivacyRunFacet:
    """The example facet: two DP mechanisms (segment sizes and revenue) the tests charge."""
    return example_facet()


def write_ledger(path: Path, run_id: str, charges: Sequence[DpMechanismRecord]) -> None:
    """Record ``charges`` for ``run_id`` in a ledger file with the real BudgetLedger."""
    from privacy_profile.dp.ledger import BudgetLedger, BudgetWindow, ChargeRequest
    from privacy_profile.dp.model import PrivacyLoss

    with BudgetLedger.open(
        path,
        dataset="wechat-shop-users",
        budget=PrivacyLoss(epsilon=10.0, delta=1e-5),
        window=BudgetWindow.rolling_days(30),
    ) as ledger:
        ledger.charge_many(
            run_id=run_id,
            requests=[
                ChargeRequest(
                    mechanism=c.mechanism,
                    loss=PrivacyLoss(epsilon=c.epsilon, delta=c.delta),
                    sensitivity=c.sensitivity,
                    label=c.label,
                )
                for c in charges
            ],
        )


@dataclass
class Run:
    root: Path
    run_dir: Path
    run_id: str
    log: RunLog
    ledger: Path
    out_dir: Path
    events: Path
    guard: ReleaseGuard


def _clock() -> Callable[[], dt.datetime]:
    t = [dt.datetime(2026, 11, 2, 9, 0, tzinfo=dt.UTC)]

    def now() -> dt.datetime:
        t[0] += dt.timedelta(seconds=1)
        return t[0]

    return now


USER_CATEGORIES = {
    "openid": "user.unique_id.wechat_openid",
    "phone": "user.contact.phone_number",
    "nickname": "user.name",
}


def users_index(users: pd.DataFrame) -> IdentifierIndex:
    """The identifier index as ingestion fills it: each direct-identifier column with the data
    category the policy declares."""
    index = IdentifierIndex()
    for column, category in USER_CATEGORIES.items():
        index.add(users[column], category)
    return index


def make_run(root: Path, *, scanner: Any = None) -> Run:
    run_id = "01900000-0000-7000-8000-0000000000aa"
    run_dir = root / "runs" / run_id
    log = RunLog.for_run_dir(run_dir, clock=_clock())
    users = users_frame()
    guard = ReleaseGuard.for_run(
        users_index(users),
        pseudonyms=["a3f1" * 16],
        scanner=scanner,
    )
    rec = LineageRecorder(
        run_dir,
        job_namespace="privacy_profile",
        job_name="test.sanitize_then_segment",
        clock=_clock(),
        run_log=log,
        checker=guard,
    )
    rec.start(run_id, inputs())
    out_dir = run_dir / "outputs"
    guard.release({"segments.csv": segments_frame()}, out_dir, run_log=log, run_id=run_id)
    facet = facet_for_run()
    ledger = root / "ledger.sqlite"
    write_ledger(ledger, run_id, facet.dp_mechanisms)
    outs, lineage = outputs()
    rec.complete(outs, lineage, facet)
    return Run(root, run_dir, run_id, log, ledger, out_dir, rec.events_path, guard)
