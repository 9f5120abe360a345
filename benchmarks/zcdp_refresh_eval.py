"""30 daily refreshes through the real release path, zCDP vs pure epsilon, same total budget.

The demo data is sanitized once; then 30 refreshes each reserve their loss on one budget
ledger (dp.policy_ledger.run_reservation), run the segment stage (``build_segments``: RFM,
lifecycle, the rule segment) and the funnel (``run_analytics``), exactly as ``run`` does, and
release. The policy is the example policy restricted to its count-based families (RFM,
lifecycle, rule segments, funnel), with its epsilon ratios 1 : 0.5 : 0.5 : 0.1 kept:

* pure: each refresh spends epsilon_budget / 30, split in those ratios (discrete Laplace);
* zCDP: the window's rho is the largest whose conversion fits (epsilon_budget, delta_budget)
  (``zcdp_rho``), each refresh gets rho / 30, split in the same ratios, and each family
  declares epsilon = sqrt(2 rho_family) (``accounting: zcdp`` charges epsilon^2 / 2).

Error: released value minus the truth, for every released group of every refresh (aggregation
threshold 1 in all three policies, so nearly every group is released under both): lifecycle
stage sizes, the rule segment's size and the funnel's step counts against a run without noise
worth mentioning (pure epsilon 1e5 per release); RFM class sizes against the class sizes the
released split points give on the same features. Prints a markdown table.

    PYTHONPATH=. .venv/bin/python benchmarks/zcdp_refresh_eval.py [--users 4000]
"""

from __future__ import annotations

import argparse
import copy
import datetime as dt
import math
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml

from privacy_profile import scanner_for
from privacy_profile._clock import utc_naive
from privacy_profile.analytics.from_policy import run_analytics
from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.dp.policy_ledger import run_reservation
from privacy_profile.dp.zcdp import zcdp_rho
from privacy_profile.errors import BudgetExceededError
from privacy_profile.ingest import KeyRing, sanitize
from privacy_profile.policy import load_policy_file
from privacy_profile.policy.model import Policy
from privacy_profile.segments.build import FLAGS_TABLE, OPT_OUT_COLUMN, build_segments
from privacy_profile.segments.columns import feature_columns, unit_column, with_unit_column
from privacy_profile.segments.features import FeatureParams, compute_features
from privacy_profile.segments.rfm import assign_rfm, rfm_population

ROOT = Path(__file__).resolve().parents[1]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
REFRESHES = 30
RATIOS = {"rfm": 1.0, "lifecycle": 0.5, "rule": 0.5, "funnel": 0.1}


def _policy_text(base: dict[str, Any], eps: dict[str, float], zcdp: bool, budget: float) -> str:
    doc = copy.deepcopy(base)
    seg = doc["segmentation"]
    for fam in ("kmeans", "tree", "personas"):
        seg.pop(fam, None)
    seg["rfm"]["epsilon"] = eps["rfm"]
    seg["lifecycle"]["epsilon"] = eps["lifecycle"]
    seg["rules_epsilon"] = eps["rule"]
    doc["analytics"] = {"funnel": {**doc["analytics"]["funnel"], "epsilon": eps["funnel"]}}
    pv = doc["privacy"]
    pv["epsilon_budget"] = budget
    # threshold 1: (nearly) every group is released under both accountings, so the error is
    # measured on the same groups (the example policy's 50 would suppress more groups under
    # the noisier accounting and hide its largest errors)
    pv["aggregation_threshold"]["threshold"] = 1
    pv["max_epsilon_per_query"] = max(max(eps.values()), pv["max_epsilon_per_query"])
    if zcdp:
        pv["accounting"] = dict.fromkeys(RATIOS, "zcdp")
    return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False)


def _load(tmp: Path, name: str, text: str) -> Policy:
    path = tmp / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return load_policy_file(path).policy


