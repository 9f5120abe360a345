"""Release guard, run-log tampering and audit verify."""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from _lineage_helpers import (
    PLANTED_AMOUNT,
    PLANTED_NICKNAME,
    PLANTED_OPENID,
    PLANTED_PHONE,
    Run,
    facet_for_run,
    users_frame,
    users_index,
    write_ledger,
)

from privacy_profile.errors import AuditError, LeakDetectedError
from privacy_profile.lineage import (
    DpMechanismRecord,
    ReleaseGuard,
    looks_like_token,
    verify_chain,
    verify_run,
)


@dataclass(frozen=True)
class _Finding:
    entity_type: str


def fake_scanner(texts: list[str]) -> list[list[_Finding]]:
    """Flags e-mail addresses only: enough to prove the guard consults the scanner."""
    return [[_Finding("EMAIL_ADDRESS")] if "@" in t else [] for t in texts]


def _guard() -> ReleaseGuard:
    return ReleaseGuard.for_run(
        users_index(users_frame()),
        pseudonyms=["k3v9q2m8x7w4z1b6"],
        scanner=fake_scanner,
    )


def _clean() -> pd.DataFrame:
    return pd.DataFrame(
        {"segment": ["Champions", "At risk", "RFM_Champions_2026Q1_highValue"], "users": [1, 2, 3]}
    )


@pytest.mark.parametrize(
    ("cell", "kind"),
    [
        (PLANTED_PHONE, "raw identifier value of the input (keyed-hash match): phone"),
        ("call 139-1234-5678 now", "raw identifier value of the input (keyed-hash match): phone"),
        (f"VIP {PLANTED_NICKNAME}的订单", "(keyed-hash match): name"),
        (PLANTED_OPENID.upper(), "(keyed-hash match): openid"),
        ("k3v9q2m8x7w4z1b6", "pseudonym of this run"),
        ("9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", "token-shaped"),
        ("3f2a1c9e-8b7d-4e6f-a5c4-b3d2e1f0a9b8", "token-shaped"),
        ("u_Zx8K2mQ9vR4tY7pL1nB6cW3", "token-shaped"),
        ("MZXW6YTBOI2DEMRTGQ3TOOBZGA", "token-shaped"),
        ("someone@example.com", "PII finding: EMAIL_ADDRESS"),
    ],
)
def test_guard_trips_and_writes_nothing(tmp_path: Path, cell: str, kind: str) -> None:
    frame = _clean()
    frame.loc[1, "segment"] = cell
    out = tmp_path / "out"
    with pytest.raises(LeakDetectedError) as err:
        _guard().release({"ok.json": {"a": 1}, "segments.csv": frame}, out)
    message = str(err.value)
    assert "output 'segments.csv', column 'segment', row 1" in message
    assert kind in message
    assert cell not in message and PLANTED_PHONE not in message
    assert not out.exists() or not any(out.iterdir())


def test_guard_checks_json_leaves_and_keys(tmp_path: Path) -> None:
    with pytest.raises(LeakDetectedError, match=r"column '\$\.groups\[1\]\.label'"):
        _guard().check({"s.json": {"groups": [{"label": "ok"}, {"label": PLANTED_PHONE}]}})
    with pytest.raises(LeakDetectedError, match=r"column '\$\.<key>'"):
        _guard().check({"s.json": {PLANTED_OPENID: 1}})


def test_guard_passes_clean_outputs_and_records_hashes(run: Run, tmp_path: Path) -> None:
    written = _guard().release(
        {"segments.csv": _clean(), "summary.json": {"groups": 3}},
        tmp_path / "o",
        run_log=run.log,
        run_id=run.run_id,
    )
    assert sorted(p.name for p in written) == ["segments.csv", "summary.json"]
    assert pd.read_csv(tmp_path / "o" / "segments.csv")["users"].tolist() == [1, 2, 3]
    recorded = [r for r in verify_chain(run.log.path) if r.kind == "output"]
    assert {r.payload["name"] for r in recorded} >= {"segments.csv", "summary.json"}


