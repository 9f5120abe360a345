"""Seeded campaign tables for the demo: coupon and push sends with an experiment arm, their
impressions and clicks, coupon redemptions with their orders, and a public cost table.

The true effect of each arm is a parameter of the generator (:data:`CAMPAIGNS`): a user sent
arm ``a`` of a campaign redeems its coupon within :data:`CONVERSION_WINDOW_DAYS` days with
probability ``p(a)``, independently of everything else; :class:`CampaignTruth` returns those
probabilities so tests and benchmarks can check that the A/B read-out recovers them.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Final

import numpy as np
import numpy.typing as npt
import pandas as pd

from privacy_profile.errors import PolicyError

if TYPE_CHECKING:
    from privacy_profile.policy.model import Policy

__all__ = [
    "CAMPAIGNS",
    "CAMPAIGN_COLUMNS",
    "CONVERSION_WINDOW_DAYS",
    "COST_FILE",
    "ArmTruth",
    "CampaignDesign",
    "CampaignTables",
    "CampaignTruth",
    "generate_campaign_tables",
    "write_campaign_inputs",
]

IntArray = npt.NDArray[np.int64]
StrArray = npt.NDArray[np.str_]
DAY: Final = 86_400
CONVERSION_WINDOW_DAYS: Final = 14
COST_FILE: Final = "campaign_costs.csv"

#: Columns per campaign table (a policy declares them like any other table).
CAMPAIGN_COLUMNS: Final[Mapping[str, tuple[str, ...]]] = MappingProxyType(
    {
        "campaign_sends": ("openid", "campaign_id", "channel", "arm", "sent_at"),
        "campaign_events": ("openid", "campaign_id", "event", "ts"),
        "redemptions": ("openid", "campaign_id", "order_id", "amount", "redeemed_at"),
    }
)


@dataclass(frozen=True)
class CampaignDesign:
    """One campaign: who is sent (``reach``), when (``days_ago``), its arms with their
    conversion probability, impression and click rates, and its public cost."""

    campaign_id: str
    channel: str
    days_ago: int
    reach: float
    arms: Mapping[str, float]  # arm -> P(redeem within the window)
    impression_rate: float
    click_rates: Mapping[str, float]  # arm -> P(click | impression)
    cost_yuan: float
    control: str = "control"
    stream: str = ""  # the name of its random stream (kept when an id is renamed)


CAMPAIGNS: Final = (
    CampaignDesign(
        campaign_id="coupon2611",
        channel="coupon",
        days_ago=40,
        reach=0.6,
        arms=MappingProxyType({"control": 0.06, "coupon5": 0.075, "coupon10": 0.09}),
        impression_rate=0.75,
        click_rates=MappingProxyType({"control": 0.08, "coupon5": 0.12, "coupon10": 0.15}),
        cost_yuan=18_000.0,
        stream="coupon_2611",
    ),
    CampaignDesign(
        campaign_id="push2611",
        channel="push",
        days_ago=25,
        reach=0.5,
        arms=MappingProxyType({"control": 0.04, "push_a": 0.048}),
        impression_rate=0.6,
        click_rates=MappingProxyType({"control": 0.05, "push_a": 0.07}),
        cost_yuan=4_000.0,
        stream="push_2611",
    ),
)


@dataclass(frozen=True)
class ArmTruth:
    """The generator's parameters for one arm, and what it drew."""

    conversion_probability: float
    users_sent: int
    users_converted: int


@dataclass(frozen=True)
class CampaignTruth:
    """The generator's truth: per campaign, per arm (over every generated user, before any
    consent filtering; the probabilities are what a read-out should recover)."""

    arms: Mapping[str, Mapping[str, ArmTruth]]
    controls: Mapping[str, str]

    def lift(self, campaign: str, arm: str) -> float:
        """True relative lift of ``arm`` over the campaign's control."""
        arms = self.arms[campaign]
        p0 = arms[self.controls[campaign]].conversion_probability
        return arms[arm].conversion_probability / p0 - 1.0


@dataclass(frozen=True)
class CampaignTables:
    tables: Mapping[str, pd.DataFrame]  # the three personal-data tables
    costs: pd.DataFrame  # public: campaign_id, channel, cost_yuan
    truth: CampaignTruth


def _rng(seed: int, stream: str) -> np.random.Generator:
    return np.random.default_rng(
        np.random.SeedSequence(entropy=seed, spawn_key=(zlib.crc32(stream.encode()),))
    )


