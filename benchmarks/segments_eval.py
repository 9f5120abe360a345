"""Segments benchmark: non-private vs DP RFM-8 and DP k-means on UCI Online Retail, persona
families and the noise-aware release threshold on UCI, lifecycle and category personas on
Taobao UserBehavior.

    .venv/bin/python benchmarks/segments_eval.py [--reps 5] [--data ../shared/data]

Prints markdown tables and writes docs/img/segments_error_vs_epsilon.png.
"""

from __future__ import annotations

import argparse
import datetime as dt
import itertools
import time
from dataclasses import replace
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.metrics import adjusted_rand_score

from privacy_profile.demo import public_data
from privacy_profile.dp import Bounds, BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.policy.loader import load_policy
from privacy_profile.segments._common import ReleaseContext, SegmentDef
from privacy_profile.segments.columns import feature_columns
from privacy_profile.segments.features import FeatureParams, band_labels, compute_features
from privacy_profile.segments.kmeans import (
    KMeansFeatureParams,
    KMeansMethod,
    KMeansParams,
    init_from_class_means,
    nearest,
    release_kmeans,
    scale_features,
)
from privacy_profile.segments.lifecycle import (
    LIFECYCLE_STAGES,
    LifecycleParams,
    assign_lifecycle,
    release_lifecycle,
)
from privacy_profile.segments.personas import Family, PersonaParams, release_personas
from privacy_profile.segments.rfm import (
    RFM_CLASSES,
    RFM_FEATURES,
    RfmParams,
    assign_rfm,
    release_rfm,
)

REPO = Path(__file__).resolve().parents[1]
EPSILONS = (0.5, 1.0, 2.0, 5.0)
RFM_BOUNDS = {
    "recency_days": Bounds(lower=0, upper=400),
    "frequency": Bounds(lower=0, upper=100),
    "monetary": Bounds(lower=0, upper=20000),
}


#: the demo policy's role mapping (tables orders / events, status paid, ...)
DEMO_COLUMNS = feature_columns(
    load_policy(Path(__file__).resolve().parents[1] / "policies" / "wechat_shop.yaml")
)


def uci_orders(path: Path) -> pd.DataFrame:
    return public_data.uci_orders(
        public_data.read_uci_lines(path), unit_column="openid", id_prefix="c"
    )


def md(df: pd.DataFrame, fmt: str = ".3f", index: bool = True) -> str:
    """A markdown table (no tabulate dependency)."""
    d = df.reset_index() if index else df
    cells = [
        [format(v, fmt) if isinstance(v, float) else str(v) for v in row]
        for row in d.itertuples(index=False)
    ]
    head = [str(c) for c in d.columns]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += ["| " + " | ".join(r) + " |" for r in cells]
    return "\n".join(lines)


def ledger() -> BudgetLedger:
    return BudgetLedger.in_memory(
        dataset="bench",
        budget=PrivacyLoss(epsilon=1e6, delta=1e-3),
        window=BudgetWindow.lifetime(),
    )


def ctx(seed: int, threshold: int = 0) -> ReleaseContext:
    return ReleaseContext(
        ledger=ledger(),
        run_id=f"b{seed}",
        rng=DPRandom.for_testing(seed),
        unit_column="openid",
        threshold=threshold,
        delta=1e-6,
    )


RFM_WEIGHTS = {"1:1:2": (1.0, 1.0, 2.0), "2:1:1": (2.0, 1.0, 1.0)}  # splits:sizes:means


