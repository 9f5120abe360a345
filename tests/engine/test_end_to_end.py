"""End to end on generated mini-program data: the sanitize-then-segment engine and its CLI."""

from __future__ import annotations

import datetime as dt
import json
import secrets
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from privacy_profile import (
    BudgetExceededError,
    PolicyError,
    Release,
    open_ledger,
    sanitize_then_segment,
    scanner_for,
)
from privacy_profile.cli import app
from privacy_profile.demo import DemoDataset, generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.recorder import read_events
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.segments import ReleaseId

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
runner = CliRunner()

pytestmark = pytest.mark.slow  # the engine on 4,000 generated users and the CLI's demo runs


@dataclass
class Run:
    root: Path
    data: DemoDataset
    loaded: LoadedPolicy
    release: Release


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("e2e")
    loaded = load_policy_file(POLICY)
    data = generate_demo_data(root, n_users=4000, seed=11, now=NOW, policy=loaded.policy)
    with open_ledger(root / "ledger.sqlite", loaded.policy) as ledger:
        release = sanitize_then_segment(
            data.input_dir,
            loaded,
            PURPOSE,
            KeyRing.development(loaded.policy),
            ledger,
            root,
            scanner=scanner_for(loaded.policy),
            rng=DPRandom.for_testing(5),
            now=NOW,
        )
    return Run(root, data, loaded, release)


def _output_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file() and "input" not in p.relative_to(root).parts]


def test_every_input_row_is_accounted_for(run: Run) -> None:
    report = run.release.ingest
    assert report.reconciles()
    for name, rows in run.data.rows.items():
        t = report.tables[name]
        assert t.input_rows == rows
        assert t.input_rows == t.accepted_rows + t.excluded_rows + t.quarantined_rows
    # the generator planted messy rows: each is quarantined with a reason
    for table in ("users", "events", "orders"):
        assert report.tables[table].quarantined_rows >= run.data.messy_rows(table) > 0


def test_outputs_and_lineage_exist(run: Run) -> None:
    r = run.release
    names = {p.name for p in r.marketing_files}
    assert {"segments.csv", "segments.json", "personas.csv", "personas.json"} <= names
    assert {"segments.parquet", "personas.parquet"} <= names
    segments = r.run_dir / "marketing" / "segments.csv"
    assert segments.read_bytes().startswith(b"\xef\xbb\xbf")  # a BOM: Excel reads UTF-8
    csv_frame = pd.read_csv(segments, encoding="utf-8-sig", dtype=str, keep_default_na=False)
    pq_frame = pd.read_parquet(r.run_dir / "marketing" / "segments.parquet")
    # development keys: the CSV's first column says so (the Parquet file, in its metadata)
    assert csv_frame.columns[0] == "development_keys" and set(csv_frame["development_keys"]) == {
        "true"
    }
    assert list(csv_frame.columns[1:]) == list(pq_frame.columns)
    assert len(csv_frame) == len(pq_frame)
    assert r.lineage_html.is_file() and r.lineage_markdown.is_file()
    events = read_events(r.lineage_events)
    assert [e["eventType"] for e in events] == ["START", "COMPLETE"]
    facet = events[-1]["run"]["facets"]["privacyProfile_privacy"]
    assert facet["keys"] and all(k["developmentKey"] for k in facet["keys"])
    assert facet["budget"]["spentEpsilon"] == pytest.approx(r.epsilon_spent)
    assert r.development_keys
    assert set(r.stage_seconds) == {"sanitize", "segment", "release", "lineage"}