def generate_campaign_tables(
    seed: int,
    openids: StrArray,
    *,
    now_s: int,
    iso: Callable[[IntArray], StrArray],
    amount_median: float = 150.0,
) -> CampaignTables:
    """Campaign tables for the users ``openids`` (one per user index), seeded.

    ``now_s``: the run's wall-clock seconds; ``iso``: formats seconds as the demo's
    timestamps. Every redemption falls inside the conversion window and before ``now``.
    """
    n = len(openids)
    sends: list[pd.DataFrame] = []
    events: list[pd.DataFrame] = []
    redemptions: list[pd.DataFrame] = []
    truth: dict[str, dict[str, ArmTruth]] = {}
    serial = 0
    for c in CAMPAIGNS:
        rng = _rng(seed, f"campaign.{c.stream or c.campaign_id}")
        users = np.flatnonzero(rng.random(n) < c.reach)
        arm_names = list(c.arms)
        arm = rng.integers(0, len(arm_names), size=len(users))
        sent = now_s - c.days_ago * DAY + rng.integers(0, DAY, size=len(users))
        p = np.array([c.arms[a] for a in arm_names])[arm]
        converted = rng.random(len(users)) < p
        truth[c.campaign_id] = {
            a: ArmTruth(
                conversion_probability=c.arms[a],
                users_sent=int((arm == i).sum()),
                users_converted=int((converted & (arm == i)).sum()),
            )
            for i, a in enumerate(arm_names)
        }
        sends.append(
            pd.DataFrame(
                {
                    "openid": openids[users],
                    "campaign_id": c.campaign_id,
                    "channel": c.channel,
                    "arm": np.asarray(arm_names)[arm],
                    "sent_at": iso(sent),
                }
            )
        )
        # impressions and clicks (a click always follows an impression)
        seen = rng.random(len(users)) < c.impression_rate
        click_p = np.array([c.click_rates[a] for a in arm_names])[arm]
        clicked = seen & (rng.random(len(users)) < click_p)
        t_seen = sent + rng.integers(60, 6 * 3600, size=len(users))
        t_click = t_seen + rng.integers(5, 600, size=len(users))
        events.append(
            pd.DataFrame(
                {
                    "openid": np.concatenate([openids[users[seen]], openids[users[clicked]]]),
                    "campaign_id": c.campaign_id,
                    "event": ["impression"] * int(seen.sum()) + ["click"] * int(clicked.sum()),
                    "ts": np.concatenate([iso(t_seen[seen]), iso(t_click[clicked])]),
                }
            )
        )
        # redemptions: one order per converter, a second one for about 10% of them
        conv = np.flatnonzero(converted)
        times = 1 + (rng.random(len(conv)) < 0.1).astype(np.int64)
        who = np.repeat(conv, times)
        lag = np.minimum(
            rng.exponential(3 * DAY, size=len(who)).astype(np.int64),
            CONVERSION_WINDOW_DAYS * DAY - 3600,
        )
        at = np.minimum(sent[who] + 600 + lag, now_s - 60)
        amount = np.round(amount_median * np.exp(rng.normal(0.0, 0.7, size=len(who))), 2)
        ids = np.arange(serial, serial + len(who), dtype=np.int64)
        serial += len(who)
        day = np.datetime_as_string((at // DAY).astype("datetime64[D]")).astype("<U10")
        redemptions.append(
            pd.DataFrame(
                {
                    "openid": openids[users[who]],
                    "campaign_id": c.campaign_id,
                    "order_id": [
                        f"WX{d.replace('-', '')}{(7_000_000_000 + i * 7919) % 10**10:010d}"
                        for d, i in zip(day.tolist(), ids.tolist(), strict=True)
                    ],
                    "amount": [f"{a:.2f}" for a in amount.tolist()],
                    "redeemed_at": iso(at),
                }
            )
        )
    costs = pd.DataFrame(
        {
            "campaign_id": [c.campaign_id for c in CAMPAIGNS],
            "channel": [c.channel for c in CAMPAIGNS],
            "cost_yuan": [c.cost_yuan for c in CAMPAIGNS],
        }
    )
    return CampaignTables(
        tables=MappingProxyType(
            {
                "campaign_sends": pd.concat(sends, ignore_index=True),
                "campaign_events": pd.concat(events, ignore_index=True),
                "redemptions": pd.concat(redemptions, ignore_index=True),
            }
        ),
        costs=costs,
        truth=CampaignTruth(
            arms=MappingProxyType({k: MappingProxyType(v) for k, v in truth.items()}),
            controls=MappingProxyType({c.campaign_id: c.control for c in CAMPAIGNS}),
        ),
    )


def write_campaign_inputs(
    seed: int,
    openids: StrArray,
    policy: Policy | None,
    input_dir: Path,
    fmt: str,
    *,
    now_s: int,
    iso: Callable[[IntArray], StrArray],
) -> tuple[CampaignTruth | None, dict[str, Path], dict[str, int]]:
    """Write the campaign tables the policy declares (all of them when ``policy`` is None),
    with its columns in its order, plus the public cost table. Returns the truth (None when
    the policy declares no campaign table: nothing is written), the path and the row count of
    each table written (the cost table is public and not among them)."""
    wanted = [t for t in CAMPAIGN_COLUMNS if policy is None or t in policy.tables]
    paths: dict[str, Path] = {}
    rows: dict[str, int] = {}
    if not wanted:
        return None, paths, rows
    generated = generate_campaign_tables(seed, openids, now_s=now_s, iso=iso)
    ext = {"csv": "csv", "parquet": "parquet", "jsonl": "jsonl"}[fmt]
    for name in wanted:
        frame = generated.tables[name]
        file = name
        if policy is not None:
            table = policy.tables[name]
            unknown = [c for c in table.columns if c not in CAMPAIGN_COLUMNS[name]]
            if unknown:
                raise PolicyError(
                    f"policy {policy.name!r} declares column(s) {', '.join(unknown)} in table "
                    f"{name!r}, which the demo generator does not produce",
                    hint=f"the generator produces: {', '.join(CAMPAIGN_COLUMNS[name])}",
                )
            frame = frame[list(table.columns)]
            if table.format.value == fmt:
                file = Path(table.file_name(name)).stem
        path = input_dir / f"{file}.{ext}"
        if fmt == "csv":
            frame.to_csv(path, index=False)
        elif fmt == "jsonl":
            frame.to_json(path, orient="records", lines=True, force_ascii=False)
        else:
            frame.to_parquet(path, index=False)
        paths[name], rows[name] = path, len(frame)
    cost_file = COST_FILE
    if policy is not None and policy.analytics is not None and policy.analytics.kpi is not None:
        cost_file = policy.analytics.kpi.cost_table.file
    generated.costs.to_csv(input_dir / cost_file, index=False)
    return generated.truth, paths, rows