def rfm_eval(pop: pd.DataFrame, reps: int) -> pd.DataFrame:
    medians = {n: float(pop[n].median()) for n in RFM_FEATURES}
    truth_cls = assign_rfm(pop, medians)
    true_sizes = truth_cls.value_counts()
    true_means = {
        key: {
            f: float(
                np.clip(
                    pop.loc[truth_cls == key, f], RFM_BOUNDS[f].lower, RFM_BOUNDS[f].upper
                ).mean()
            )
            for f in RFM_FEATURES
        }
        for key in true_sizes.index
    }
    rows = []
    for wname, (ws, wz, wm) in RFM_WEIGHTS.items():
        params = RfmParams(
            recency_bounds=RFM_BOUNDS["recency_days"],
            frequency_bounds=RFM_BOUNDS["frequency"],
            monetary_bounds=RFM_BOUNDS["monetary"],
            weight_splits=ws,
            weight_sizes=wz,
            weight_means=wm,
        )
        for eps in EPSILONS:
            for rep in range(reps):
                rel = release_rfm(pop, params, loss=PrivacyLoss(epsilon=eps), ctx=ctx(rep))
                t = rel.table.set_index("segment")
                agree = float(np.mean(rel.assignment.to_numpy() == truth_cls.to_numpy()))
                size_err, mean_err = [], []
                for key in t.index:
                    n = true_sizes.get(key, 0)
                    size_err.append(abs(t.loc[key, "dp_size"] - n) / max(n, 1))
                    for f in RFM_FEATURES:
                        tm = true_means.get(key, {}).get(f, 0.0)
                        mean_err.append(abs(t.loc[key, f"mean_{f}"] - tm) / max(abs(tm), 1e-9))
                rows.append(
                    {
                        "weights": wname,
                        "epsilon": eps,
                        "agreement": agree,
                        "size_rel_err_mean": float(np.mean(size_err)),
                        "size_rel_err_max": float(np.max(size_err)),
                        "mean_rel_err_median": float(np.median(mean_err)),
                    }
                )
    return pd.DataFrame(rows).groupby(["weights", "epsilon"]).mean()


def kmeans_eval(pop: pd.DataFrame, reps: int, k: int = 4) -> pd.DataFrame:
    kp = KMeansParams(
        k=k,
        features=(
            KMeansFeatureParams(name="recency_days", bounds=RFM_BOUNDS["recency_days"]),
            KMeansFeatureParams(name="frequency", bounds=RFM_BOUNDS["frequency"], log1p=True),
            KMeansFeatureParams(name="monetary", bounds=RFM_BOUNDS["monetary"], log1p=True),
        ),
    )
    x = scale_features(pop, kp)
    sk = KMeans(n_clusters=k, n_init=10, random_state=0).fit(x)
    base = float(sk.inertia_)
    rfm_params = RfmParams(
        recency_bounds=RFM_BOUNDS["recency_days"],
        frequency_bounds=RFM_BOUNDS["frequency"],
        monetary_bounds=RFM_BOUNDS["monetary"],
        weight_splits=1,
        weight_sizes=1,
        weight_means=2,
    )
    rows = []
    for eps in EPSILONS:
        for rep in range(reps):
            # the DP RFM release at the same epsilon gives the rfm_classes starts
            rel = release_rfm(pop, rfm_params, loss=PrivacyLoss(epsilon=eps), ctx=ctx(rep))
            ok = rel.table.loc[~rel.table["suppressed"]]
            cand = pd.DataFrame({n: ok[f"mean_{n}"].to_numpy() for n in RFM_FEATURES})
            rfm_start = init_from_class_means(scale_features(cand, kp), ok["dp_size"].tolist(), k)
            for method, init in itertools.product(KMeansMethod, ("random", "rfm_classes")):
                res = release_kmeans(
                    pop,
                    # the policy's default iteration count for each init (lloyd only)
                    replace(kp, method=method, iterations=3 if init == "rfm_classes" else 5),
                    loss=PrivacyLoss(epsilon=eps),
                    ctx=ctx(10_000 + rep),
                    init_centers=rfm_start if init == "rfm_classes" else None,
                )
                c = res.centroids_scaled
                lab = nearest(x, c)
                rows.append(
                    {
                        "method": method.value,
                        "epsilon": eps,
                        "init": init,
                        "inertia_ratio": float(((x - c[lab]) ** 2).sum()) / base,
                        "ari": adjusted_rand_score(sk.labels_, lab),
                    }
                )
    # without noise: diffprivlib's iteration count and one start, at a huge epsilon
    for method in KMeansMethod:  # without noise: epsilon 1e5 (diffprivlib: one start, <= 7 its)
        init = "random"
        res = release_kmeans(
            pop, replace(kp, method=method, iterations=5), loss=PrivacyLoss(epsilon=1e5), ctx=ctx(0)
        )
        c = res.centroids_scaled
        lab = nearest(x, c)
        rows.append(
            {
                "method": method.value,
                "epsilon": float("inf"),
                "init": init,
                "inertia_ratio": float(((x - c[lab]) ** 2).sum()) / base,
                "ari": adjusted_rand_score(sk.labels_, lab),
            }
        )
    return pd.DataFrame(rows).groupby(["method", "init", "epsilon"]).mean()


