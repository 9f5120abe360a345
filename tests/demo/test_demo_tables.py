"""Tables, counts, messy rows, consent paths, determinism and the in-memory events frame."""

from __future__ import annotations

import datetime as dt
import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from demo_env import N_USERS, NOW

from privacy_profile.demo import (
    EVENT_TYPES,
    GENERATED_COLUMNS,
    ConsentScenario,
    DemoDataset,
    MessyKind,
    generate_demo_data,
    generate_events_frame,
)
from privacy_profile.demo.campaigns import CAMPAIGN_COLUMNS, COST_FILE
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.policy import Policy

TABLES = ("users", "events", "orders", "consents")


def _ts(values: pd.Series) -> pd.Series:
    return pd.to_datetime(values, format="ISO8601", errors="coerce", utc=True)


def _digest(demo: DemoDataset) -> dict[str, str]:
    return {t: hashlib.sha256(p.read_bytes()).hexdigest() for t, p in demo.paths.items()}


# ----------------------------------------------------------------- files and columns


def test_writes_one_file_per_policy_table_and_nothing_else(
    demo: DemoDataset, policy: Policy
) -> None:
    assert set(demo.paths) == set(policy.tables) == set(TABLES) | set(CAMPAIGN_COLUMNS)
    for name, path in demo.paths.items():
        assert path.parent == demo.input_dir
        assert path.name == policy.tables[name].file_name(name)
    everything = {p for p in demo.input_dir.parent.rglob("*") if p.is_file()}
    # plus the public campaign cost table (not personal data, not a policy table)
    assert everything == set(demo.paths.values()) | {demo.input_dir / COST_FILE}


def test_columns_match_the_policy(tables: dict[str, pd.DataFrame], policy: Policy) -> None:
    for name in TABLES:
        declared = list(policy.tables[name].columns)
        extra = ["debug_flag"] if name == "events" else []
        assert list(tables[name].columns) == declared + extra, name


def test_undeclared_column_is_reported(demo: DemoDataset, policy: Policy) -> None:
    assert demo.undeclared_columns == {"events": ("debug_flag",)}
    assert "debug_flag" not in policy.tables["events"].columns
    assert policy.tables["events"].undeclared_columns.value == "drop"


def test_row_counts_are_as_returned(tables: dict[str, pd.DataFrame], demo: DemoDataset) -> None:
    assert {t: len(f) for t, f in tables.items()} == dict(demo.rows)
    assert demo.rows["users"] == N_USERS
    # about 40 events per user, about one order per 50 events
    assert 25 * N_USERS < demo.rows["events"] < 60 * N_USERS
    assert 0.01 < demo.rows["orders"] / demo.rows["events"] < 0.03