def test_guard_refusal_is_logged_without_values(run: Run, tmp_path: Path) -> None:
    frame = _clean()
    frame.loc[0, "segment"] = PLANTED_PHONE
    with pytest.raises(LeakDetectedError):
        _guard().release({"s.csv": frame}, tmp_path / "o", run_log=run.log, run_id=run.run_id)
    last = verify_chain(run.log.path)[-1]
    assert last.kind == "release_refused"
    assert last.payload["leaks"][0]["column"] == "segment"
    assert PLANTED_PHONE not in run.log.path.read_text()


def test_token_shapes_do_not_flag_labels_and_numbers() -> None:
    for text in ["RFM_Champions_2026Q1_highValue", "marketing.advertising.profiling", "1184.0"]:
        assert not looks_like_token(text), text


# --------------------------------------------------------------------------- audit


def test_clean_run_verifies(run: Run) -> None:
    report = verify_run(run.run_dir, ledger_path=run.ledger, scanner=fake_scanner)
    assert report.run_id == run.run_id
    assert report.event_types == ("START", "COMPLETE")
    assert report.ledger_charges_checked == 2
    assert len(report.outputs_checked) == 1
    assert "OK" in report.summary()


def _rewrite(path: Path, fn: object) -> None:
    lines = path.read_text().splitlines()
    lines = fn(lines)  # type: ignore[operator]
    path.write_text("\n".join(lines) + "\n")


def test_edited_record_is_caught(run: Run) -> None:
    def edit(lines: list[str]) -> list[str]:
        rec = json.loads(lines[1])
        rec["payload"]["bytes"] = 1
        lines[1] = json.dumps(rec)
        return lines

    _rewrite(run.log.path, edit)
    with pytest.raises(AuditError, match=r"runlog.jsonl:2 \(seq 1\): hash mismatch"):
        verify_run(run.run_dir, ledger_path=run.ledger)


def test_deleted_record_is_caught(run: Run) -> None:
    _rewrite(run.log.path, lambda lines: lines[:1] + lines[2:])
    with pytest.raises(AuditError, match=r"runlog.jsonl:2: seq is 2, expected 1"):
        verify_run(run.run_dir, ledger_path=run.ledger)


def test_reordered_records_are_caught(run: Run) -> None:
    _rewrite(run.log.path, lambda lines: [lines[1], lines[0], *lines[2:]])
    with pytest.raises(AuditError, match=r"runlog.jsonl:1: seq is 1, expected 0"):
        verify_run(run.run_dir, ledger_path=run.ledger)


def test_edited_event_is_caught(run: Run) -> None:
    _rewrite(
        run.events, lambda lines: [lines[0], lines[1].replace('"epsilon": 1.0', '"epsilon": 0.1')]
    )
    with pytest.raises(AuditError, match=r"events.jsonl:2 \(COMPLETE\): SHA-256 differs"):
        verify_run(run.run_dir, ledger_path=run.ledger)


def test_output_tamper_is_caught(run: Run) -> None:
    target = run.out_dir / "segments.csv"
    target.write_text(target.read_text().replace("1184", "1185"))
    with pytest.raises(
        AuditError, match=r"output 'segments.csv' .*SHA-256 sha256:[0-9a-f]{64} differs"
    ):
        verify_run(run.run_dir, ledger_path=run.ledger)
    target.unlink()
    with pytest.raises(
        AuditError, match=r"output 'segments.csv' recorded in run log seq \d+ is missing"
    ):
        verify_run(run.run_dir, ledger_path=run.ledger)