UCI_AGE_BANDS = ("0-13", "14-17", "18-29", "30-49", "50+")
UCI_COUNTRIES = (
    "United Kingdom",
    "Germany",
    "France",
    "EIRE",
    "Spain",
    "Netherlands",
    "Belgium",
    "Switzerland",
    "Portugal",
    "Australia",
)
PERSONA_SETTINGS = (  # (families, false_release_probability)
    (("rfm", "kmeans", "lifecycle", "rule"), None),
    (("rfm", "lifecycle"), None),
    (("rfm", "kmeans", "lifecycle", "rule"), 0.05),
    (("rfm", "lifecycle"), 0.05),
    (("rfm", "lifecycle"), 0.01),
)


def uci_families(
    table: pd.DataFrame, activity: pd.DataFrame, now: dt.datetime
) -> dict[str, Family]:
    """The four families of policies/examples/uci_online_retail.yaml, assigned without noise
    (the persona counts are what is measured here): RFM-8 at the true medians, k-means k=4
    (sklearn) on scaled R, log F, log M, lifecycle stages, the rule segment."""
    pop = table.loc[table["frequency"] > 0].set_index("openid")
    medians = {n: float(pop[n].median()) for n in RFM_FEATURES}
    rfm = assign_rfm(pop.reset_index(), medians)
    rfm.index = pop.index
    x = np.column_stack(
        [
            pop["recency_days"].astype(float).clip(0, 400) / 400,
            np.log1p(pop["frequency"].clip(0, 100)) / np.log1p(100),
            np.log1p(pop["monetary"].clip(0, 20000)) / np.log1p(20000),
        ]
    )
    km = KMeans(n_clusters=4, n_init=4, random_state=0).fit_predict(x)
    stage = assign_lifecycle(
        table,
        activity,
        LifecycleParams(
            new_within_days=30, active_within_days=30, returning_gap_days=60, churned_after_days=180
        ),
        unit_column="openid",
        now=now,
    )
    stage.index = pd.Index(table["openid"].to_numpy())
    rule = table.loc[(table["monetary"] > 1000) & (table["province"] != "United Kingdom")]
    return {
        "rfm": Family(name="rfm", segments=tuple(RFM_CLASSES.values()), assignment=rfm),
        "kmeans": Family(
            name="kmeans",
            segments=tuple(
                SegmentDef(f"cluster_{i}", f"聚类{i}", f"cluster {i}") for i in range(4)
            ),
            assignment=pd.Series([f"cluster_{i}" for i in km], index=pop.index),
        ),
        "lifecycle": Family(name="lifecycle", segments=LIFECYCLE_STAGES, assignment=stage),
        "rule": Family(
            name="rule:big_spenders_abroad",
            segments=(SegmentDef("big_spenders_abroad", "海外高消费", "big spenders abroad"),),
            assignment=pd.Series("big_spenders_abroad", index=rule["openid"].to_numpy()),
        ),
    }


