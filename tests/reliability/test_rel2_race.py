"""Races and kill -9 from separate processes (spawned interpreters) through the engine."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import time
from pathlib import Path

import pytest
from _rel2_support import RUN_EPSILON, Shop, killed_child, make_shop, race_child, run

from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.errors import AuditError
from privacy_profile.lineage.audit import verify_run
from privacy_profile.lineage.recorder import CHARGES_FACET_NAME, new_run_id, read_events
from privacy_profile.lineage.runlog import verify_chain

pytestmark = pytest.mark.slow  # spawned interpreters, each running the engine


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("shop"))


def test_six_racing_runs_on_a_budget_for_two_release_exactly_two(
    shop: Shop, tmp_path: Path
) -> None:
    """The policy allows 10 epsilon and a run spends 4.5: of 6 runs started together, exactly 2
    release; the 4 others are refused before computing and charge nothing."""
    out = tmp_path / "out"
    n = 6
    ctx = mp.get_context("spawn")
    barrier = ctx.Barrier(n)
    results = ctx.Queue()
    ids = [new_run_id() for _ in range(n)]
    procs = [
        ctx.Process(target=race_child, args=(str(shop.input_dir), str(out), i, barrier, results))
        for i in ids
    ]
    for p in procs:
        p.start()
    outcome = {}
    for _ in range(n):
        run_id, state, message = results.get(timeout=600)
        outcome[run_id] = (state, message)
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    released = [i for i, (state, _) in outcome.items() if state == "released"]
    refused = [i for i, (state, _) in outcome.items() if state == "refused"]
    assert len(released) == 2, outcome
    assert len(refused) == n - 2
    assert all("nothing was computed, charged or released" in outcome[i][1] for i in refused)
    with open_ledger(out / "ledger.sqlite", shop.loaded.policy) as ledger:
        assert ledger.spent().epsilon == pytest.approx(2 * RUN_EPSILON)
        assert ledger.reserved().epsilon == 0
        for i in refused:
            assert ledger.charges_for_run(i) == []
    runs = out / "runs"
    verify_chain(runs / "runlog.jsonl")
    assert not list(runs.glob(".staging-*"))
    for i in released:
        assert verify_run(runs / i, ledger_path=out / "ledger.sqlite").event_types[1] == "COMPLETE"
    for i in refused:
        assert not (runs / i / "marketing").exists()
        events = read_events(runs / i / "lineage" / "events.jsonl")
        assert events[1]["run"]["facets"][CHARGES_FACET_NAME]["epsilon"] == 0
        verify_run(runs / i, ledger_path=out / "ledger.sqlite")


def test_kill_9_after_the_release_stage_publishes_nothing(shop: Shop, tmp_path: Path) -> None:
    """A run killed (SIGKILL) right after its release stage: no run folder appears, the audit
    says it was never published, its reservation holds nothing once its process is gone, and
    the next run proceeds on an intact chain."""
    out = tmp_path / "out"
    run_id = new_run_id()
    flag = tmp_path / "release-done"
    ctx = mp.get_context("spawn")
    proc = ctx.Process(target=killed_child, args=(str(shop.input_dir), str(out), run_id, str(flag)))
    proc.start()
    deadline = time.monotonic() + 600
    while not flag.exists():
        assert proc.is_alive() and time.monotonic() < deadline, "the run ended before release"
        time.sleep(0.2)
    assert proc.pid is not None
    os.kill(proc.pid, signal.SIGKILL)
    proc.join(timeout=60)
    assert proc.exitcode == -signal.SIGKILL
    runs = out / "runs"
    staging = runs / f".staging-{run_id}"
    assert not (runs / run_id).exists()
    assert (staging / "marketing").is_dir()  # computed, never published
    with pytest.raises(AuditError, match="never published"):
        verify_run(runs / run_id, ledger_path=out / "ledger.sqlite")
    with open_ledger(out / "ledger.sqlite", shop.loaded.policy) as ledger:
        assert ledger.reserved().epsilon == 0  # the dead process holds nothing
        assert sum(c.epsilon for c in ledger.charges_for_run(run_id)) == pytest.approx(
            RUN_EPSILON
        )  # its charges were made before its noise was drawn: they stand
    verify_chain(runs / "runlog.jsonl")
    release = run(shop, out, new_run_id())  # 10 - 4.5 leaves room for one more run
    assert verify_run(release.run_dir, ledger_path=out / "ledger.sqlite").event_types == (
        "START",
        "COMPLETE",
    )
