"""Ingestion benchmark: consent gate + pseudonymization + generalization over generated events.

Generates ``--rows`` event rows of ``--users`` users with numpy (seeded), then measures, in one
run and side by side:

* our stages, as ``sanitize`` runs them: consent state (latest consent per user), consent
  gate (factorize the subject column once, decide once per consent user: notice version,
  minors), HMAC-SHA256 pseudonymization of the identifier column over the gate's codes
  (normalize, hash each distinct value once, map back) and hour truncation of the timestamp;
  also the pseudonymization of the column on its own (its own factorize) for comparison;
* the raw HMAC floor: one keyed HMAC (``cryptography``, ``.copy()`` of a prepared object) per
  unique identifier, nothing else;
* presidio-structured's ``hash`` operator on the same identifier column (on a subsample of
  ``--presidio-rows`` rows, extrapolated linearly; it hashes every cell, salted SHA-256).

Peak memory is the process's maximum resident set size. Not a test: figures go to
docs/benchmarks.md. Usage::

    .venv/bin/python benchmarks/ingest_bench.py --rows 10000000 --users 1000000
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import resource
import time
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from cryptography.hazmat.primitives import hashes, hmac

from privacy_profile.ingest import KeyMaterial, KeyRing, Pseudonymizer
from privacy_profile.ingest.codes import Factorized, factorize
from privacy_profile.ingest.consent import (
    GateParams,
    build_consent_state,
    gate_factorized,
    prepare_gate,
)
from privacy_profile.ingest.generalize import GeneralizeParams, generalize_column
from privacy_profile.policy.model import (
    ConsentRecordsSpec,
    ConsentRule,
    DateTruncate,
    DateUnit,
)

PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 12, 1)


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _timed(fn: Callable[[], Any]) -> tuple[Any, float]:
    t0 = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - t0


def make_data(rows: int, users: int, seed: int) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 256, size=(users, 14), dtype=np.uint8)
    ids = np.array(["o" + b.tobytes().hex() for b in raw], dtype=object)  # 29-char openid-like ids
    who = rng.integers(0, users, size=rows)
    ts = NOW - pd.to_timedelta(rng.integers(0, 300 * 86400, size=rows), unit="s")
    events = pd.DataFrame(
        {
            "openid": pd.Series(ids[who], dtype="string"),
            "event_type": pd.Categorical.from_codes(
                rng.integers(0, 4, size=rows), ["pv", "cart", "fav", "buy"]
            ),
            "ts": pd.Series(ts).astype("datetime64[us]"),
        }
    )
    status = np.where(rng.random(users) < 0.9, "granted", "withdrawn")
    consents = pd.DataFrame(
        {
            "openid": pd.Series(ids, dtype="string"),
            "purpose": PURPOSE,
            "status": pd.Series(status, dtype="string"),
            "recorded_at": pd.Timestamp("2026-01-01"),
            "notice_version": "2026-03",
            "guardian_consent": pd.array(np.zeros(users, dtype=bool), dtype="boolean"),
            "sensitive_consent": pd.array(np.zeros(users, dtype=bool), dtype="boolean"),
            "opt_out": pd.array(rng.random(users) < 0.05, dtype="boolean"),
        }
    )
    ages = pd.Series(
        rng.integers(10, 80, size=users).astype("float64"),
        index=pd.Index(ids, name="user"),
        dtype="Float64",
    )
    return events, consents, ages


def run(rows: int, users: int, presidio_rows: int, seed: int) -> dict[str, Any]:
    (events, consents, ages), t_gen = _timed(lambda: make_data(rows, users, seed))
    keys = KeyRing(
        domains={
            "marketing_analytics": KeyMaterial.from_bytes(b"b" * 32, key_id="bench", source="bench")
        }
    )
    spec = ConsentRecordsSpec(
        table="consents",
        user_column="openid",
        purpose_column="purpose",
        status_column="status",
        timestamp_column="recorded_at",
        notice_version_column="notice_version",
        guardian_consent_column="guardian_consent",
        sensitive_consent_column="sensitive_consent",
        opt_out_column="opt_out",
    )
    rule = ConsentRule(accepted_notice_versions=["2026-03"], separate_consent_for_sensitive=True)
    res: dict[str, Any] = {"rows": rows, "users": users, "generate_s": round(t_gen, 2)}

    (state, _), t_state = _timed(
        lambda: build_consent_state(consents, spec, purpose=PURPOSE, rule=rule, now=NOW)
    )

    def gate() -> tuple[Factorized, pd.Series]:
        # as sanitize does it: factorize the subject column once, decide once per user
        subjects = factorize(events["openid"])
        prepared = prepare_gate(state, ages, GateParams(rule=rule))
        return subjects, gate_factorized(subjects, prepared)[0]

    (subjects, reasons), t_gate = _timed(gate)
    keep = reasons.isna().to_numpy(dtype=bool)
    kept = events[keep]
    pz = Pseudonymizer(keys)
    # pseudonyms over the gate's codes (what sanitize does for the subject column) ...
    _pseud, t_ps = _timed(
        lambda: pz.pseudonymize_factorized(subjects.take(keep), domain="marketing_analytics")
    )
    del _pseud
    # ... and of the column on its own (its own factorize), for comparison
    _pseud, t_ps_alone = _timed(
        lambda: pz.pseudonymize(kept["openid"], domain="marketing_analytics")
    )
    del _pseud
    (_gen, _), t_genz = _timed(
        lambda: generalize_column(
            kept["ts"], DateTruncate(unit=DateUnit.HOUR), GeneralizeParams(NOW)
        )
    )
    total = t_state + t_gate + t_ps + t_genz
    res.update(
        consent_state_s=round(t_state, 2),
        consent_gate_s=round(t_gate, 2),
        rows_admitted=len(kept),
        pseudonymize_s=round(t_ps, 2),
        pseudonymize_column_alone_s=round(t_ps_alone, 2),
        generalize_s=round(t_genz, 2),
        total_s=round(total, 2),
        rows_per_s_total=round(rows / total),
        rows_per_s_pseudonymize=round(len(kept) / t_ps),
        rows_per_s_pseudonymize_column_alone=round(len(kept) / t_ps_alone),
        rows_per_s_gate_and_pseudonymize=round(rows / (t_gate + t_ps)),
    )

    # the raw HMAC floor: one keyed HMAC per unique value, nothing else
    uniques = pd.unique(kept["openid"].to_numpy(dtype=object))

    def floor() -> int:
        base = hmac.HMAC(b"f" * 32, hashes.SHA256())
        n = 0
        for v in uniques:
            h = base.copy()
            h.update(v.encode())
            h.finalize()
            n += 1
        return n

    n_unique, t_floor = _timed(floor)
    res.update(
        unique_ids=int(n_unique),
        hmac_floor_s=round(t_floor, 2),
        ratio_pseudonymize_to_floor=round(t_ps / t_floor, 2),
        ratio_pseudonymize_column_alone_to_floor=round(t_ps_alone / t_floor, 2),
    )

    # presidio-structured hash operator on a subsample of the same frame
    from presidio_anonymizer.entities import OperatorConfig
    from presidio_structured import StructuredAnalysis, StructuredEngine

    sub = kept.iloc[:presidio_rows][["openid"]].astype({"openid": object})
    engine = StructuredEngine()
    analysis = StructuredAnalysis(entity_mapping={"openid": "PERSON"})
    ops = {"PERSON": OperatorConfig("hash", {"hash_type": "sha256"})}
    _, t_pr = _timed(lambda: engine.anonymize(sub, analysis, operators=ops))
    pr_rows_s = len(sub) / t_pr
    ours_sub, t_ours_sub = _timed(
        lambda: pz.pseudonymize(sub["openid"].astype("string"), domain="marketing_analytics")
    )
    del ours_sub
    res.update(
        presidio_rows=len(sub),
        presidio_hash_s=round(t_pr, 2),
        presidio_rows_per_s=round(pr_rows_s),
        presidio_extrapolated_s_for_admitted_rows=round(len(kept) / pr_rows_s, 1),
        ours_same_subsample_s=round(t_ours_sub, 3),
        ratio_presidio_to_ours_full=round((len(kept) / pr_rows_s) / t_ps, 1),
        peak_rss_mib=round(_peak_mib()),
        machine=f"{platform.machine()}, {len(__import__('os').sched_getaffinity(0))} cores",
        python=platform.python_version(),
        pandas=pd.__version__,
    )
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--users", type=int, default=1_000_000)
    ap.add_argument("--presidio-rows", type=int, default=200_000)
    ap.add_argument("--seed", type=int, default=20261201)
    a = ap.parse_args()
    print(json.dumps(run(a.rows, a.users, a.presidio_rows, a.seed), indent=2))


if __name__ == "__main__":
    main()
