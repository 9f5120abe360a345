"""Generalization of quasi-identifiers as the policy says.

* ``age_band``: a birthdate (age at the run time) or an age to a band label (``18-24``, ``65+``)
* ``date_truncate``: dates/timestamps to the start of their year, month, day or hour
* ``city_to_province``: a city/district name or division code to its province name (China's
  division codes, NBS 2023, WTFPL, shipped in ``privacy_profile/refdata``); unknown values
  become missing
* ``round``: to a multiple of ``step``; ``top_bottom_code``: clamp to ``lower``/``upper``
"""

from __future__ import annotations

import datetime as dt
import functools
import re
from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from privacy_profile.policy.model import (
    AgeBand,
    CityToProvince,
    DateTruncate,
    DateUnit,
    NumericRound,
    TopBottomCode,
)
from privacy_profile.refdata import read_rows

__all__ = [
    "Generalization",
    "GeneralizeParams",
    "age_band_labels",
    "ages_at",
    "generalize_column",
    "province_lookup",
]

Generalization = AgeBand | DateTruncate | CityToProvince | NumericRound | TopBottomCode

_GENERIC_CITY_NAMES = frozenset({"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"})
_SUFFIXES = (
    "维吾尔自治区",
    "壮族自治区",
    "回族自治区",
    "特别行政区",
    "自治区",
    "自治州",
    "地区",
    "省",
    "市",
    "盟",
    "区",
    "县",
)


@dataclass(frozen=True)
class GeneralizeParams:
    now: dt.datetime


def _short(name: str) -> str:
    for suf in _SUFFIXES:
        if name.endswith(suf) and len(name) > len(suf) + 1:
            return name[: -len(suf)]
    return name


def _rows(name: str) -> tuple[dict[str, str], ...]:
    return read_rows(f"cn_admin_{name}")


@functools.cache
def province_lookup() -> tuple[dict[str, str], dict[str, str]]:
    """(province code -> name, unambiguous place name -> province name)."""
    provinces = {r["code"]: r["name"] for r in _rows("provinces.csv")}
    names: dict[str, str | None] = {}

    def add(name: str, prov: str, *, strong: bool = False) -> None:
        for key in {name, _short(name)}:
            if strong:
                names[key] = prov
            elif key in names and names[key] != prov:
                names[key] = None  # ambiguous: same name in two provinces
            else:
                names.setdefault(key, prov)

    for r in _rows("areas.csv"):
        add(r["name"], provinces[r["provinceCode"]])
    for r in _rows("cities.csv"):
        if r["name"] not in _GENERIC_CITY_NAMES:
            add(r["name"], provinces[r["provinceCode"]], strong=True)
    for name in provinces.values():
        add(name, name, strong=True)
    return provinces, {k: v for k, v in names.items() if v is not None}


_CODE = re.compile(r"^\d{2}(?:\d{2}){0,2}(?:\d{3}){0,2}$")


def _to_province(value: str) -> str | None:
    provinces, names = province_lookup()
    v = value.strip()
    if _CODE.match(v):
        return provinces.get(v[:2])
    if v in names:
        return names[v]
    return names.get(_short(v)) if _short(v) == v else None


def ages_at(values: pd.Series, now: dt.datetime) -> pd.Series:
    """Whole years at ``now`` for dates; numbers are taken as ages."""
    if pd.api.types.is_datetime64_any_dtype(values):
        before = (values.dt.month > now.month) | (
            (values.dt.month == now.month) & (values.dt.day > now.day)
        )
        return (now.year - values.dt.year - before.astype("Int64")).astype("Float64")
    return pd.to_numeric(values, errors="coerce").astype("Float64")


def age_band_labels(bands: list[int]) -> list[str]:
    labels = [f"{lo}-{hi - 1}" for lo, hi in pairwise(bands)]
    return [*labels, f"{bands[-1]}+"]


def generalize_column(
    values: pd.Series, treatment: Generalization, params: GeneralizeParams
) -> tuple[pd.Series, int]:
    """Generalize one column; returns the new series and how many present values could not be
    generalized (they become missing)."""
    present = values.notna()
    if isinstance(treatment, AgeBand):
        age = ages_at(values, params.now).to_numpy(dtype="float64", na_value=np.nan)
        edges = np.asarray(treatment.bands, dtype="float64")
        idx = np.searchsorted(edges, age, side="right") - 1
        labels = np.array([*age_band_labels(treatment.bands), None], dtype=object)
        idx = np.where(np.isnan(age) | (idx < 0), len(labels) - 1, idx)
        out = pd.Series(labels[idx], index=values.index, dtype="string")
    elif isinstance(treatment, DateTruncate):
        ts = pd.to_datetime(values, errors="coerce")
        if treatment.unit is DateUnit.DAY:
            out = ts.dt.floor("D")
        elif treatment.unit is DateUnit.HOUR:
            out = ts.dt.floor("h")
        else:
            freq = "Y" if treatment.unit is DateUnit.YEAR else "M"
            out = ts.dt.to_period(freq).dt.start_time.astype(ts.dtype)
    elif isinstance(treatment, CityToProvince):
        codes, uniques = pd.factorize(values.astype("string"), use_na_sentinel=True)
        mapped = np.array([*(_to_province(str(u)) for u in uniques), None], dtype=object)
        out = pd.Series(mapped[codes], index=values.index, dtype="string")
    elif isinstance(treatment, NumericRound):
        num = pd.to_numeric(values, errors="coerce").astype("Float64")
        out = (num / treatment.step).round() * treatment.step
    else:
        num = pd.to_numeric(values, errors="coerce").astype("Float64")
        out = num.clip(lower=treatment.lower, upper=treatment.upper)
    unmapped = int((present & out.isna()).sum())
    return out, unmapped
