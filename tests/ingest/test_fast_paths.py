"""The fast paths equal simple reference implementations.

* ``codes.factorize`` (hash + byte-wise check for fixed-width Arrow strings) equals
  ``pd.factorize``, also when hashes collide;
* the numpy consent state and the prepared gate equal the previous pandas implementation
  (sort by user, time and withdrawal; reindex per distinct user), on hypothesis-generated
  consent histories with ties, missing times, whitespace variants and unknown users;
* pseudonyms over shared codes equal pseudonyms of the column.
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from _ingest_helpers import PURPOSE, make_policy
from hypothesis import given, settings
from hypothesis import strategies as st

from privacy_profile.ingest import KeyMaterial, KeyRing, Pseudonymizer
from privacy_profile.ingest import codes as codes_mod
from privacy_profile.ingest.codes import factorize
from privacy_profile.ingest.consent import (
    EXCLUSION_REASONS,
    GateParams,
    build_consent_state,
    consent_exclusions,
)
from privacy_profile.ingest.normalize import normalize_default
from privacy_profile.ingest.pseudonymize import take_fixed
from privacy_profile.policy.model import ConsentRule

NOW = dt.datetime(2026, 12, 1)

# ---------------------------------------------------------------- factorize

fixed_ids = st.lists(st.sampled_from(["oAAA", "oBBB", "oCCC", "o中文", "oAAB"]), max_size=40)
any_ids = st.lists(st.one_of(st.none(), st.sampled_from(["a", "bb", " a", "", "ccc"])), max_size=30)


def _check_factorize(s: pd.Series) -> None:
    f = factorize(s)
    codes, uniques = pd.factorize(s, use_na_sentinel=True)
    assert f.codes.tolist() == list(codes)
    assert f.uniques.tolist() == list(uniques)
    assert f.index.equals(s.index)


@settings(max_examples=60, deadline=None)
@given(fixed_ids)
def test_factorize_fixed_width_equals_pandas(values: list[str]) -> None:
    _check_factorize(pd.Series(values, dtype=pd.StringDtype("pyarrow")))


@settings(max_examples=60, deadline=None)
@given(any_ids, st.sampled_from(["string", "str", "object"]))
def test_factorize_any_column_equals_pandas(values: list[str | None], dtype: str) -> None:
    _check_factorize(pd.Series(values, dtype=dtype, index=np.arange(len(values)) * 3))


def test_factorize_detects_hash_collisions(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(codes_mod, "_hash_rows", lambda m: np.zeros(len(m), dtype=np.uint64))
    s = pd.Series(["oAAA", "oBBB", "oAAA", "oCCC"], dtype=pd.StringDtype("pyarrow"))
    assert codes_mod._fast_codes(codes_mod._fixed_width(codes_mod.arrow_strings(s))) is None
    _check_factorize(s)


def test_factorize_sliced_arrow_column() -> None:
    s = pd.Series(["x1", "y22", "ab", "cd", "ab", "ef"], dtype=pd.StringDtype("pyarrow"))
    _check_factorize(s.iloc[2:])  # fixed width only after the slice
    f = factorize(s.iloc[2:])
    assert f.compact().uniques.tolist() == ["ab", "cd", "ef"]
    kept = f.take(np.array([False, True, False, True]))
    assert kept.compact().uniques.tolist() == ["cd", "ef"]
    assert kept.compact().codes.tolist() == [0, 1]


# ---------------------------------------------------------------- consent: reference


def _ref_state(records: pd.DataFrame, rule: ConsentRule) -> tuple[pd.DataFrame, int]:
    """The previous implementation: stable sort by (user, ts, rank), last row per user."""
    spec = make_policy().consent_records
    status = records[spec.status_column].str.strip().str.lower()

    def flag(c: str | None) -> np.ndarray:
        if c is None:
            return np.zeros(len(records), dtype=bool)
        return records[c].astype("boolean").fillna(False).astype(bool).to_numpy()

    frame = pd.DataFrame(
        {
            "user": normalize_default(records[spec.user_column]).to_numpy(),
            "ts": records[spec.timestamp_column].to_numpy(),
            "rank": (status == "withdrawn").to_numpy(dtype=bool).astype(np.int8),
            "status": status.to_numpy(),
            "notice_ok": records[spec.notice_version_column]
            .str.strip()
            .isin(rule.accepted_notice_versions)
            .fillna(False)
            .to_numpy(dtype=bool),
            "guardian": flag(spec.guardian_consent_column),
            "sensitive": flag(spec.sensitive_consent_column),
            "opt_out": flag(spec.opt_out_column),
        }
    )
    frame = frame.sort_values(["user", "ts", "rank"], kind="stable")
    dup = frame.duplicated(["user", "ts"], keep=False)
    ties = int(frame[dup].groupby(["user", "ts"])["rank"].nunique().gt(1).sum()) if dup.any() else 0
    latest = frame.drop_duplicates("user", keep="last").set_index("user")
    return latest.drop(columns=["ts", "rank"]), ties


def _ref_gate(
    ids: pd.Series, latest: pd.DataFrame, ages: pd.Series, rule: ConsentRule
) -> list[str | None]:
    """The previous gate: reindex the state and ages by each distinct normalized id."""
    out: list[str | None] = []
    for raw in ids:
        if pd.isna(raw):
            out.append("no_consent_for_purpose")
            continue
        user = str(raw).strip()
        if user not in latest.index or pd.isna(latest.loc[user, "status"]):
            out.append("no_consent_for_purpose")
            continue
        row = latest.loc[user]
        age = ages.get(user, np.nan)
        age = np.nan if pd.isna(age) else float(age)
        guardian = bool(row["guardian"]) and rule.minors.guardian_consent_admits
        if row["status"] != "granted":
            out.append("consent_withdrawn")
        elif not row["notice_ok"]:
            out.append("notice_version_not_accepted")
        elif not np.isnan(age) and age < rule.minors.minimum_age and not guardian:
            out.append("minor_without_guardian_consent")
        elif np.isnan(age) and rule.minors.unknown_age.value == "exclude" and not guardian:
            out.append("age_unknown_without_guardian_consent")
        elif rule.opt_out.value == "exclude_from_profiling" and bool(row["opt_out"]):
            out.append("opted_out_of_profiling")
        else:
            out.append(None)
    return out


users_st = st.sampled_from(["u1", "u2", " u2", "u3", "u4", "u-five"])
record = st.tuples(
    users_st,
    st.sampled_from(["granted", "withdrawn", " Granted ", "WITHDRAWN"]),
    st.one_of(st.none(), st.integers(0, 3)),  # day offset; None: missing time
    st.sampled_from(["2026-03", "2023-01", None]),
    st.sampled_from([True, False, None]),
    st.sampled_from([True, False, None]),
    st.sampled_from([True, False, None]),
)


@pytest.mark.slow  # 150 property examples against the reference: about a minute under load
@settings(max_examples=150, deadline=None)
@given(
    st.lists(record, min_size=1, max_size=25),
    st.dictionaries(users_st.map(str.strip), st.one_of(st.none(), st.integers(8, 40))),
    st.lists(st.one_of(st.none(), users_st, st.just("nobody")), max_size=30),
    st.sampled_from(["include", "exclude"]),
    st.booleans(),
    st.sampled_from(["exclude_from_profiling", "exclude_from_activation"]),
)
def test_consent_state_and_gate_equal_the_reference(
    recs: list[tuple],
    age_of: dict[str, int | None],
    ids: list[str | None],
    unknown_age: str,
    guardian_admits: bool,
    opt_out: str,
) -> None:
    spec = make_policy().consent_records
    t0 = pd.Timestamp("2026-01-01")
    records = pd.DataFrame(
        {
            spec.user_column: pd.Series([r[0] for r in recs], dtype="string"),
            spec.purpose_column: PURPOSE,
            spec.status_column: pd.Series([r[1] for r in recs], dtype="string"),
            spec.timestamp_column: pd.Series(
                [pd.NaT if r[2] is None else t0 + pd.Timedelta(days=r[2]) for r in recs],
                dtype="datetime64[us]",
            ),
            spec.notice_version_column: pd.Series([r[3] for r in recs], dtype="string"),
            "guardian_consent": pd.array([r[4] for r in recs], dtype="boolean"),
            "sensitive_consent": pd.array([r[5] for r in recs], dtype="boolean"),
            "personalised_marketing_opt_out": pd.array([r[6] for r in recs], dtype="boolean"),
        }
    )
    rule = ConsentRule.model_validate(
        {
            "accepted_notice_versions": ["2026-03"],
            "minors": {
                "minimum_age": 14,
                "unknown_age": unknown_age,
                "guardian_consent_admits": guardian_admits,
            },
            "opt_out": opt_out,
            "separate_consent_for_sensitive": True,
        }
    )
    state, unused = build_consent_state(records, spec, purpose=PURPOSE, rule=rule, now=NOW)
    ref_latest, ref_ties = _ref_state(records, rule)
    assert state.ties == ref_ties
    assert state.records_used == len(records) and unused.isna().all()
    got = state.latest.sort_index()
    want = ref_latest.sort_index()
    assert got.index.tolist() == want.index.tolist()
    for c in want.columns:
        assert got[c].tolist() == want[c].tolist(), c
    ages = pd.Series(
        [np.nan if a is None else float(a) for a in age_of.values()],
        index=pd.Index(list(age_of), name="user"),
        dtype="Float64",
    )
    subject_ids = pd.Series(ids, dtype="string", index=np.arange(len(ids)) + 7)
    reasons, sens, opt = consent_exclusions(subject_ids, state, ages, GateParams(rule=rule))
    expected = _ref_gate(subject_ids, ref_latest, ages, rule)
    assert [None if pd.isna(r) else r for r in reasons] == expected
    assert set(reasons.dropna()) <= set(EXCLUSION_REASONS)
    assert reasons.index.equals(subject_ids.index)
    for got_flag, col in ((sens, "sensitive"), (opt, "opt_out")):
        want_flag = [
            bool(ref_latest.loc[str(i).strip(), col])
            if i is not None and str(i).strip() in ref_latest.index
            else False
            for i in ids
        ]
        assert got_flag.tolist() == want_flag


# ---------------------------------------------------------------- pseudonyms over codes


@settings(max_examples=40, deadline=None)
@given(
    st.lists(st.one_of(st.none(), st.sampled_from(["oAAA", "oBBB", " oAA", "    "])), max_size=30)
)
def test_pseudonyms_over_shared_codes_equal_the_column_s(values: list[str | None]) -> None:
    ring = KeyRing(domains={"d": KeyMaterial.from_bytes(b"p" * 32, key_id="k", source="test")})
    pz = Pseudonymizer(ring)
    s = pd.Series(values, dtype=pd.StringDtype("pyarrow"))
    keep = np.array([i % 3 != 1 for i in range(len(values))], dtype=bool)
    via_codes = pz.pseudonymize_factorized(factorize(s).take(keep), domain="d")
    direct = pz.pseudonymize(s[keep], domain="d")
    assert via_codes.index.equals(direct.index)
    assert via_codes.fillna("<NA>").tolist() == direct.fillna("<NA>").tolist()


@settings(max_examples=40, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=12), max_size=20))
def test_hash_matrix_equals_hash_values(values: list[str]) -> None:
    ring = KeyRing(domains={"d": KeyMaterial.from_bytes(b"q" * 32, key_id="k", source="test")})
    pz = Pseudonymizer(ring)
    m = pz.hash_matrix(values, domain="d")
    assert [bytes(r).decode() for r in m] == pz.hash_values(values, domain="d")


def test_take_fixed_maps_codes_and_missing() -> None:
    m = np.frombuffer(b"aaabbbccc", dtype=np.uint8).reshape(3, 3)
    out = take_fixed(m, np.array([2, -1, 0, 0, -1]), pd.RangeIndex(5))
    assert out.fillna("<NA>").tolist() == ["ccc", "<NA>", "aaa", "aaa", "<NA>"]
    assert take_fixed(m, np.array([1, 1]), pd.RangeIndex(2)).tolist() == ["bbb", "bbb"]