def test_ledger_mismatch_is_caught(run: Run, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite"
    sizes, revenue = facet_for_run().dp_mechanisms
    # the ledger charged twice the epsilon the lineage records for the segment sizes
    write_ledger(
        other, run.run_id, [dataclasses.replace(sizes, epsilon=2.0, noise_scale=1.5), revenue]
    )
    with pytest.raises(
        AuditError,
        match=r"ledger mismatch: the lineage records label 'segment_sizes:count' \(laplace, "
        r"epsilon=1, .*\) but the ledger charged label 'segment_sizes:count' \(laplace, epsilon=2",
    ):
        verify_run(run.run_dir, ledger_path=other)
    extra = tmp_path / "extra.sqlite"
    write_ledger(
        extra,
        run.run_id,
        [
            *facet_for_run().dp_mechanisms,
            DpMechanismRecord(
                release="x",
                label="hidden:count",
                mechanism="laplace",
                epsilon=0.25,
                delta=0.0,
                sensitivity=1.0,
                noise_scale=4.0,
            ),
        ],
    )
    with pytest.raises(
        AuditError,
        match=r"the ledger charged label 'hidden:count' .* which the lineage does not record",
    ):
        verify_run(run.run_dir, ledger_path=extra)
    with pytest.raises(AuditError, match=r"records 2 DP mechanism\(s\) but no ledger was given"):
        verify_run(run.run_dir)


def test_planted_pii_in_a_recorded_output_is_caught_by_rescan(run: Run) -> None:
    # an output recorded without passing the guard (hash matches, content leaks)
    bad = run.out_dir / "extra.csv"
    pd.DataFrame({"note": ["write to someone@example.com"]}).to_csv(bad, index=False)
    run.log.record_output(run.run_id, bad)
    with pytest.raises(
        AuditError,
        match=r"re-scan of the outputs: 1 leak\(s\) found:\n  output 'extra.csv', "
        r"column 'note', row 0: PII finding: EMAIL_ADDRESS",
    ):
        verify_run(run.run_dir, ledger_path=run.ledger, scanner=fake_scanner)


def test_no_data_value_in_events_log_or_outputs(run: Run) -> None:
    texts = [run.events.read_text(), run.log.path.read_text()]
    texts += [p.read_text() for p in run.out_dir.iterdir()]
    for planted in (PLANTED_OPENID, PLANTED_PHONE, PLANTED_NICKNAME, PLANTED_AMOUNT):
        for text in texts:
            assert planted not in text


def test_recorder_refuses_an_identifier_in_event_metadata(tmp_path: Path) -> None:
    from _lineage_helpers import inputs

    from privacy_profile.lineage import DatasetInfo, LineageRecorder, new_run_id

    rec = LineageRecorder(tmp_path, job_namespace="ns", job_name="job", checker=_guard())
    bad = DatasetInfo(namespace="file:///x", name=f"users_{PLANTED_PHONE}.csv")
    with pytest.raises(LeakDetectedError, match="lineage event START refused"):
        rec.start(new_run_id(), [*inputs(), bad])
    assert not rec.events_path.exists()


def test_check_identifiers_locates_rows_in_large_evidence_tables() -> None:
    """Quarantine evidence and audiences: raw identifiers only, located per row and column
    (pseudonyms and tokens are their content by design)."""
    n = 5000
    frame = pd.DataFrame(
        {
            "_row": range(n),
            "openid": ["a3f1" * 16] * n,  # a pseudonym: not flagged here
            "amount": [float("nan")] * n,
            "note": [""] * n,
        }
    )
    frame.loc[17, "note"] = f"备注 {PLANTED_NICKNAME}"
    frame.loc[4242, "amount"] = float(PLANTED_PHONE)
    frame[PLANTED_OPENID.upper()] = 1
    with pytest.raises(LeakDetectedError) as err:
        _guard().check_identifiers({"orders.csv": frame}, what="quarantine evidence")
    message = err.value.message
    assert message.startswith("quarantine evidence refused: 3 leaks found")
    raw = "raw identifier value of the input (keyed-hash match)"
    assert f"output 'orders.csv', column '<header>': {raw}: openid" in message
    assert f"output 'orders.csv', column 'note', row 17: {raw}: name" in message
    assert f"output 'orders.csv', column 'amount', row 4242: {raw}: phone" in message
    assert PLANTED_PHONE not in message and PLANTED_NICKNAME not in message
    _guard().check_identifiers({"orders.csv": frame.iloc[:, :2]}, what="quarantine evidence")
