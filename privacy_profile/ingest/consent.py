"""The consent gate: only users whose latest consent for the run's purpose is valid remain.

The latest record per (user, purpose) wins; on equal timestamps a withdrawal wins (fail
closed). A row is excluded, with the first reason that applies, when its user has no consent
record for the purpose, withdrew, agreed to a notice version the policy does not accept, is a
minor (or of unknown age, where the policy says so) without recorded guardian consent, or opted
out of personalised marketing where the purpose excludes opted-out users from profiling.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass

import numpy as np
import pandas as pd

from privacy_profile.errors import ConsentError
from privacy_profile.ingest.normalize import Normalizer, normalize_default
from privacy_profile.ingest.pseudonymize import take_strings
from privacy_profile.policy.model import (
    ConsentRecordsSpec,
    ConsentRule,
    OptOutEffect,
    SubjectsSpec,
    UnknownAge,
)

__all__ = [
    "EXCLUSION_REASONS",
    "ConsentState",
    "GateParams",
    "build_consent_state",
    "consent_exclusions",
    "subject_ages",
]

NO_CONSENT = "no_consent_for_purpose"
WITHDRAWN = "consent_withdrawn"
NOTICE = "notice_version_not_accepted"
MINOR = "minor_without_guardian_consent"
AGE_UNKNOWN = "age_unknown_without_guardian_consent"
OPTED_OUT = "opted_out_of_profiling"
EXCLUSION_REASONS = (NO_CONSENT, WITHDRAWN, NOTICE, MINOR, AGE_UNKNOWN, OPTED_OUT)

GRANTED, WITHDRAWN_STATUS = "granted", "withdrawn"


@dataclass(frozen=True)
class ConsentState:
    """The latest consent per user for one purpose (index: normalized user id).

    Columns: ``status`` (granted | withdrawn), ``notice_ok``, ``guardian``, ``sensitive``,
    ``opt_out`` (booleans). ``ties`` counts (user, time) ties resolved as a withdrawal.
    """

    latest: pd.DataFrame
    records_used: int
    ties: int


@dataclass(frozen=True)
class GateParams:
    rule: ConsentRule
    normalizer: Normalizer = normalize_default


def _flag(df: pd.DataFrame, column: str | None) -> pd.Series:
    if column is None:
        return pd.Series(False, index=df.index, dtype=bool)
    return df[column].astype("boolean").fillna(False).astype(bool)


def build_consent_state(
    records: pd.DataFrame,
    spec: ConsentRecordsSpec,
    *,
    purpose: str,
    rule: ConsentRule,
    now: dt.datetime,
    normalizer: Normalizer = normalize_default,
) -> tuple[ConsentState, pd.Series]:
    """Latest record per user for ``purpose``.

    ``records`` are validated consent rows (typed). Returns the state and, per input row, why
    it was not used (``other_purpose``, ``recorded_after_run_time``) or missing if it was.
    Raises :class:`ConsentError` when no record mentions the purpose at all.
    """
    unused = pd.Series(pd.NA, index=records.index, dtype="string")
    other = records[spec.purpose_column].str.strip() != purpose
    unused[other.fillna(True).to_numpy(dtype=bool)] = "other_purpose"
    future = (records[spec.timestamp_column] > pd.Timestamp(now)).fillna(False)
    unused[(future & unused.isna()).to_numpy(dtype=bool)] = "recorded_after_run_time"
    used = records[unused.isna().to_numpy(dtype=bool)]
    if len(records) and not (~other.fillna(True)).any():
        raise ConsentError(
            f"no consent record mentions the run's purpose {purpose!r}",
            hint="check the purpose column of the consent records and the --purpose given",
        )
    status = used[spec.status_column].str.strip().str.lower()
    frame = pd.DataFrame(
        {
            "user": normalizer(used[spec.user_column]).to_numpy(),
            "ts": used[spec.timestamp_column].to_numpy(),
            "rank": (status == WITHDRAWN_STATUS).to_numpy(dtype=bool).astype(np.int8),
            "status": status.to_numpy(),
            "notice_ok": used[spec.notice_version_column]
            .str.strip()
            .isin(rule.accepted_notice_versions)
            .fillna(False)
            .to_numpy(dtype=bool),
            "guardian": _flag(used, spec.guardian_consent_column).to_numpy(),
            "sensitive": _flag(used, spec.sensitive_consent_column).to_numpy(),
            "opt_out": _flag(used, spec.opt_out_column).to_numpy(),
        }
    )
    frame = frame.sort_values(["user", "ts", "rank"], kind="stable")
    dup = frame.duplicated(["user", "ts"], keep=False)
    ties = int(frame[dup].groupby(["user", "ts"])["rank"].nunique().gt(1).sum()) if dup.any() else 0
    latest = frame.drop_duplicates("user", keep="last").set_index("user")
    latest = latest.drop(columns=["ts", "rank"])
    return ConsentState(latest=latest, records_used=len(used), ties=ties), unused


def subject_ages(
    subjects: pd.DataFrame, spec: SubjectsSpec, *, now: dt.datetime, normalizer: Normalizer
) -> pd.Series:
    """Age in whole years at ``now`` per normalized subject id (missing when unknown)."""
    ids = normalizer(subjects[spec.id_column]).to_numpy()
    if spec.birthdate_column is not None:
        bd = subjects[spec.birthdate_column]
        before = (bd.dt.month > now.month) | ((bd.dt.month == now.month) & (bd.dt.day > now.day))
        age = (now.year - bd.dt.year - before.astype("Int64")).astype("Float64")
        if spec.age_column is not None:
            age = age.fillna(subjects[spec.age_column].astype("Float64"))
    else:
        assert spec.age_column is not None
        age = subjects[spec.age_column].astype("Float64")
    out = pd.Series(age.to_numpy(), index=pd.Index(ids, name="user"), dtype="Float64")
    # a subject listed twice: the youngest age counts (fail closed)
    return out.groupby(level=0, dropna=True).min()


def consent_exclusions(
    subject_ids: pd.Series,
    state: ConsentState,
    ages: pd.Series,
    params: GateParams,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row: the exclusion reason (missing when admitted), the sensitive-consent flag and
    the opt-out flag. Computed once per distinct user and mapped back."""
    codes, uniques = pd.factorize(subject_ids, use_na_sentinel=True)
    users = params.normalizer(pd.Series(uniques, dtype="string")).to_numpy()
    st = state.latest.reindex(users)
    age = ages.reindex(users).to_numpy(dtype="float64", na_value=np.nan)
    rule = params.rule
    reason = np.full(len(users), None, dtype=object)

    def mark(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason == None)] = why  # noqa: E711

    status = st["status"].to_numpy(dtype=object)
    has = st["status"].notna().to_numpy(dtype=bool)
    mark(~has, NO_CONSENT)
    mark(status != GRANTED, WITHDRAWN)
    mark(~st["notice_ok"].fillna(False).to_numpy(dtype=bool), NOTICE)
    guardian = st["guardian"].fillna(False).to_numpy(dtype=bool)
    admitted_by_guardian = guardian & rule.minors.guardian_consent_admits
    unknown = np.isnan(age)
    with np.errstate(invalid="ignore"):
        minor = ~unknown & (age < rule.minors.minimum_age)
    mark(minor & ~admitted_by_guardian, MINOR)
    if rule.minors.unknown_age is UnknownAge.EXCLUDE:
        mark(unknown & ~admitted_by_guardian, AGE_UNKNOWN)
    opt_out = st["opt_out"].fillna(False).to_numpy(dtype=bool)
    if rule.opt_out is OptOutEffect.EXCLUDE_FROM_PROFILING:
        mark(opt_out, OPTED_OUT)
    sensitive = st["sensitive"].fillna(False).to_numpy(dtype=bool)
    labels = [None, *EXCLUSION_REASONS]
    rcode = np.array([labels.index(x) - 1 for x in reason], dtype=np.int64)
    rcode = np.append(rcode, EXCLUSION_REASONS.index(NO_CONSENT))  # missing id: no consent
    s = np.append(sensitive, False)[codes]
    o = np.append(opt_out, False)[codes]
    idx = subject_ids.index
    return (
        take_strings(list(EXCLUSION_REASONS), rcode[codes], idx),
        pd.Series(s, index=idx, dtype=bool),
        pd.Series(o, index=idx, dtype=bool),
    )


def count_reasons(reasons: pd.Series) -> Counter[str]:
    return Counter(reasons.dropna().tolist())
