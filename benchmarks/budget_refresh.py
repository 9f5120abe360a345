"""30 daily refreshes under one budget: zCDP (discrete Gaussian) vs pure epsilon (discrete
Laplace, basic composition), same total (epsilon, delta).

Release: the distinct-user count per group (demo: users per province; UCI Online Retail:
customers per country, a customer's first country), each user in one group (sensitivity 1),
refreshed 30 times inside one window. A release gets a share of each refresh's budget (100%:
the refresh is this one count; 22%: the example policy's RFM share, epsilon 1 of 4.5). Error:
absolute error of the released counts over all groups and refreshes (real samplers, seeded).

    .venv/bin/python benchmarks/budget_refresh.py [--uci PATH] [--epsilon 10] [--delta 1e-5]
"""

from __future__ import annotations

import argparse
import datetime as dt
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from privacy_profile.demo.generate import generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.dp.mechanisms import noise_sd
from privacy_profile.dp.model import Mechanism
from privacy_profile.dp.zcdp import discrete_gaussian, gaussian_sigma, zcdp_epsilon, zcdp_rho

REFRESHES = 30
SHARES = (1.0, 1.0 / 4.5)


def demo_counts() -> pd.Series:
    with tempfile.TemporaryDirectory() as tmp:
        generate_demo_data(Path(tmp), now=dt.datetime(2026, 11, 1, tzinfo=dt.UTC))
        users = pd.read_csv(Path(tmp) / "input" / "users.csv", dtype=str)
    return (
        users.groupby("city", dropna=False).size()
        if "province" not in users
        else (users.groupby("province", dropna=False).size())
    )


def uci_counts(path: Path) -> pd.Series:
    df = pd.read_csv(path, usecols=["CustomerID", "Country"], dtype=str).dropna()
    first = df.drop_duplicates("CustomerID")
    return first.groupby("Country").size()


def run(name: str, counts: pd.Series, eps: float, delta: float) -> None:
    true = counts.to_numpy(dtype=np.int64)
    rho_window = zcdp_rho(eps, delta)
    print(
        f"\n### {name}: {len(true)} groups, {true.sum()} users; budget epsilon {eps:g}, "
        f"delta {delta:g}; {REFRESHES} refreshes\n"
    )
    print(
        f"zCDP: window rho {rho_window:.4g} (converts back to epsilon "
        f"{zcdp_epsilon(rho_window, delta):.4g} at delta {delta:g})\n"
    )
    print(
        "| share of a refresh | accounting | per-refresh spend | noise sd | mean abs. error "
        "| median rel. error | time |"
    )
    print("|---|---|---|---|---|---|---|")
    for share in SHARES:
        e = eps / REFRESHES * share
        rho = rho_window / REFRESHES * share
        for label in ("pure epsilon", "zCDP"):
            rng = DPRandom.for_testing(2026)
            t0 = time.perf_counter()
            n = REFRESHES * len(true)
            if label == "pure epsilon":
                noise = rng.discrete_laplace(1.0 / e, n)
                sd, spend = noise_sd(Mechanism.DISCRETE_LAPLACE, 1.0 / e), f"epsilon {e:.4g}"
            else:
                sigma = gaussian_sigma(rho, 1.0)
                noise = discrete_gaussian(sigma, n, rng)
                sd, spend = sigma, f"rho {rho:.4g}"
            took = time.perf_counter() - t0
            released = np.tile(true, REFRESHES) + noise
            abs_err = np.abs(released - np.tile(true, REFRESHES))
            rel = abs_err / np.maximum(np.tile(true, REFRESHES), 1)
            print(
                f"| {share:.0%} | {label} | {spend} | {sd:.2f} | {abs_err.mean():.2f} "
                f"| {np.median(rel):.1%} | {took:.2f} s |"
            )


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--uci", type=Path, default=None)
    ap.add_argument("--epsilon", type=float, default=10.0)
    ap.add_argument("--delta", type=float, default=1e-5)
    args = ap.parse_args()
    run("demo data (users per province)", demo_counts(), args.epsilon, args.delta)
    if args.uci is not None:
        run(
            "UCI Online Retail (customers per country)",
            uci_counts(args.uci),
            args.epsilon,
            args.delta,
        )


if __name__ == "__main__":
    main()
