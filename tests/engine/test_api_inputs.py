"""sanitize_then_segment takes DataFrames and an in-memory Policy; wrong types fail before
anything is written or charged."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from privacy_profile import InputError, PolicyError, open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.ingest import KeyRing
from privacy_profile.ingest.sources import IN_MEMORY
from privacy_profile.lineage.recorder import read_events
from privacy_profile.policies import example_policy_path
from privacy_profile.policy import load_policy_file

PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.UTC)


def test_dataframes_and_a_policy_model_run_end_to_end(tmp_path: Path) -> None:
    loaded = load_policy_file(example_policy_path())
    pol = loaded.policy
    data = generate_demo_data(tmp_path, n_users=1500, seed=3, now=NOW, policy=pol)
    frames = {
        t: pd.read_csv(data.input_dir / spec.file_name(t), dtype=str)
        for t, spec in pol.tables.items()
    }
    with open_ledger(tmp_path / "ledger.sqlite", pol) as ledger:
        release = sanitize_then_segment(
            frames,
            pol,  # a Policy, not a LoadedPolicy
            PURPOSE,
            KeyRing.development(pol),
            ledger,
            tmp_path / "out",
            scanner=scanner_for(pol),
            rng=DPRandom.for_testing(2),
            now=NOW,
        )
    assert release.ingest.reconciles()
    assert release.ingest.tables["orders"].input_rows == data.rows["orders"]
    assert len(release.segments) > 0 and release.epsilon_spent > 0
    start = read_events(release.lineage_events)[0]
    assert {d["namespace"] for d in start["inputs"]} == {IN_MEMORY}
    assert {d["name"] for d in start["inputs"]} == set(pol.tables)


@pytest.mark.parametrize(
    ("inputs", "policy", "error", "match"),
    [
        ("frame", "loaded", InputError, "a single DataFrame"),
        ({"users": 1}, "loaded", InputError, "inputs do not match the policy's tables"),
        ("dir", {"name": "x"}, PolicyError, "policy of type dict is not accepted"),
        (["a"], "loaded", InputError, "inputs of type list"),
    ],
)
def test_wrong_types_fail_before_anything_is_written_or_charged(
    tmp_path: Path, inputs: Any, policy: Any, error: type[Exception], match: str
) -> None:
    loaded = load_policy_file(example_policy_path())
    pol = loaded.policy
    named = {"frame": pd.DataFrame({"a": [1]}), "dir": tmp_path}
    given_inputs = named[inputs] if isinstance(inputs, str) else inputs
    given_policy = loaded if policy == "loaded" else policy
    out = tmp_path / "out"
    with open_ledger(tmp_path / "ledger.sqlite", pol) as ledger:
        with pytest.raises(error, match=match):
            sanitize_then_segment(
                given_inputs, given_policy, PURPOSE, KeyRing.development(pol), ledger, out
            )
        assert ledger.spent().epsilon == 0
    assert not out.exists()