def test_lineage_attributes_every_ledger_charge_to_its_exact_release(run: Run) -> None:
    facet = read_events(run.release.lineage_events)[-1]["run"]["facets"]["privacyProfile_privacy"]
    with open_ledger(run.root / "ledger.sqlite", run.loaded.policy) as ledger:
        charges = ledger.charges_for_run(run.release.run_id)
    recorded = [(m["label"], m["release"], m["epsilon"]) for m in facet["dpMechanisms"]]

    def release_of(label: str) -> str:  # analytics charges are analytics/<analysis>/<part>
        if label.startswith("analytics/"):
            return "/".join(label.split("/")[:2])
        return str(ReleaseId.of_label(label))

    assert sorted(recorded) == sorted((c.label, release_of(c.label), c.epsilon) for c in charges)
    spent: dict[str, float] = {}
    for _, release, eps in recorded:
        spent[release] = spent.get(release, 0.0) + eps
    declared = run.loaded.policy.segmentation.releases()  # type: ignore[union-attr]
    analyses = run.loaded.policy.analytics.releases()  # type: ignore[union-attr]
    assert spent == pytest.approx(
        {str(k): v for k, v in declared.items()}
        | {f"analytics/{k}": v for k, v in analyses.items()}
    )
    assert "rule:big_spenders_east" in spent  # a rule's charges name the rule, not "rule"
    sizes = {r["release"] for r in facet["dpReleases"]}
    assert "rule:big_spenders_east" in sizes and "rule" not in sizes


def test_segments_are_labelled_bilingually_and_carry_intervals(run: Run) -> None:
    seg = run.release.segments
    rfm = seg[seg["family"] == "rfm"]
    assert "重要价值客户 / important value" in set(rfm["label"])
    released = rfm[~rfm["suppressed"]]
    assert (released["size_ci_low"] <= released["dp_size"]).all()
    assert (released["dp_size"] <= released["size_ci_high"]).all()


def _text_of(path: Path) -> str:
    """A file's text; a Parquet file's cells as CSV text (its bytes are compressed)."""
    if path.suffix == ".parquet":
        text: str = pd.read_parquet(path).to_csv(index=False)
        return text
    return path.read_bytes().decode("utf-8", errors="ignore")


def test_no_input_identifier_leaves_the_input_folder(run: Run) -> None:
    planted = run.data.planted
    wanted = {"users.openid", "users.unionid", "users.phone", "users.resident_id", "users.nickname"}
    assert wanted <= set(planted.columns)
    values = set()
    for col in wanted:
        values |= {v for v in planted.columns[col] if len(v) >= 2}
    for ent in ("CN_MOBILE", "CN_RESIDENT_ID", "EMAIL_ADDRESS", "BANK_CARD"):
        values |= set(planted.free_text.get(ent, ()))
    files = _output_files(run.root)
    assert len(files) > 10
    for path in files:
        text = _text_of(path)
        hits = [v for v in values if v in text]
        assert not hits, f"{path.relative_to(run.root)} holds {len(hits)} input identifier(s)"


def test_marketing_outputs_hold_no_pseudonym(run: Run) -> None:
    quarantine = run.release.run_dir / "quarantine" / "events.csv"
    pseudonyms = set(pd.read_csv(quarantine, dtype=str)["openid"].dropna())
    assert pseudonyms
    for path in run.release.marketing_files:
        text = _text_of(path)
        assert not any(p in text for p in pseudonyms), path.name


def test_audit_verify_passes_then_fails_on_tampering(run: Run, tmp_path: Path) -> None:
    run_dir = str(run.release.run_dir)
    ledger = str(run.root / "ledger.sqlite")
    ok = runner.invoke(app, ["audit", "verify", run_dir, "--ledger", ledger, "--no-pii-scan"])
    assert ok.exit_code == 0, ok.stderr
    assert "OK" in ok.stdout and "charge(s) match the lineage" in ok.stdout
    target = next(p for p in run.release.marketing_files if p.name == "segments.csv")
    original = target.read_bytes()
    try:
        target.write_bytes(original.replace(b"important value", b"important valve"))
        bad = runner.invoke(app, ["audit", "verify", run_dir, "--ledger", ledger])
        assert bad.exit_code == 1
        assert "segments.csv" in bad.stderr and "SHA-256" in bad.stderr
    finally:
        target.write_bytes(original)


