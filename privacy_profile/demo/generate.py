"""An offline, seeded generator of a realistic WeChat mini-program shop data set.

:func:`generate_demo_data` writes one file per table the policy declares (``users``, ``events``,
``orders``, ``consents``) under ``out_dir/input/``, with the policy's column names, so that every
stage of privacy_profile can run end to end on data shaped like a mini-program's: WeChat openids
and unionids, mainland mobile numbers in the spellings users type, resident IDs, Chinese names,
cities weighted toward tier-1 and tier-2, a Taobao-like funnel (view ~89.8%, cart ~5.3%,
fav ~2.8%, buy ~2.1%), heavy-tailed order amounts, free text with a little planted PII, and
consent records covering every path of the consent gate. A few deliberately messy rows (~0.2%)
exercise the quarantine path.

Everything is synthetic and deterministic for a seed (the seed is a test hook: this is demo data,
not key material). Identifiers are built from public reference data, never copied from real
people: resident IDs from a real area code, a birth date and the GB 11643 check character; bank
cards from a real BIN and length plus the Luhn digit; phones from real mobile prefixes.

Tables are built with numpy on whole columns; no Python loop runs per row.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from types import MappingProxyType

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv

from privacy_profile.demo._columns import (
    _check_counts,
    _check_seed,
    _Clock,
    _rng,
    _spec,
)
from privacy_profile.demo._orders import (
    _consents_table,
    _orders_table,
)
from privacy_profile.demo._people import (
    _events_core,
    _events_frame,
    _users_core,
    _users_table,
    generate_events_frame,
)
from privacy_profile.demo.vocabulary import (
    CATEGORIES,
    DEFAULT_NOW,
    EVENT_TYPES,
    GENERATED_COLUMNS,
    ConsentScenario,
    DemoDataset,
    Format,
    MessyKind,
    PlantedIdentifiers,
)
from privacy_profile.errors import InputError
from privacy_profile.policy.model import Policy

__all__ = [
    "CATEGORIES",
    "DEFAULT_NOW",
    "EVENT_TYPES",
    "GENERATED_COLUMNS",
    "ConsentScenario",
    "DemoDataset",
    "MessyKind",
    "PlantedIdentifiers",
    "generate_demo_data",
    "generate_events_frame",
]

# --------------------------------------------------------------------------- writing


def _write(frame: pd.DataFrame, path: Path, fmt: Format) -> None:
    if fmt == "csv":
        _write_csv(frame, path)
    elif fmt == "jsonl":
        frame.to_json(path, orient="records", lines=True, force_ascii=False)
    else:
        frame.to_parquet(path, index=False)


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    """CSV through Arrow (several times faster than pandas; byte-identical for our values).

    No value we generate needs quoting; should one ever (a comma or a quote from a policy),
    Arrow refuses to write it unquoted and pandas writes the file instead.
    """
    table = pa.Table.from_pandas(frame, preserve_index=False)
    table = pa.table(
        {
            name: col.cast(pa.string()) if pa.types.is_dictionary(col.type) else col
            for name, col in zip(table.column_names, table.columns, strict=True)
        }
    )
    try:
        with path.open("wb") as fh:
            fh.write((",".join(table.column_names) + "\n").encode("utf-8"))
            pa_csv.write_csv(
                table, fh, pa_csv.WriteOptions(include_header=False, quoting_style="none")
            )
    except pa.ArrowInvalid:
        frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n")


def generate_demo_data(
    out_dir: Path,
    *,
    n_users: int = 5000,
    seed: int = 7,
    now: dt.datetime,
    policy: Policy | None = None,
    events_per_user: float = 40.0,
    fmt: Format = "csv",
) -> DemoDataset:
    """Write a synthetic mini-program data set under ``out_dir/input/`` and describe it.

    One file per table (``users``, ``events``, ``orders``, ``consents``) with the columns the
    policy declares, in its order (``policy=None``: the columns of policies/wechat_shop.yaml).
    The policy also sets the consent purposes, the accepted notice versions (an old ``2024-01``
    version is planted too), the amount bound some orders exceed, the retention some events
    fall outside and the minimum age. Timestamps are ISO 8601 in ``now``'s time zone (with its
    offset when ``now`` is aware), booleans ``true``/``false``, blanks empty.

    Deterministic for a seed; every value is synthetic. The returned :class:`DemoDataset` holds
    the raw identifier values written (for leak tests) in memory only.
    """
    _check_counts(n_users=n_users)
    _check_seed(seed)
    if not events_per_user > 0:
        raise InputError(f"`events_per_user` must be positive, got {events_per_user!r}")
    if fmt not in ("csv", "parquet", "jsonl"):
        raise InputError(f"`fmt` must be csv, parquet or jsonl, got {fmt!r}")
    clock = _Clock.of(now)
    spec = _spec(policy, fmt)
    input_dir = Path(out_dir) / "input"
    input_dir.mkdir(parents=True, exist_ok=True)

    u = _users_core(seed, n_users, clock, spec)
    users, users_messy, col_planted = _users_table(seed, u, clock)

    rng = _rng(seed, "events.users")
    per_user = rng.poisson(u.activity * events_per_user)
    e = _events_core(seed, u, np.repeat(np.arange(n_users, dtype=np.int64), per_user), clock, spec)
    events, events_messy = _events_frame(seed, u, e, clock, messy=True)
    broken = np.zeros(len(e.user), dtype=bool)
    for messy_rows in events_messy.values():
        broken[messy_rows] = True
    clean_buy = np.flatnonzero((e.etype == EVENT_TYPES.index("buy")) & ~broken)
    orders, orders_messy, order_planted, order_pii_rows, addresses = _orders_table(
        seed, u, e, clean_buy, clock, spec
    )
    consents, scenarios = _consents_table(seed, u, clock, spec)

    tables: dict[str, pd.DataFrame] = {
        "users": pd.DataFrame(users),
        "events": events,
        "orders": pd.DataFrame(orders),
        "consents": pd.DataFrame(consents),
    }
    paths: dict[str, Path] = {}
    rows: dict[str, int] = {}
    undeclared: dict[str, tuple[str, ...]] = {}
    ext = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl"}[fmt]
    for name, frame in tables.items():
        extra = tuple(c for c in frame.columns if c not in GENERATED_COLUMNS[name])
        frame = frame[[*spec.columns[name], *extra]]
        path = input_dir / f"{spec.files[name]}.{ext}"
        _write(frame, path, fmt)
        paths[name] = path
        rows[name] = len(frame)
        if extra:
            undeclared[name] = extra

    free_text: dict[str, set[str]] = {}
    for source in (e.planted, order_planted):
        for kind, values in source.items():
            free_text.setdefault(kind, set()).update(values)
    col_planted["orders.delivery_address"] = addresses
    planted = PlantedIdentifiers(
        columns=MappingProxyType(dict(sorted(col_planted.items()))),
        free_text=MappingProxyType({k: frozenset(v) for k, v in sorted(free_text.items())}),
        free_text_rows=MappingProxyType(
            {"events.search_keyword": e.planted_rows, "orders.comment": order_pii_rows}
        ),
    )
    messy = {
        "users": users_messy,
        "events": events_messy,
        "orders": orders_messy,
    }
    return DemoDataset(
        input_dir=input_dir,
        fmt=fmt,
        paths=MappingProxyType(paths),
        rows=MappingProxyType(rows),
        messy=MappingProxyType(
            {
                t: MappingProxyType({k: len(v) for k, v in kinds.items()})
                for t, kinds in messy.items()
            }
        ),
        undeclared_columns=MappingProxyType(undeclared),
        consent_scenarios=MappingProxyType(scenarios),
        planted=planted,
    )
