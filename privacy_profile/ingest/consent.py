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
import pyarrow as pa
import pyarrow.compute as pc

from privacy_profile.errors import ConsentError
from privacy_profile.ingest.codes import Factorized, arrow_strings, factorize
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
    "PreparedGate",
    "build_consent_state",
    "consent_exclusions",
    "gate_factorized",
    "prepare_gate",
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
    rank = (status == WITHDRAWN_STATUS).to_numpy(dtype=bool).astype(np.int8)
    user = normalizer(used[spec.user_column])
    ucodes, _ = pd.factorize(user, use_na_sentinel=False)  # a missing user is a group too
    ts = used[spec.timestamp_column]
    tkey = _order_key(ts)
    # sort by (user, time, withdrawal last); missing times sort last, as pandas sorts them
    order = np.lexsort((rank, tkey, ucodes))
    u, t, r = ucodes[order], tkey[order], rank[order]
    last = np.ones(len(order), dtype=bool)
    last[:-1] = u[1:] != u[:-1]
    # a (user, time) group holding both statuses is a tie (missing user or time: not counted)
    known = (user.notna() & ts.notna()).to_numpy(dtype=bool)[order]
    tie = (u[1:] == u[:-1]) & (t[1:] == t[:-1]) & (r[1:] != r[:-1]) & known[1:]
    pick = order[last]
    sub = used.iloc[pick]
    frame = pd.DataFrame(
        {
            "user": user.to_numpy()[pick],
            "status": status.to_numpy()[pick],
            "notice_ok": sub[spec.notice_version_column]
            .str.strip()
            .isin(rule.accepted_notice_versions)
            .fillna(False)
            .to_numpy(dtype=bool),
            "guardian": _flag(sub, spec.guardian_consent_column).to_numpy(),
            "sensitive": _flag(sub, spec.sensitive_consent_column).to_numpy(),
            "opt_out": _flag(sub, spec.opt_out_column).to_numpy(),
        }
    )
    latest = frame.set_index("user")
    return ConsentState(latest=latest, records_used=len(used), ties=int(tie.sum())), unused


def _order_key(values: pd.Series) -> np.ndarray:
    """int64 keys ordered like ``values``, equal where the values are equal; missing last."""
    key: np.ndarray
    if values.dtype.kind == "M" and not isinstance(values.dtype, pd.DatetimeTZDtype):
        key = values.to_numpy().view(np.int64).copy()
    else:
        key = np.asarray(pd.factorize(values, sort=True, use_na_sentinel=True)[0], np.int64)
    key[values.isna().to_numpy(dtype=bool)] = np.iinfo(np.int64).max
    return key


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
        if spec.age_column is None:
            raise ConsentError(
                "the subjects table declares neither a birthdate nor an age column: ages are "
                "needed for the minors rule",
                hint="set subjects.birthdate_column or subjects.age_column in the policy",
            )
        age = subjects[spec.age_column].astype("Float64")
    out = pd.Series(age.to_numpy(), index=pd.Index(ids, name="user"), dtype="Float64")
    # a subject listed twice: the youngest age counts (fail closed)
    return out.groupby(level=0, dropna=True).min()


@dataclass(frozen=True)
class PreparedGate:
    """The gate's decision per consent-state user, computed once per run.

    ``users``: the state's users (Arrow strings); ``reason``: per user a code into
    :data:`EXCLUSION_REASONS` (-1: admitted); ``sensitive``, ``opt_out``: flags. Each array has
    one extra last entry for a user without a consent record (no consent, no flags).
    """

    users: pa.Array
    reason: np.ndarray
    sensitive: np.ndarray
    opt_out: np.ndarray
    normalizer: Normalizer


def prepare_gate(state: ConsentState, ages: pd.Series, params: GateParams) -> PreparedGate:
    """Decide once per consent-state user (ages: per normalized subject id, see
    :func:`subject_ages`); :func:`gate_factorized` then only looks users up."""
    st = state.latest
    users = arrow_strings(st.index)
    if len(ages):
        where = pc.index_in(users, value_set=arrow_strings(ages.index), skip_nulls=True)
        pos = where.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
        agev = np.append(ages.to_numpy(dtype="float64", na_value=np.nan), np.nan)
        age = agev[pos]
    else:
        age = np.full(len(st), np.nan)
    rule = params.rule
    reason = np.full(len(st), -1, dtype=np.int64)

    def mark(mask: np.ndarray, why: str) -> None:
        reason[mask & (reason < 0)] = EXCLUSION_REASONS.index(why)

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
    return PreparedGate(
        users=users,
        reason=np.append(reason, EXCLUSION_REASONS.index(NO_CONSENT)),
        sensitive=np.append(sensitive, False),
        opt_out=np.append(opt_out, False),
        normalizer=params.normalizer,
    )


def gate_factorized(
    subjects: Factorized, gate: PreparedGate
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """:func:`consent_exclusions` over an already factorized subject column."""
    norm = arrow_strings(gate.normalizer(subjects.uniques))
    where = pc.index_in(norm, value_set=gate.users, skip_nulls=True)
    pos = where.fill_null(-1).to_numpy(zero_copy_only=False).astype(np.int64)
    # per distinct subject: its state row; missing id or no record -> the extra last entry
    row = np.append(pos, -1)[subjects.codes]
    idx = subjects.index
    return (
        take_strings(list(EXCLUSION_REASONS), gate.reason[row], idx),
        pd.Series(gate.sensitive[row], index=idx, dtype=bool),
        pd.Series(gate.opt_out[row], index=idx, dtype=bool),
    )


def consent_exclusions(
    subject_ids: pd.Series,
    state: ConsentState,
    ages: pd.Series,
    params: GateParams,
) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Per row: the exclusion reason (missing when admitted), the sensitive-consent flag and
    the opt-out flag. Decided once per consent-state user and per distinct subject id, and
    mapped back by integer codes."""
    return gate_factorized(factorize(subject_ids), prepare_gate(state, ages, params))


def count_reasons(reasons: pd.Series) -> Counter[str]:
    return Counter(reasons.dropna().tolist())