def test_analytics_and_the_marketer_report_are_released(run: Run) -> None:
    r = run.release
    names = {p.name for p in r.analytics_files}
    assert {"funnel.csv", "ab_arms.csv", "retention.csv", "kpi.csv", "analytics.json"} <= names
    assert r.report is not None and r.report.name == "report.html"
    page = r.report.read_text(encoding="utf-8")
    assert "漏斗 / Funnel" in page and "留存 / Retention" in page and "coupon10" in page
    quarantine = r.run_dir / "quarantine" / "events.csv"
    pseudonyms = set(pd.read_csv(quarantine, dtype=str)["openid"].dropna())
    for path in (*r.analytics_files, r.report):
        text = path.read_text(encoding="utf-8")
        assert not any(p in text for p in pseudonyms), path.name
    with open_ledger(run.root / "ledger.sqlite", run.loaded.policy) as ledger:
        labels = {c.label for c in ledger.charges_for_run(r.run_id)}
    assert any(label.startswith("analytics/ab/coupon2611/") for label in labels)


def test_lineage_doc_command_renders_from_events(run: Run, tmp_path: Path) -> None:
    result = runner.invoke(app, ["lineage", "doc", str(run.release.lineage_events), str(tmp_path)])
    assert result.exit_code == 0, result.stderr
    html = (tmp_path / "lineage.html").read_text(encoding="utf-8")
    assert run.release.run_id in html
    assert "PIPIA-2026-014" in html


def test_budget_is_charged_per_run_and_refused_when_spent(run: Run, tmp_path: Path) -> None:
    """The policy allows 10 epsilon per 30 days and one run spends 4.9 (segments 4.5,
    analytics 0.4): the third is refused, before anything is computed, and its lineage ends
    in FAIL."""
    loaded = run.loaded
    ledger_path = tmp_path / "ledger.sqlite"
    keys = KeyRing.development(loaded.policy)
    with open_ledger(ledger_path, loaded.policy) as ledger:
        for _ in range(2):
            r = sanitize_then_segment(
                run.data.input_dir, loaded, PURPOSE, keys, ledger, tmp_path, now=NOW
            )
            assert r.epsilon_spent == pytest.approx(4.9)
        before = ledger.spent().epsilon
        with pytest.raises(BudgetExceededError, match="nothing was computed"):
            sanitize_then_segment(
                run.data.input_dir, loaded, PURPOSE, keys, ledger, tmp_path, now=NOW
            )
        assert ledger.spent().epsilon == pytest.approx(before)
    runs = sorted((tmp_path / "runs").glob("*/lineage/events.jsonl"))
    assert len(runs) == 3
    failed = [p for p in runs if read_events(p)[-1]["eventType"] == "FAIL"]
    assert len(failed) == 1
    assert not (failed[0].parents[1] / "marketing").exists()
    status = runner.invoke(
        app, ["budget", "show", "--policy", str(POLICY), "--ledger", str(ledger_path)]
    )
    assert status.exit_code == 0
    assert "left: epsilon 0.2" in status.stdout


def test_wrong_ledger_dataset_is_refused(run: Run, tmp_path: Path) -> None:
    from privacy_profile.dp import BudgetLedger, BudgetWindow, PrivacyLoss

    other = BudgetLedger.in_memory(
        dataset="another-dataset",
        budget=PrivacyLoss(epsilon=10, delta=1e-5),
        window=BudgetWindow.lifetime(),
    )
    with pytest.raises(PolicyError, match="budget_dataset"):
        sanitize_then_segment(
            run.data.input_dir, run.loaded, PURPOSE, KeyRing.development(run.loaded.policy),
            other, tmp_path, now=NOW,
        )  # fmt: skip


