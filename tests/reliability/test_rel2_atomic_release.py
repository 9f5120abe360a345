"""Atomic releases and reserve-then-spend through the engine: a crash or signal at every stage
boundary publishes nothing, returns the unspent reservation, states what was charged, and
leaves the ledger and the run-log chain consistent; `audit verify` tells the truth."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from _rel2_support import RUN_EPSILON, Shop, make_shop, run

import privacy_profile.engine as engine
import privacy_profile.lineage.publish as publish_module
import privacy_profile.stages.release as release_stage
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.errors import AuditError, PrivacyProfileError
from privacy_profile.lineage.audit import verify_run
from privacy_profile.lineage.recorder import CHARGES_FACET_NAME, new_run_id, read_events
from privacy_profile.lineage.runlog import verify_chain

pytestmark = pytest.mark.slow  # about 15 engine runs on 1,000 generated users (3-7 s each)


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Shop:
    return make_shop(tmp_path_factory.mktemp("shop"))


def _raise(error: BaseException) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        raise error

    return boom


def _after(real: Callable[..., Any], error: BaseException) -> Callable[..., Any]:
    def boom(*args: Any, **kwargs: Any) -> Any:
        real(*args, **kwargs)
        raise error

    return boom


# (name, function of the engine or release-stage module to replace, how, charged?) at each
# stage boundary
CASES: list[tuple[str, str, str, bool]] = [
    ("before sanitize", "sanitize", "raise", False),
    ("after sanitize", "build_segments", "raise", False),
    ("after segment (charged)", "build_segments", "after", True),
    ("after marketing staged", "write_audiences", "raise", True),
    ("after quarantine staged", "write_quarantine", "after", True),
    ("before COMPLETE", "output_datasets", "raise", True),
]


def _state(shop: Shop, out: Path) -> tuple[float, float]:
    with open_ledger(out / "ledger.sqlite", shop.loaded.policy) as ledger:
        return ledger.spent().epsilon, ledger.reserved().epsilon


_ENOSPC = OSError(28, "No space left on device")
PARAMS = [(*case, KeyboardInterrupt()) for case in CASES] + [
    (*case, _ENOSPC) for case in CASES if case[0] in ("after segment (charged)", "before COMPLETE")
]


@pytest.mark.parametrize(("where", "target", "how", "charged", "error"), PARAMS)
def test_a_crash_at_a_stage_boundary_publishes_nothing(
    shop: Shop,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    where: str,
    target: str,
    how: str,
    charged: bool,
    error: BaseException,
) -> None:
    module = engine if hasattr(engine, target) else release_stage
    real = getattr(module, target)
    monkeypatch.setattr(module, target, _raise(error) if how == "raise" else _after(real, error))
    run_id = new_run_id()
    out = tmp_path / "out"
    with pytest.raises(type(error)):
        run(shop, out, run_id)
    runs = out / "runs"
    run_dir = runs / run_id
    # nothing published: the run folder holds the failure record alone, no staging is left
    assert sorted(p.name for p in runs.iterdir()) == [run_id, "runlog.jsonl"]
    assert [str(p.relative_to(run_dir)) for p in run_dir.rglob("*") if p.is_file()] == [
        "lineage/events.jsonl"
    ]
    events = read_events(run_dir / "lineage" / "events.jsonl")
    assert [e["eventType"] for e in events] == ["START", "FAIL"]
    facets = events[1]["run"]["facets"]
    # the reservation came back; the charges made stand and the FAIL event states them
    spent, reserved = _state(shop, out)
    assert reserved == 0
    assert spent == pytest.approx(RUN_EPSILON if charged else 0.0)
    account = facets[CHARGES_FACET_NAME]
    assert account["epsilon"] == pytest.approx(spent)
    assert len(account["dpMechanisms"]) == (30 if charged else 0)
    message = facets["errorMessage"]["message"]
    assert "nothing was released" in message
    if charged:
        assert f"the run charged epsilon {spent:g}" in message
        assert "Nothing was computed" not in message
    else:
        assert "the run charged nothing" in message
    # the chain is intact and the audit tells the truth about a failed run
    verify_chain(runs / "runlog.jsonl")
    report = verify_run(run_dir, ledger_path=out / "ledger.sqlite")
    assert report.event_types == ("START", "FAIL")
    assert report.ledger_charges_checked == (30 if charged else 0)
    assert report.outputs_checked == ()
    # the budget left is usable by the next run
    monkeypatch.undo()
    if not charged:
        assert run(shop, out, new_run_id()).epsilon_spent == pytest.approx(RUN_EPSILON)


def test_a_clean_run_is_published_whole_and_audits(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "out"
    release = run(shop, out, new_run_id())
    assert release.run_dir.is_dir()
    assert not list((out / "runs").glob(".staging-*"))
    assert all(p.is_file() and release.run_dir in p.parents for p in release.marketing_files)
    assert release.lineage_html is not None and release.lineage_html.is_file()
    report = verify_run(release.run_dir, ledger_path=out / "ledger.sqlite")
    assert report.event_types == ("START", "COMPLETE")
    assert len(report.outputs_checked) == len(release.marketing_files)
    assert _state(shop, out) == (pytest.approx(RUN_EPSILON), 0)
    # recorded paths and lineage dataset names are the published ones, never the staging folder
    complete = read_events(release.lineage_events)[-1]
    names = [o["name"] for o in complete["outputs"]]
    assert names and all(f"/{release.run_id}/" in n and ".staging-" not in n for n in names)
    records = [json.loads(x) for x in (out / "runs" / "runlog.jsonl").read_text().splitlines()]
    paths = [r["payload"]["path"] for r in records if r["kind"].endswith("output")]
    assert paths and all(p.startswith(release.run_id + "/") for p in paths)


def test_a_failure_to_render_the_documents_after_complete_still_publishes(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        publish_module, "render_lineage_doc", _raise(OSError(13, "Permission denied"))
    )
    out = tmp_path / "out"
    release = run(shop, out, new_run_id())
    assert release.lineage_html is None
    assert any("lineage doc" in n for n in release.notes)
    assert verify_run(release.run_dir, ledger_path=out / "ledger.sqlite").event_types == (
        "START",
        "COMPLETE",
    )


def test_a_signal_after_complete_finishes_the_publish(
    shop: Shop, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """COMPLETE is durable, so Ctrl-C after it publishes the run (one rename) and re-raises."""
    monkeypatch.setattr(publish_module, "render_lineage_doc", _raise(KeyboardInterrupt()))
    out = tmp_path / "out"
    run_id = new_run_id()
    with pytest.raises(KeyboardInterrupt):
        run(shop, out, run_id)
    run_dir = out / "runs" / run_id
    assert (run_dir / "marketing").is_dir()
    assert not list((out / "runs").glob(".staging-*"))
    assert verify_run(run_dir, ledger_path=out / "ledger.sqlite").event_types == (
        "START",
        "COMPLETE",
    )
    assert _state(shop, out) == (pytest.approx(RUN_EPSILON), 0)


def test_a_refused_run_charges_nothing_and_says_so(shop: Shop, tmp_path: Path) -> None:
    out = tmp_path / "out"
    for _ in range(2):
        run(shop, out, new_run_id())
    run_id = new_run_id()
    with pytest.raises(PrivacyProfileError, match="nothing was computed, charged or released"):
        run(shop, out, run_id)
    assert _state(shop, out) == (pytest.approx(2 * RUN_EPSILON), 0)
    events = read_events(out / "runs" / run_id / "lineage" / "events.jsonl")
    assert "the run charged nothing" in events[1]["run"]["facets"]["errorMessage"]["message"]
    verify_run(out / "runs" / run_id, ledger_path=out / "ledger.sqlite")


def test_audit_refuses_a_failed_run_whose_outputs_exist(shop: Shop, tmp_path: Path) -> None:
    """A marketing file next to a FAIL event is a partial release: the audit says so."""
    out = tmp_path / "out"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(engine, "output_datasets", _raise(KeyboardInterrupt()))
        run_id = new_run_id()
        with pytest.raises(KeyboardInterrupt):
            run(shop, out, run_id)
    records = [json.loads(x) for x in (out / "runs" / "runlog.jsonl").read_text().splitlines()]
    staged = next(r for r in records if r["kind"] == "output")["payload"]["path"]
    planted = out / "runs" / staged
    planted.parent.mkdir(parents=True)
    planted.write_text("segment,size\nA,120\n", encoding="utf-8")
    with pytest.raises(AuditError, match="FAILED but its output"):
        verify_run(out / "runs" / run_id, ledger_path=out / "ledger.sqlite")