def persona_eval(
    table: pd.DataFrame, activity: pd.DataFrame, now: dt.datetime, reps: int, threshold: int = 20
) -> pd.DataFrame:
    """Personas as policies/examples/uci_online_retail.yaml asks (epsilon 1; age band,
    country, spending band; threshold 20) for each setting of PERSONA_SETTINGS. Ages are not in
    the data: adults only are drawn (seeded), as the consent gate leaves no minor, so every
    "0-13" / "14-17" value is empty and any such released row is noise."""
    g = np.random.default_rng(11)
    t = table.copy()
    t["age_band"] = g.choice(["18-29", "30-49", "50+"], len(t), p=[0.3, 0.45, 0.25])
    fams = uci_families(t, activity, now)
    dims = ("age_band", "province", "spending_band")
    bands = (0.0, 500.0, 2000.0, 5000.0)
    t["spending_band"] = pd.cut(
        t["monetary"], [*bands, np.inf], right=False, labels=band_labels(bands)
    ).astype(str)
    domains = {
        "age_band": UCI_AGE_BANDS,
        "province": UCI_COUNTRIES,
        "spending_band": tuple(band_labels(bands)),
    }
    truth: dict[tuple[str, str, str, str], int] = {}
    for fam in fams.values():
        seg = fam.assignment
        sub = t.set_index("openid").loc[seg.index]
        for dim in dims:
            counts = sub.groupby([seg.to_numpy(), sub[dim].to_numpy()]).size()
            for (sk, v), n in counts.items():
                truth[(fam.name, str(sk), dim, str(v))] = int(n)
    rows = []
    for names, alpha in PERSONA_SETTINGS:
        for rep in range(reps):
            out = release_personas(
                [fams[n] for n in names],
                t,
                pd.DataFrame({"openid": [], "category": []}),
                PersonaParams(
                    dimensions=dims,
                    top_n=5,
                    max_categories_per_user=3,
                    domains=domains,
                    deny_list=(),
                    false_release_probability=alpha,
                ),
                loss=PrivacyLoss(epsilon=1.0),
                ctx=ctx(rep, threshold),
            ).personas
            true_n = np.array(
                [
                    truth.get((f, sg, d, v), 0)
                    for f, sg, d, v in out[["family", "segment", "dimension", "value"]].itertuples(
                        index=False
                    )
                ]
            )
            real = [(k, n) for k, n in truth.items() if k[0] in {fams[x].name for x in names}]
            big = {k for k, n in real if n >= 2 * threshold}
            got = set(
                zip(out["family"], out["segment"], out["dimension"], out["value"], strict=True)
            )
            ok = true_n >= threshold
            rel_err = np.abs(out["dp_count"].to_numpy() - true_n)[ok] / true_n[ok]
            rows.append(
                {
                    "families": "+".join(names),
                    "p_false": "none" if alpha is None else f"{alpha:g}",
                    "eps_per_count": 1.0 / (len(names) * len(dims)),
                    "noise_sd": float(out["count_noise_sd"].iloc[0]) if len(out) else np.nan,
                    "cut": float(out["release_threshold"].iloc[0]) if len(out) else np.nan,
                    "released": len(out),
                    "below_threshold_released": int((true_n < threshold).sum()),
                    "minor_age_rows": int(
                        (
                            (out["dimension"] == "age_band") & out["value"].isin(["0-13", "14-17"])
                        ).sum()
                    ),
                    "recall_2x_threshold": len(big & got) / max(len(big), 1),
                    "rel_err_median": float(np.median(rel_err)) if len(rel_err) else np.nan,
                }
            )
    return pd.DataFrame(rows).groupby(["families", "p_false"], sort=False).mean()