def test_cli_run_with_keys_from_the_environment(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = {name: secrets.token_hex(32) for name in ("MARKETING", "REPORTING", "CUSTODIAN")}
    for name, key in keys.items():
        monkeypatch.setenv(f"PRIVACY_PROFILE_KEY_{name}", key)
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE]
    args += ["--input", str(run.data.input_dir), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "--ledger", str(tmp_path / "ledger.sqlite")])
    assert result.exit_code == 0, result.stderr
    assert "epsilon spent (this run)" in result.stdout
    assert "DEVELOPMENT" not in result.stdout
    for key in keys.values():  # keys are never printed
        assert key not in result.stdout + result.stderr


def test_cli_run_without_keys_is_a_clear_error(run: Run, tmp_path: Path) -> None:
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE]
    args += ["--input", str(run.data.input_dir), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, [*args, "--ledger", str(tmp_path / "ledger.sqlite")])
    assert result.exit_code == 1
    assert "PRIVACY_PROFILE_KEY_" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out").exists()


def test_cli_run_requires_a_ledger(run: Run, tmp_path: Path) -> None:
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    args += ["--input", str(run.data.input_dir), "--out", str(tmp_path / "out")]
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "--ledger" in result.stderr


def test_cli_sanitize_writes_parquet(run: Run, tmp_path: Path) -> None:
    args = ["sanitize", "--policy", str(POLICY), "--purpose", PURPOSE, "--dev-keys"]
    args += ["--input", str(run.data.input_dir), "--out", str(tmp_path / "clean")]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert "development keys" in result.stderr.lower()
    users = pd.read_parquet(tmp_path / "clean" / "users.parquet")
    assert "phone" not in users.columns and "resident_id" not in users.columns
    report = json.loads((tmp_path / "clean" / "ingest_report.json").read_text(encoding="utf-8"))
    assert report["tables"]["users"]["reconciles"] is True


def test_cli_sanitize_unknown_purpose(run: Run, tmp_path: Path) -> None:
    args = ["sanitize", "--policy", str(POLICY), "--purpose", "marketing.communications.sms"]
    args += ["--dev-keys", "--input", str(run.data.input_dir), "--out", str(tmp_path / "x")]
    result = runner.invoke(app, args)
    assert result.exit_code == 1
    assert "not declared" in result.stderr
    assert not (tmp_path / "x").exists()