def test_typed_columns_parse_apart_from_the_messy_rows(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    users, events, orders, consents = (tables[t] for t in TABLES)
    assert pd.to_datetime(users.birthdate[users.birthdate != ""], format="%Y-%m-%d").notna().all()
    for frame, col in ((consents, "recorded_at"),):
        assert _ts(frame[col]).notna().all()
    for frame, col in ((orders, "coupon_used"), (consents, "guardian_consent")):
        assert set(frame[col]) <= {"true", "false"}
    assert set(events.event_type) == set(EVENT_TYPES)
    assert set(orders.status) == {"paid", "cancelled", "returned"}
    assert orders.order_id.is_unique
    assert orders.order_id.str.fullmatch(r"WX\d{18}").all()


# ----------------------------------------------------------------- messy rows


def test_messy_row_counts_are_as_returned(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    ts_col = {"users": "registered_at", "events": "ts", "orders": "ordered_at"}
    for name, column in ts_col.items():
        frame = tables[name]
        kinds = demo.messy[name]
        assert (frame.openid == "").sum() == kinds[MessyKind.MISSING_OPENID] >= 1
        assert _ts(frame[column]).isna().sum() == kinds[MessyKind.UNPARSABLE_TIMESTAMP] >= 1
    amounts = pd.to_numeric(tables["orders"].amount, errors="coerce")
    assert amounts.isna().sum() == demo.messy["orders"][MessyKind.NON_NUMERIC_AMOUNT] >= 1
    assert demo.messy_rows("consents") == 0
    assert (tables["consents"].openid != "").all()


def test_messy_rows_are_rare_and_one_defect_each(
    tables: dict[str, pd.DataFrame], demo: DemoDataset
) -> None:
    events = tables["events"]
    assert demo.messy_rows("events") <= 0.0025 * len(events)
    both = (events.openid == "") & _ts(events.ts).isna()
    assert not both.any()


# ----------------------------------------------------------------- behaviour


def test_funnel_shares_are_taobao_like(tables: dict[str, pd.DataFrame]) -> None:
    share = tables["events"].event_type.value_counts(normalize=True)
    assert 0.86 < share["view"] < 0.93
    assert 0.04 < share["cart"] < 0.07
    assert 0.015 < share["fav"] < 0.045
    assert 0.01 < share["buy"] < 0.03


def test_event_times_are_recent_with_some_past_retention(
    tables: dict[str, pd.DataFrame], policy: Policy
) -> None:
    ts = _ts(tables["events"].ts).dropna()
    now = pd.Timestamp(NOW)
    assert (ts <= now).all()
    retention = pd.Timedelta(days=policy.tables["events"].retention_days)
    old = ts < now - retention
    assert 0 < old.mean() < 0.05
    assert (ts[~old] >= now - pd.Timedelta(days=181)).all()
    assert tables["events"].ts.str.endswith("+08:00").all() or _ts(tables["events"].ts).isna().any()


def test_order_amounts_are_heavy_tailed_past_the_policy_bound(
    tables: dict[str, pd.DataFrame], policy: Policy
) -> None:
    amounts = pd.to_numeric(tables["orders"].amount, errors="coerce").dropna()
    bound = policy.metric_bounds("orders", "amount")
    assert bound is not None
    assert (amounts > bound.upper).any()
    assert (amounts > 0).all()
    assert amounts.mean() > amounts.median()  # right-skewed
    paid = (tables["orders"].status == "paid").mean()
    assert 0.8 < paid < 0.95


def test_search_keywords_are_mostly_plain_product_words(tables: dict[str, pd.DataFrame]) -> None:
    kw = tables["events"].search_keyword
    kw = kw[kw != ""]
    assert "连衣裙" in set(kw) or "蓝牙耳机" in set(kw)
    assert kw.str.fullmatch(r"[\u4e00-\u9fffA-Za-z]+").mean() > 0.98


# ----------------------------------------------------------------- consent paths


def _latest(consents: pd.DataFrame) -> pd.DataFrame:
    c = consents.assign(t=_ts(consents.recorded_at))
    assert not c.duplicated(["openid", "purpose", "t"]).any()  # no ties
    return c.sort_values("t").groupby(["openid", "purpose"]).tail(1)


def test_every_consent_path_is_present(demo: DemoDataset) -> None:
    counts = demo.consent_scenarios
    assert set(counts) == set(ConsentScenario)
    assert all(n > 0 for n in counts.values()), counts
    assert sum(counts.values()) == N_USERS * 2


def test_latest_record_outcomes_match_the_scenarios(
    tables: dict[str, pd.DataFrame], demo: DemoDataset, policy: Policy
) -> None:
    consents = tables["consents"]
    assert set(consents.purpose) == {p.data_use for p in policy.purposes}
    latest = _latest(consents)
    s = demo.consent_scenarios
    assert len(latest) == N_USERS * 2 - s[ConsentScenario.NO_RECORD]
    accepted = set(policy.purposes[0].consent.accepted_notice_versions)
    granted = latest.status == "granted"
    old = ~latest.notice_version.isin(accepted)
    opted_out = latest.personalised_marketing_opt_out == "true"
    assert set(consents.notice_version) == accepted | {"2024-01"}
    assert (granted & old).sum() == s[ConsentScenario.OLD_NOTICE_ONLY]
    assert (~granted).sum() == (
        s[ConsentScenario.GRANTED_THEN_WITHDRAWN] + s[ConsentScenario.WITHDRAWN_ONLY]
    )
    assert (granted & ~old & opted_out).sum() == (
        s[ConsentScenario.OPTED_OUT] + s[ConsentScenario.GRANTED_THEN_OPTED_OUT]
    )
    assert (granted & ~old & ~opted_out).sum() == (
        s[ConsentScenario.GRANTED]
        + s[ConsentScenario.WITHDRAWN_THEN_REGRANTED]
        + s[ConsentScenario.OLD_NOTICE_RENEWED]
        + s[ConsentScenario.OPTED_OUT_THEN_OPTED_IN]
    )
    # the file is not in time order: a reader must look for the latest record
    t = _ts(consents.recorded_at)
    assert not t.is_monotonic_increasing


def test_consents_are_recorded_after_registration_and_before_now(
    tables: dict[str, pd.DataFrame],
) -> None:
    users = tables["users"].assign(reg=_ts(tables["users"].registered_at))
    c = tables["consents"].assign(t=_ts(tables["consents"].recorded_at))
    joined = c.merge(users[["openid", "reg"]].dropna(), on="openid")
    assert (joined.t > joined.reg).all()
    assert (c.t <= pd.Timestamp(NOW)).all()


def test_minors_with_and_without_guardian_consent(
    tables: dict[str, pd.DataFrame], policy: Policy
) -> None:
    users = tables["users"]
    birth = pd.to_datetime(users.birthdate.replace("", None), format="%Y-%m-%d")
    today = pd.Timestamp("2026-11-30")
    age = today.year - birth.dt.year - ((birth.dt.month * 100 + birth.dt.day) > 1130)
    minimum = policy.purposes[0].consent.minors.minimum_age
    minors = set(users.openid[age < minimum])
    c = tables["consents"]
    guardian = set(c.openid[c.guardian_consent == "true"])
    recorded = set(c.openid)
    assert guardian <= minors
    assert minors & guardian
    assert (minors & recorded) - guardian


# ----------------------------------------------------------------- determinism and options


def test_same_seed_same_files_different_seed_different_files(
    tmp_path: Path, demo: DemoDataset, policy: Policy
) -> None:
    again = generate_demo_data(tmp_path / "a", n_users=N_USERS, seed=7, now=NOW, policy=policy)
    assert _digest(again) == _digest(demo)
    assert again.planted == demo.planted
    other = generate_demo_data(tmp_path / "b", n_users=N_USERS, seed=8, now=NOW, policy=policy)
    assert all(a != b for a, b in zip(_digest(other).values(), _digest(demo).values(), strict=True))


def test_default_columns_equal_the_example_policy(tmp_path: Path, policy: Policy) -> None:
    d = generate_demo_data(tmp_path, n_users=50, now=NOW, events_per_user=5)
    for name in TABLES:
        assert tuple(policy.tables[name].columns) == GENERATED_COLUMNS[name]
        header = d.paths[name].read_text(encoding="utf-8").splitlines()[0].split(",")
        assert header[: len(GENERATED_COLUMNS[name])] == list(GENERATED_COLUMNS[name])


def test_naive_now_writes_naive_timestamps(tmp_path: Path) -> None:
    d = generate_demo_data(tmp_path, n_users=30, now=dt.datetime(2026, 1, 1), events_per_user=5)
    first = pd.read_csv(d.paths["consents"], dtype=str).recorded_at.iloc[0]
    assert len(first) == 19 and "+" not in first


@pytest.mark.parametrize("fmt", ["parquet", "jsonl"])
def test_other_formats_hold_the_same_rows(tmp_path: Path, fmt: str) -> None:
    csv_d = generate_demo_data(tmp_path / "c", n_users=60, now=NOW, events_per_user=10)
    d = generate_demo_data(tmp_path / fmt, n_users=60, now=NOW, events_per_user=10, fmt=fmt)  # type: ignore[arg-type]
    for name, path in d.paths.items():
        assert path.suffix == f".{fmt}"
        frame = (
            pd.read_parquet(path) if fmt == "parquet" else pd.read_json(path, lines=True, dtype=str)
        )
        expected = pd.read_csv(csv_d.paths[name], dtype=str)
        assert list(frame.columns) == list(expected.columns)
        assert len(frame) == len(expected) == d.rows[name]


def test_a_policy_column_the_generator_cannot_produce_is_refused(
    tmp_path: Path, policy: Policy
) -> None:
    users = policy.tables["users"]
    extra = {**users.columns, "income": users.columns["channel"]}
    broken = policy.model_copy(
        update={"tables": {**policy.tables, "users": users.model_copy(update={"columns": extra})}}
    )
    with pytest.raises(PolicyError, match="income"):
        generate_demo_data(tmp_path, n_users=10, now=NOW, policy=broken)
    assert not any(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize(
    "kwargs",
    [
        {"n_users": 0},
        {"n_users": -5},
        {"seed": -1},
        {"events_per_user": 0.0},
        {"fmt": "xlsx"},
    ],
)
def test_bad_arguments_are_refused(tmp_path: Path, kwargs: dict[str, object]) -> None:
    with pytest.raises(InputError):
        generate_demo_data(tmp_path, now=NOW, **kwargs)  # type: ignore[arg-type]


# ----------------------------------------------------------------- the in-memory events frame


def test_events_frame_has_exact_rows_compact_dtypes_and_is_seeded() -> None:
    frame = generate_events_frame(20_000, 500, seed=3)
    assert len(frame) == 20_000
    assert list(frame.columns) == list(GENERATED_COLUMNS["events"])
    assert isinstance(frame.openid.dtype, pd.CategoricalDtype)
    assert frame.ts.dt.tz is not None
    assert frame.openid.notna().all() and frame.ts.notna().all()
    assert frame.memory_usage(deep=True).sum() < 150 * len(frame)
    pd.testing.assert_frame_equal(frame, generate_events_frame(20_000, 500, seed=3))
    other = generate_events_frame(20_000, 500, seed=4)
    assert not frame.openid.astype(str).equals(other.openid.astype(str))
    # heavy-tailed activity: the busiest 10% of users contribute far more than 10% of rows
    per_user = frame.openid.value_counts()
    assert per_user.head(len(per_user) // 10).sum() > 0.25 * len(frame)


def test_events_frame_shares_openids_with_the_files(tmp_path: Path) -> None:
    d = generate_demo_data(tmp_path, n_users=80, seed=5, now=NOW, events_per_user=5)
    users = pd.read_csv(d.paths["users"], dtype=str)
    frame = generate_events_frame(2_000, 80, seed=5)
    assert set(frame.openid.astype(str)) <= d.planted.columns["users.openid"]
    assert d.planted.columns["users.openid"] >= set(users.openid.dropna())


def test_messy_events_frame_is_the_file_content() -> None:
    frame = generate_events_frame(50_000, 1_000, seed=3, messy=True)
    assert list(frame.columns) == [*GENERATED_COLUMNS["events"], "debug_flag"]
    bad_ts = _ts(frame.ts).isna().sum()
    assert 1 <= bad_ts <= 0.002 * len(frame)
    assert 1 <= frame.openid.isna().sum() <= 0.002 * len(frame)
    assert np.isin(frame.debug_flag.astype(str), ["0", "1"]).all()
