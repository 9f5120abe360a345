"""DP k-means (UCI) at a *total* epsilon that includes the RFM release seeding its start.

For each split of the total between the RFM release (weights splits:sizes:means) and the
k-means release (DP Lloyd, 3 iterations from the size-weighted RFM class-mean start), the mean
inertia ratio against scikit-learn (10 inits) over ``--reps`` runs.

    .venv/bin/python benchmarks/kmeans_total_budget.py [--reps 20] [--total 1.0]
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans

sys.path.insert(0, str(Path(__file__).resolve().parent))
import segments_eval as se

from privacy_profile.dp import PrivacyLoss
from privacy_profile.segments.features import FeatureParams, compute_features
from privacy_profile.segments.kmeans import (
    KMeansFeatureParams,
    KMeansParams,
    init_from_class_means,
    nearest,
    release_kmeans,
    scale_features,
)
from privacy_profile.segments.rfm import RFM_FEATURES, RfmParams, release_rfm

SPLITS = (0.1, 0.2, 0.3, 0.5)  # share of the total spent on the RFM release
WEIGHTS = ((1, 1, 2), (1, 2, 4), (0, 1, 4))  # splits:sizes:means; 0 = smallest allowed


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--total", type=float, default=1.0)
    ap.add_argument("--splits", type=float, nargs="*", default=list(SPLITS))
    ap.add_argument(
        "--weights",
        nargs="*",
        default=[":".join(map(str, w)) for w in WEIGHTS],
        help="RFM weights splits:sizes:means (0 splits = 0.25)",
    )
    ap.add_argument("--data", type=Path, default=se.REPO.parent / "shared" / "data")
    a = ap.parse_args()
    orders = se.uci_orders(a.data / "uci_online_retail" / "uci_online_retail.csv")
    feats = compute_features(
        {"orders": orders}, FeatureParams(unit_column="openid", now=dt.datetime(2011, 12, 10))
    )
    pop = feats.table.loc[feats.table["frequency"] > 0]
    kp = KMeansParams(
        k=4,
        iterations=3,
        features=(
            KMeansFeatureParams(name="recency_days", bounds=se.RFM_BOUNDS["recency_days"]),
            KMeansFeatureParams(name="frequency", bounds=se.RFM_BOUNDS["frequency"], log1p=True),
            KMeansFeatureParams(name="monetary", bounds=se.RFM_BOUNDS["monetary"], log1p=True),
        ),
    )
    x = scale_features(pop, kp)
    base = float(KMeans(n_clusters=4, n_init=10, random_state=0).fit(x).inertia_)
    rows = []
    for w in [tuple(float(v) for v in spec.split(":")) for spec in a.weights]:
        rp = RfmParams(
            recency_bounds=se.RFM_BOUNDS["recency_days"],
            frequency_bounds=se.RFM_BOUNDS["frequency"],
            monetary_bounds=se.RFM_BOUNDS["monetary"],
            weight_splits=max(w[0], 0.25),
            weight_sizes=w[1],
            weight_means=w[2],
        )
        for share in a.splits:
            e_rfm, e_km = a.total * share, a.total * (1 - share)
            ratios = []
            for rep in range(a.reps):
                rel = release_rfm(pop, rp, loss=PrivacyLoss(epsilon=e_rfm), ctx=se.ctx(rep))
                ok = rel.table.loc[~rel.table["suppressed"]]
                cand = pd.DataFrame({n: ok[f"mean_{n}"].to_numpy() for n in RFM_FEATURES})
                start = init_from_class_means(scale_features(cand, kp), ok["dp_size"].tolist(), 4)
                res = release_kmeans(
                    pop,
                    replace(kp),
                    loss=PrivacyLoss(epsilon=e_km),
                    ctx=se.ctx(10_000 + rep),
                    init_centers=start,
                )
                c = res.centroids_scaled
                ratios.append(float(((x - c[nearest(x, c)]) ** 2).sum()) / base)
            rows.append((w, share, e_rfm, e_km, np.mean(ratios), np.max(ratios)))
            print(
                f"| {w[0] or 0.25:g}:{w[1]:g}:{w[2]:g} | {e_rfm:.2f} | {e_km:.2f} | {a.total:g} "
                f"| {np.mean(ratios):.3f} | {np.max(ratios):.3f} |",
                flush=True,
            )


if __name__ == "__main__":
    main()