def test_cli_demo_runs_and_refuses_a_foreign_folder(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = runner.invoke(app, ["demo", "--out", str(out), "--users", "1500"])
    assert result.exit_code == 0, result.stderr
    assert "lineage.html" in result.stdout
    again = runner.invoke(app, ["demo", "--out", str(out), "--users", "1500"])
    assert again.exit_code == 0, again.stderr  # a previous demo folder is replaced
    foreign = tmp_path / "mine"
    foreign.mkdir()
    (foreign / "keep.txt").write_text("precious", encoding="utf-8")
    refused = runner.invoke(app, ["demo", "--out", str(foreign)])
    assert refused.exit_code == 1
    assert "refusing to touch it" in refused.stderr
    assert (foreign / "keep.txt").read_text(encoding="utf-8") == "precious"


def test_cli_lineage_doc_on_a_missing_or_altered_event_file(tmp_path: Path) -> None:
    out = tmp_path / "doc"
    missing = runner.invoke(app, ["lineage", "doc", str(tmp_path / "events.jsonl"), str(out)])
    assert missing.exit_code == 1
    assert "does not exist" in missing.stderr and "Traceback" not in missing.stderr
    bad = tmp_path / "events.jsonl"
    bad.write_text('{"eventType": "START"}\nnot json\n', encoding="utf-8")
    altered = runner.invoke(app, ["lineage", "doc", str(bad), str(out)])
    assert altered.exit_code == 1
    assert f"{bad}:2: not a JSON object" in altered.stderr
    assert not out.exists()  # nothing half-written


def test_cli_budget_show_and_audit_verify_on_missing_files(tmp_path: Path) -> None:
    ledger = tmp_path / "none.sqlite"
    shown = runner.invoke(app, ["budget", "show", "--policy", str(POLICY), "--ledger", str(ledger)])
    assert shown.exit_code == 1
    assert "no budget ledger" in shown.stderr
    assert not ledger.exists()  # a typo in --ledger never creates an empty ledger
    audit = runner.invoke(app, ["audit", "verify", str(tmp_path / "runs" / "x"), "--no-pii-scan"])
    assert audit.exit_code == 1
    assert "does not exist" in audit.stderr and "Traceback" not in audit.stderr


# --------------------------------------------------------------------------- lineage (issue 19)


def _complete(run: Run) -> dict[str, object]:
    events = read_events(run.release.lineage_events)
    return next(e for e in events if e["eventType"] == "COMPLETE")


def _sources(output: dict[str, object], field: str) -> set[str]:
    """``file.column:SUBTYPE`` of every input field of one output column."""
    facets = output["facets"]
    assert isinstance(facets, dict)
    fields = facets["columnLineage"]["fields"]
    return {
        f"{Path(i['name']).name}.{i['field']}:{t['subtype']}"
        for i in fields[field]["inputFields"]
        for t in i["transformations"]
    }


def test_datasets_are_named_per_the_openlineage_spec(run: Run) -> None:
    event = _complete(run)
    inputs = {i["name"]: i for i in event["inputs"]}  # type: ignore[union-attr]
    for path in sorted(run.data.input_dir.iterdir()):
        if path.name == "campaign_costs.csv":  # the public cost table: not a personal-data input
            continue
        assert str(path.resolve()) in inputs, path.name
    outputs = event["outputs"]
    assert isinstance(outputs, list)
    assert all(d["namespace"] == "file" for d in [*event["inputs"], *outputs])  # type: ignore[misc]
    assert all(str(d["name"]).startswith("/") for d in outputs)


def test_every_released_file_is_an_output_with_statistics(run: Run) -> None:
    outputs = {Path(o["name"]): o for o in _complete(run)["outputs"]}  # type: ignore[union-attr]
    released = [*run.release.marketing_files, *run.release.activation_files]
    assert run.release.activation_files, "the demo purpose allows activation"
    assert {p.resolve() for p in released} == set(outputs)
    for path in released:
        stats = outputs[path.resolve()]["outputFacets"]["outputStatistics"]
        assert stats["size"] == path.stat().st_size
        if path.suffix == ".csv":
            lines = path.read_text(encoding="utf-8-sig").splitlines()
            assert stats["rowCount"] == len(lines) - 1, path.name


def test_column_lineage_matches_the_hand_checked_table(run: Run) -> None:
    """The demo policy's column lineage, checked by hand against docs/lineage.md: which input
    columns each released column derives from, and how."""
    outputs = {Path(o["name"]).name: o for o in _complete(run)["outputs"]}  # type: ignore[union-attr]
    unit = "users.csv.openid:AGGREGATION"
    rfm_inputs = {
        "orders.csv.ordered_at:GROUP_BY",
        "orders.csv.order_id:GROUP_BY",
        "orders.csv.amount:GROUP_BY",
        "orders.csv.status:GROUP_BY",
    }
    lifecycle_inputs = {
        "users.csv.registered_at:GROUP_BY",
        "orders.csv.ordered_at:GROUP_BY",
        "events.csv.ts:GROUP_BY",
    }
    rule_inputs = {"users.csv.city:GROUP_BY"}  # province (city generalized) in the rule
    tree_inputs = {"users.csv.birthdate:GROUP_BY", "users.csv.gender:GROUP_BY"}
    segments = outputs["segments.csv"]  # rfm, kmeans (on RFM features), lifecycle, rule rows
    every_family = rfm_inputs | lifecycle_inputs | rule_inputs
    assert _sources(segments, "dp_size") == {unit} | every_family
    assert (
        _sources(segments, "mean_monetary")
        == {
            unit,
            "orders.csv.amount:AGGREGATION",
            "orders.csv.status:AGGREGATION",
        }
        | every_family
    )
    assert _sources(segments, "segment") == every_family
    # personas: the dimensions' inputs decide the value; rfm and lifecycle rows only
    personas = outputs["personas.csv"]
    assert (
        _sources(personas, "value")
        == {
            "users.csv.birthdate:GROUP_BY",
            "users.csv.gender:GROUP_BY",
            "users.csv.city:GROUP_BY",
            "users.csv.channel:GROUP_BY",
            "orders.csv.amount:GROUP_BY",
            "orders.csv.status:GROUP_BY",
            "events.csv.category:GROUP_BY",
            "orders.csv.category:GROUP_BY",
        }
        | rfm_inputs
        | lifecycle_inputs
    )
    assert _sources(personas, "dp_count") == {unit} | rfm_inputs | lifecycle_inputs
    # recommendations come from the events table's categories (and the orders')
    recs = outputs["recommendations.csv"]
    assert {"events.csv.category:GROUP_BY", "orders.csv.category:GROUP_BY"} <= _sources(
        recs, "category"
    )
    assert _sources(outputs["tree_rules.csv"], "conditions") == tree_inputs
    # an audience is the unit's tokens, filtered by the segment's features
    audience = next(n for n in outputs if n.startswith("audience_rfm"))
    assert _sources(outputs[audience], "token") == {"users.csv.openid:TRANSFORMATION"} | {
        s.replace("GROUP_BY", "FILTER") for s in rfm_inputs
    }
    # policy constants have no input column; nothing claims a raw identifier column
    assert "epsilon" not in outputs["segments.csv"]["facets"]["columnLineage"]["fields"]
    for o in outputs.values():
        for field in o["facets"].get("columnLineage", {}).get("fields", {}).values():
            assert not any(i["field"] in ("phone", "nickname") for i in field["inputFields"])


def _cli_run_env(run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    import os

    for k in list(os.environ):
        if k.startswith("OPENLINEAGE"):
            monkeypatch.delenv(k)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.openlineage/openlineage.yml
    monkeypatch.chdir(tmp_path)
    for name in ("MARKETING", "REPORTING", "CUSTODIAN"):
        monkeypatch.setenv(f"PRIVACY_PROFILE_KEY_{name}", secrets.token_hex(32))
    args = ["run", "--policy", str(POLICY), "--purpose", PURPOSE]
    args += ["--input", str(run.data.input_dir), "--out", str(tmp_path / "out")]
    return [*args, "--ledger", str(tmp_path / "ledger.sqlite")]


def test_cli_run_delivers_lineage_to_an_openlineage_endpoint(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from _support.ol_receiver import Receiver

    args = _cli_run_env(run, tmp_path, monkeypatch)
    with Receiver() as rx:
        monkeypatch.setenv("OPENLINEAGE_URL", rx.url)
        result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    assert rx.invalid == []  # every event validated against the schemas on arrival
    assert [e["eventType"] for e in rx.events] == ["START", "COMPLETE"]
    events_file = next((tmp_path / "out" / "runs").glob("*/lineage/events.jsonl"))
    assert rx.events == read_events(events_file)
    assert "2 event(s) delivered" in result.stdout


def test_cli_run_completes_when_the_lineage_endpoint_is_down(
    run: Run, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    args = _cli_run_env(run, tmp_path, monkeypatch)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__TYPE", "http")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__URL", f"http://127.0.0.1:{port}")
    monkeypatch.setenv("OPENLINEAGE__TRANSPORT__RETRY", '{"total": 0}')
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.stderr
    note = next(line for line in result.stdout.splitlines() if "OpenLineage" in line)
    assert "0 of 2 event(s) delivered" in note and "events.jsonl is the record" in note
    assert list((tmp_path / "out" / "runs").glob("*/marketing/segments.csv"))
