"""The demo policy with RFM, lifecycle, rule segments and the funnel under zCDP, end to end:
their charges are rho (discrete Gaussian noise), lineage records the same rho per charge as the
ledger, the reservation covers the conversion, and the reports show rho."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from privacy_profile import Release, open_ledger, sanitize_then_segment, scanner_for
from privacy_profile.cli import app
from privacy_profile.demo import generate_demo_data
from privacy_profile.dp import DPRandom
from privacy_profile.dp.ledger import Charge
from privacy_profile.dp.policy_ledger import run_loss, run_rho
from privacy_profile.dp.zcdp import zcdp_epsilon
from privacy_profile.ingest import KeyRing
from privacy_profile.lineage.recorder import read_events
from privacy_profile.policy import LoadedPolicy, load_policy_file
from privacy_profile.segments import ReleaseId

ROOT = Path(__file__).resolve().parents[2]
POLICY = ROOT / "policies" / "wechat_shop.yaml"
PURPOSE = "marketing.advertising.profiling"
NOW = dt.datetime(2026, 11, 30, 12, tzinfo=dt.timezone(dt.timedelta(hours=8)))
ZCDP = ("rfm", "lifecycle", "rule", "funnel")

pytestmark = pytest.mark.slow  # the engine on 4,000 generated users


@dataclass
class Run:
    root: Path
    loaded: LoadedPolicy
    release: Release
    charges: list[Charge]
    spent_epsilon: float
    spent_delta: float


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Run:
    root = tmp_path_factory.mktemp("zcdp")
    text = POLICY.read_text(encoding="utf-8")
    anchor = "  budget_dataset: wechat-shop-users\n"
    accounting = ", ".join(f"{f}: zcdp" for f in ZCDP)
    policy = root / "policy.yaml"
    policy.write_text(text.replace(anchor, anchor + f"  accounting: {{{accounting}}}\n"))
    loaded = load_policy_file(policy)
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
        charges = ledger.charges_for_run(release.run_id)
        spent = ledger.spent()
    return Run(root, loaded, release, charges, spent.epsilon, spent.delta)


def _family(label: str) -> str:
    if label.startswith("analytics/"):
        return label.split("/")[1]
    return ReleaseId.of_label(label).family.value


def test_zcdp_families_charge_rho_and_draw_discrete_gaussian_noise(run: Run) -> None:
    by_family: dict[str, list[Charge]] = {}
    for c in run.charges:
        by_family.setdefault(_family(c.label), []).append(c)
    assert set(ZCDP) <= set(by_family)
    for fam, charges in by_family.items():
        if fam in ZCDP:
            assert all(c.rho > 0 and c.epsilon == 0 and c.delta == 0 for c in charges), fam
            assert {c.mechanism for c in charges} <= {
                "discrete_gaussian",
                "discrete_gaussian_grid",
                "exponential",  # RFM's split quantiles, charged rho_q = eps_q^2 / 2
            }
        else:
            assert all(c.rho == 0 and c.epsilon > 0 for c in charges), fam
    spec = run.loaded.policy.segmentation
    assert spec is not None
    # every zCDP release is charged exactly epsilon^2 / 2 of its declared epsilon
    assert sum(c.rho for c in run.charges) == pytest.approx(run_rho(run.loaded.policy, spec))
    assert sum(c.rho for c in by_family["rfm"]) == pytest.approx(spec.rfm.epsilon**2 / 2)  # type: ignore[union-attr]
    # the window's spend: the pure charges plus the conversion of the rho with the delta left
    pure_eps = sum(c.epsilon for c in run.charges)
    pure_delta = sum(c.delta for c in run.charges)
    assert pure_eps == pytest.approx(run_loss(run.loaded.policy, spec).epsilon)
    budget_delta = run.loaded.policy.privacy.delta_budget
    conv = zcdp_epsilon(sum(c.rho for c in run.charges), budget_delta - pure_delta)
    assert run.spent_epsilon == pytest.approx(pure_eps + conv, abs=1e-8)
    assert run.spent_delta == pytest.approx(budget_delta)
    assert run.release.epsilon_spent == pytest.approx(run.spent_epsilon, abs=1e-8)


def test_lineage_records_the_ledgers_rho_per_charge(run: Run) -> None:
    events = read_events(run.release.lineage_events)
    complete = next(e for e in events if e["eventType"] == "COMPLETE")
    facet = complete["run"]["facets"]["privacyProfile_privacy"]
    assert "/1-1-0/" in facet["_schemaURL"]
    lineage = {m["label"]: m for m in facet["dpMechanisms"]}
    assert set(lineage) == {c.label for c in run.charges}
    for c in run.charges:
        m = lineage[c.label]
        assert m["rho"] == pytest.approx(c.rho) and m["epsilon"] == pytest.approx(c.epsilon)
        assert m["mechanism"] == c.mechanism
    count = lineage["rfm/classes/privacy_id_count"]
    assert count["mechanism"] == "discrete_gaussian"
    assert count["noiseScale"] == pytest.approx(1.0 / (2 * count["rho"]) ** 0.5)
    assert run.release.lineage_markdown is not None
    doc = run.release.lineage_markdown.read_text(encoding="utf-8")
    assert "| rho |" in doc and "discrete_gaussian" in doc
    report = (run.release.run_dir / "report" / "report.html").read_text(encoding="utf-8")
    assert "zCDP: ρ" in report


def test_the_funnel_under_zcdp_has_gaussian_noise_sd(run: Run) -> None:
    funnel = next(c for c in run.charges if c.label.startswith("analytics/funnel/"))
    assert funnel.rho == pytest.approx(0.1**2 / 2)
    table = next(p for p in (run.release.run_dir / "analytics").iterdir() if "funnel" in p.name)
    assert table.stat().st_size > 0


def test_audit_verify_passes(run: Run) -> None:
    res = CliRunner().invoke(
        app,
        [
            "audit",
            "verify",
            str(run.release.run_dir),
            "--ledger",
            str(run.root / "ledger.sqlite"),
            "--no-pii-scan",
        ],
    )
    assert res.exit_code == 0, res.output
    assert "charge(s) match the lineage" in res.output
    assert json.loads(run.release.lineage_events.read_text().splitlines()[-1])["eventType"]


def test_audit_catches_a_lineage_rho_that_differs_from_the_ledger(run: Run) -> None:
    from privacy_profile.errors import AuditError
    from privacy_profile.lineage.ledger_audit import compare_dp

    events = read_events(run.release.lineage_events)
    complete = next(e for e in events if e["eventType"] == "COMPLETE")
    mechanisms = [
        dict(m) for m in complete["run"]["facets"]["privacyProfile_privacy"]["dpMechanisms"]
    ]
    compare_dp(mechanisms, run.charges)  # as recorded: equal
    target = next(m for m in mechanisms if m["rho"] > 0)
    target["rho"] *= 0.5  # a lineage that understates a zCDP charge
    with pytest.raises(AuditError, match="rho="):
        compare_dp(mechanisms, run.charges)


def test_a_fail_events_account_of_zcdp_charges_carries_their_rho(run: Run) -> None:
    """A run that fails after charging records its charges in the FAIL event; audit verify
    compares them with the ledger, rho included."""
    from privacy_profile.lineage.ledger_audit import compare_dp
    from privacy_profile.lineage.publish import charged_account

    with open_ledger(run.root / "ledger.sqlite", run.loaded.policy) as ledger:
        account = charged_account(ledger, run.release.run_id, None)
    mechanisms = account["dpMechanisms"]
    assert isinstance(mechanisms, list)
    assert any(m["rho"] > 0 for m in mechanisms)
    assert "rho" in str(account["summary"])
    compare_dp(mechanisms, run.charges)