def _segment_tables(policy: Policy, tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    consent = policy.consent_table()
    out = with_unit_column(policy, {k: v for k, v in tables.items() if k != consent})
    unit = unit_column(policy)
    flags = pd.DataFrame({unit: out[policy.subjects.table][unit].astype("string")})
    flags[OPT_OUT_COLUMN] = False
    out[FLAGS_TABLE] = flags
    return out


def _refresh(
    policy: Policy,
    seg_tables: dict[str, pd.DataFrame],
    san_tables: dict[str, pd.DataFrame],
    ledger: BudgetLedger,
    run_id: str,
    rng: DPRandom,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    spec = policy.segmentation
    assert spec is not None
    with ledger.reserve(run_id, run_reservation(ledger, policy, spec)) as res:
        seg = build_segments(
            seg_tables,
            policy,
            spec,
            unit_column=unit_column(policy),
            ledger=ledger,
            run_id=run_id,
            now=utc_naive(NOW),
            rng=rng,
            purpose=PURPOSE,
        )
        ana = run_analytics(
            san_tables, policy, ledger=ledger, run_id=run_id, now=utc_naive(NOW), rng=rng,
            cost_dir=None,
            only=["funnel"],
        )  # fmt: skip
        res.mark_released()
    funnel = ana.funnel.table if ana.funnel is not None else pd.DataFrame()
    return seg.segments, funnel


def _values(segments: pd.DataFrame, funnel: pd.DataFrame) -> dict[tuple[str, str], float]:
    out: dict[tuple[str, str], float] = {}
    ok = segments.loc[~segments["suppressed"].astype(bool)]
    for fam, key, size in ok[["family", "segment", "dp_size"]].itertuples(index=False):
        out[(str(fam), str(key))] = float(size)
    for step, users in funnel[["step", "users"]].dropna().itertuples(index=False):
        out[("funnel", str(step))] = float(users)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=4000)
    ap.add_argument("--epsilon", type=float, default=10.0)
    ap.add_argument("--delta", type=float, default=1e-5)
    args = ap.parse_args()
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        base = yaml.safe_load(POLICY.read_text(encoding="utf-8"))
        base["privacy"]["delta_budget"] = args.delta
        total = sum(RATIOS.values())
        pure_eps = {f: r / total * args.epsilon / REFRESHES for f, r in RATIOS.items()}
        # a hair under the largest rho that fits: charges are rounded to the ledger units
        window_rho = zcdp_rho(args.epsilon, args.delta) * (1 - 1e-6)
        z_eps = {f: math.sqrt(2 * r / total * window_rho / REFRESHES) for f, r in RATIOS.items()}
        truth_eps = dict.fromkeys(RATIOS, 1e5)
        policies = {
            "pure": _load(tmp, "pure", _policy_text(base, pure_eps, False, args.epsilon)),
            "zcdp": _load(tmp, "zcdp", _policy_text(base, z_eps, True, args.epsilon)),
            "truth": _load(tmp, "truth", _policy_text(base, truth_eps, False, 1e6)),
        }
        pol = policies["pure"]
        data = generate_demo_data(tmp / "demo", n_users=args.users, seed=11, now=NOW, policy=pol)
        san = sanitize(
            data.input_dir,
            pol,
            PURPOSE,
            KeyRing.development(pol),
            now=NOW,
            scanner=scanner_for(pol),
        )
        seg_tables = _segment_tables(pol, san.tables)
        t_san = time.perf_counter() - t0
        # the truth: lifecycle, rule and funnel from a practically noiseless run
        huge = BudgetLedger.in_memory(
            dataset="truth", budget=PrivacyLoss(epsilon=1e7), window=BudgetWindow.lifetime()
        )
        tseg, tfun = _refresh(
            policies["truth"], seg_tables, san.tables, huge, "truth", DPRandom.for_testing(1)
        )
        # a group the noiseless run suppressed has a true size below 1: zero
        truth = _values(tseg.assign(suppressed=False, dp_size=tseg["dp_size"].fillna(0)), tfun)
        spec = pol.segmentation
        assert spec is not None
        cols = feature_columns(pol)
        feats = compute_features(
            seg_tables,
            FeatureParams(
                unit_column=unit_column(pol),
                now=utc_naive(NOW),
                columns=cols,
                lookback_days=spec.lookback_days,
                spending_bands=(0.0,),
                max_categories_per_user=pol.privacy.max_groups_contributed,
                order_amount_upper=2000.0,
            ),
        )
        pop = rfm_population(feats.table)
        rows = []
        for name in ("pure", "zcdp"):
            policy = policies[name]
            ledger = BudgetLedger.in_memory(
                dataset=name,
                budget=PrivacyLoss(epsilon=args.epsilon, delta=args.delta),
                window=BudgetWindow.lifetime(),
            )
            errors: dict[str, list[float]] = defaultdict(list)
            t1 = time.perf_counter()
            for i in range(REFRESHES):
                segs, fun = _refresh(
                    policy, seg_tables, san.tables, ledger, f"{name}-{i}", DPRandom.for_testing(i)
                )
                got = _values(segs, fun)
                rfm = segs.loc[segs["family"] == "rfm"].iloc[0]
                splits = {
                    c: float(rfm[f"split_{c}"]) for c in ("recency_days", "frequency", "monetary")
                }
                rfm_true = assign_rfm(pop, splits).value_counts()
                for (fam, key), v in got.items():
                    t = float(rfm_true.get(key, 0)) if fam == "rfm" else truth.get((fam, key))
                    if t is not None:
                        errors[fam.split(":")[0]].append(v - t)
            spent = ledger.spent()
            secs = time.perf_counter() - t1
            try:  # the budget is used up: a 31st refresh must be refused at its reservation
                _refresh(policy, seg_tables, san.tables, ledger, f"{name}-31", DPRandom())
                refused = "no"
            except BudgetExceededError:
                refused = "yes"
            print(f"{name}: a 31st refresh refused before computing: {refused}")
            for fam in ("rfm", "lifecycle", "rule", "funnel"):
                e = np.asarray(errors[fam])
                rows.append(
                    (name, fam, len(e), float(np.sqrt(np.mean(e**2))), float(np.mean(np.abs(e))),
                     spent.epsilon, spent.delta, secs)
                )  # fmt: skip
        print(f"demo users {args.users}; sanitize once {t_san:.1f} s; budget epsilon "
              f"{args.epsilon:g}, delta {args.delta:g}; window rho {window_rho:.4g}")  # fmt: skip
        print("pure epsilon per refresh:", {k: round(v, 4) for k, v in pure_eps.items()})
        print("zCDP family epsilon (rho = eps^2/2):", {k: round(v, 4) for k, v in z_eps.items()})
        print()
        print("| accounting | release | values | RMSE | mean abs error | ledger spent (eps, delta) "
              "after 30 | seconds for 30 |")  # fmt: skip
        print("|---|---|---|---|---|---|---|")
        for name, fam, n, rmse, mae, eps, delta, secs in rows:
            print(f"| {name} | {fam} | {n} | {rmse:.2f} | {mae:.2f} | ({eps:.4f}, {delta:.2g}) "
                  f"| {secs:.1f} |")  # fmt: skip


if __name__ == "__main__":
    main()
