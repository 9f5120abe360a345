"""How the demo generator reads the policy (table and column names, file format) and the small
column helpers it shares: seeded streams, the reference clock, dates, text arrays."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Final, cast

import numpy as np
import pandas as pd

from privacy_profile.demo import _text as tx
from privacy_profile.demo.vocabulary import (
    _MESSY_SHARE,
    _OLD_NOTICE_VERSION,
    GENERATED_COLUMNS,
    BoolArray,
    Format,
    IntArray,
    MessyKind,
    StrArray,
)
from privacy_profile.errors import InputError, PolicyError
from privacy_profile.policy.model import Policy

# --------------------------------------------------------------------------- policy view


@dataclass(frozen=True)
class _Spec:
    columns: Mapping[str, tuple[str, ...]]
    files: Mapping[str, str]
    purposes: tuple[str, ...]
    accepted_versions: tuple[str, ...]
    amount_upper: float
    events_retention_days: int
    users_retention_days: int
    minimum_age: int


_DEFAULT_SPEC: Final = _Spec(
    columns=GENERATED_COLUMNS,
    files={t: t for t in GENERATED_COLUMNS},
    purposes=("marketing.advertising.profiling", "analytics.reporting.campaign_insights"),
    accepted_versions=("2025-06", "2026-03"),
    amount_upper=2000.0,
    events_retention_days=365,
    users_retention_days=1095,
    minimum_age=14,
)


def _spec(policy: Policy | None, fmt: Format) -> _Spec:
    if policy is None:
        return _DEFAULT_SPEC
    columns: dict[str, tuple[str, ...]] = {}
    files: dict[str, str] = {}
    for name, generated in GENERATED_COLUMNS.items():
        table = policy.tables.get(name)
        if table is None:
            raise PolicyError(
                f"the demo generator writes table {name!r}, which policy {policy.name!r} "
                "does not declare",
                hint="declare users, events, orders and consents as policies/wechat_shop.yaml does",
            )
        unknown = [c for c in table.columns if c not in generated]
        if unknown:
            raise PolicyError(
                f"policy {policy.name!r} declares column(s) {', '.join(unknown)} in table "
                f"{name!r}, which the demo generator does not produce",
                hint=f"the generator produces: {', '.join(generated)}",
            )
        columns[name] = tuple(table.columns)
        if table.format.value == fmt:
            files[name] = Path(table.file_name(name)).stem
        else:
            files[name] = name
    versions = sorted({v for p in policy.purposes for v in p.consent.accepted_notice_versions})
    bounds = policy.metric_bounds("orders", "amount")
    events_ret = policy.tables["events"].retention_days
    return _Spec(
        columns=MappingProxyType(columns),
        files=MappingProxyType(files),
        purposes=tuple(p.data_use for p in policy.purposes),
        accepted_versions=tuple(v for v in versions if v != _OLD_NOTICE_VERSION) or ("2025-06",),
        amount_upper=bounds.upper if bounds is not None else 2000.0,
        events_retention_days=events_ret,
        users_retention_days=policy.tables["users"].retention_days,
        minimum_age=min(p.consent.minors.minimum_age for p in policy.purposes),
    )


# --------------------------------------------------------------------------- helpers


def _rng(seed: int, stream: str) -> np.random.Generator:
    """An independent generator per named stream, so columns do not shift one another."""
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(stream.encode()),))
    )


@dataclass(frozen=True)
class _Clock:
    now_s: int  # wall-clock seconds since 1970-01-01 in now's time zone
    suffix: str  # "+08:00", or "" when now is naive
    tz: dt.tzinfo | None

    @classmethod
    def of(cls, now: dt.datetime) -> _Clock:
        if not isinstance(now, dt.datetime):
            raise InputError("`now` must be a datetime", hint="pass now=datetime(...)")
        suffix = ""
        offset = now.utcoffset()
        if offset is not None:
            minutes = int(offset.total_seconds()) // 60
            sign = "+" if minutes >= 0 else "-"
            suffix = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
        wall = now.replace(tzinfo=None, microsecond=0)
        now_s = int((wall - dt.datetime(1970, 1, 1)).total_seconds())
        return cls(now_s=now_s, suffix=suffix, tz=now.tzinfo)

    def iso(self, seconds: IntArray) -> StrArray:
        s = np.datetime_as_string(seconds.astype("datetime64[s]"), unit="s")
        return tx.concat(s, self.suffix) if self.suffix else s

    def today_ymd(self) -> int:
        return int(str(np.datetime64(self.now_s, "s").astype("datetime64[D]")).replace("-", ""))


def _ymd(days: IntArray) -> IntArray:
    """Days since 1970-01-01 to YYYYMMDD integers."""
    d = days.astype("datetime64[D]")
    y = d.astype("datetime64[Y]").astype(np.int64) + 1970
    m = d.astype("datetime64[M]").astype(np.int64) % 12 + 1
    day = (d - d.astype("datetime64[M]")).astype(np.int64) + 1
    return cast(IntArray, y * 10_000 + m * 100 + day)


def _pick_disjoint(
    rng: np.random.Generator, candidates: IntArray, kinds: tuple[MessyKind, ...]
) -> dict[MessyKind, IntArray]:
    """Disjoint row sets, one per kind, together about 0.2% of the rows (at least one each)."""
    if not kinds or len(candidates) == 0:
        return {k: np.empty(0, dtype=np.int64) for k in kinds}
    each = max(1, round(len(candidates) * _MESSY_SHARE / len(kinds)))
    each = min(each, len(candidates) // len(kinds))
    chosen = rng.choice(candidates, size=each * len(kinds), replace=False)
    return {k: np.sort(chosen[i * each : (i + 1) * each]) for i, k in enumerate(kinds)}


def _blank_to_na(values: StrArray) -> pd.Series:
    return pd.Series(values, dtype="str").where(values != "")


def _bool_text(values: BoolArray) -> StrArray:
    return np.where(values, "true", "false")


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"`{name}` must be a positive integer, got {value!r}")


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"`seed` must be a non-negative integer, got {seed!r}")