def taobao(path: Path, reps: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    ev = public_data.taobao_events(pd.read_csv(path), unit_column="openid", id_prefix="u")
    now = dt.datetime(2017, 12, 4)
    feats = compute_features(
        {"events": ev},
        FeatureParams(
            unit_column="openid", now=now, max_categories_per_user=3, columns=DEMO_COLUMNS
        ),
    )
    lp = LifecycleParams(
        new_within_days=3, active_within_days=2, returning_gap_days=2, churned_after_days=6
    )
    rows = []
    for rep in range(reps):
        t, stage, _ = release_lifecycle(
            feats.table,
            feats.activity,
            lp,
            now=now,
            loss=PrivacyLoss(epsilon=1.0),
            ctx=ctx(rep, 20),
        )
        truth = stage.value_counts()
        for _, r in t.iterrows():
            rows.append(
                {"stage": r["label"], "true": truth.get(r["segment"], 0), "dp": r["dp_size"]}
            )
    life = pd.DataFrame(rows).groupby("stage", sort=False).mean()
    fam = Family(
        name="lifecycle",
        segments=LIFECYCLE_STAGES,
        assignment=stage,
    )
    pr = release_personas(
        [fam],
        feats.table,
        feats.categories,
        PersonaParams(
            dimensions=("top_categories",),
            top_n=5,
            max_categories_per_user=3,
            domains={},
            deny_list=("religion",),
        ),
        loss=PrivacyLoss(epsilon=1.0),
        ctx=ctx(0, 20),
    )
    return life, pr.recommendations


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data")
    a = ap.parse_args()
    t0 = time.time()
    orders = uci_orders(a.data / "uci_online_retail" / "uci_online_retail.csv")
    feats = compute_features(
        {"orders": orders},
        FeatureParams(unit_column="openid", now=dt.datetime(2011, 12, 10), columns=DEMO_COLUMNS),
    )
    pop = feats.table.loc[feats.table["frequency"] > 0]
    print(f"UCI customers: {feats.table.shape[0]}, with a net paid order: {len(pop)}\n")
    rfm = rfm_eval(pop, a.reps)
    print("## RFM-8 (UCI), mean over", a.reps, "runs\n")
    print(md(rfm, ".4f"), "\n")
    km = kmeans_eval(pop, a.reps)
    print("## DP k-means k=4 (UCI; scaled R, log F, log M), mean over", a.reps, "runs\n")
    print(md(km), "\n")
    lines = public_data.read_uci_lines(a.data / "uci_online_retail" / "uci_online_retail.csv")
    country = public_data.uci_customers(lines, unit_column="openid")
    country["openid"] = "c" + country["openid"]
    ptable = feats.table.merge(country, on="openid", how="left")
    ptable["province"] = ptable["Country"].fillna("(unknown)")
    per = persona_eval(ptable, feats.activity, dt.datetime(2011, 12, 10), a.reps)
    print("## Personas (UCI, epsilon 1, threshold 20), mean over", a.reps, "runs\n")
    print(md(per, ".3f"), "\n")
    life, rec = taobao(a.data / "taobao_userbehavior" / "UserBehavior_head_814users.csv", a.reps)
    print("## Lifecycle (Taobao, epsilon 1, threshold 20)\n")
    print(md(life, ".1f"), "\n")
    print("## Top-5 categories per lifecycle stage (Taobao, epsilon 1)\n")
    print(md(rec, index=False), "\n")
    fig, ax = plt.subplots(1, 2, figsize=(10, 4))
    for wname, style in (("1:1:2", "-"), ("2:1:1", ":")):
        r = rfm.loc[wname]
        ax[0].plot(r.index, r["size_rel_err_mean"], "o" + style, label=f"size, mean ({wname})")
        ax[0].plot(r.index, r["size_rel_err_max"], "s" + style, label=f"size, worst ({wname})")
    r = rfm.loc["1:1:2"]
    ax[0].plot(r.index, 1 - r["agreement"], "^-", label="1 - class agreement")
    ax[0].axhline(0.05, color="grey", lw=0.8, ls=":")
    ax[0].set(xscale="log", xlabel="epsilon", ylabel="relative error", title="RFM-8 (UCI)")
    ax[0].legend()
    for method, init in itertools.product(("lloyd", "diffprivlib"), ("random", "rfm_classes")):
        s = km.loc[(method, init)].drop(index=float("inf"), errors="ignore")
        style = "o-" if method == "lloyd" else "s--"
        ax[1].plot(s.index, s["inertia_ratio"], style, label=f"{method}, init {init}")
    ax[1].axhline(1.2, color="grey", lw=0.8, ls=":")
    ax[1].set(
        xscale="log", xlabel="epsilon", ylabel="inertia / sklearn inertia", title="DP k-means (UCI)"
    )
    ax[1].legend()
    fig.tight_layout()
    out = REPO / "docs" / "img" / "segments_error_vs_epsilon.png"
    fig.savefig(out, dpi=110)
    print(f"plot: {out.relative_to(REPO)}; took {time.time() - t0:.0f} s")


if __name__ == "__main__":
    main()
