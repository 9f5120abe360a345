"""run_analytics from the policy, and the marketer report: content, guard, headless Chromium."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from PIL import Image

from privacy_profile import load_policy
from privacy_profile.analytics.from_policy import AnalyticsRelease, run_analytics
from privacy_profile.analytics.report import ReportContext, render_marketer_report
from privacy_profile.demo.campaigns import COST_FILE, CampaignTables
from privacy_profile.dp import BudgetLedger, BudgetWindow, DPRandom, PrivacyLoss
from privacy_profile.errors import BudgetExceededError, InputError
from privacy_profile.ingest import IdentifierIndex
from privacy_profile.lineage.guard import ReleaseGuard

from .conftest import NOW, funnel_events

ROOT = Path(__file__).resolve().parents[2]
POLICY = load_policy(ROOT / "policies" / "wechat_shop.yaml")
BROWSERS = ("chromium", "chromium-browser", "google-chrome")


def _tables(campaigns: CampaignTables) -> dict[str, pd.DataFrame]:
    ev = funnel_events(3000).rename(columns={"u": "openid", "e": "event_type", "t": "ts"})
    red = campaigns.tables["redemptions"]
    return {
        "events": ev,
        "campaign_sends": campaigns.tables["campaign_sends"],
        "campaign_events": campaigns.tables["campaign_events"],
        "redemptions": red.assign(amount=red["amount"].astype(float)),
    }


@pytest.fixture
def release(campaigns: CampaignTables, tmp_path: Path) -> AnalyticsRelease:
    campaigns.costs.to_csv(tmp_path / COST_FILE, index=False)
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=10), window=BudgetWindow.lifetime()
    )
    rel = run_analytics(
        _tables(campaigns),
        POLICY,
        ledger=ledger,
        run_id="r",
        now=NOW,
        cost_dir=tmp_path,
        rng=DPRandom.for_testing(3),
    )
    assert ledger.spent().epsilon == pytest.approx(0.4)  # 0.1 + 0.2 + 0.05 + 0.05
    return rel


def test_run_refuses_what_the_budget_cannot_pay_before_any_charge(
    campaigns: CampaignTables, tmp_path: Path
) -> None:
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=0.3), window=BudgetWindow.lifetime()
    )
    with pytest.raises(BudgetExceededError):
        run_analytics(_tables(campaigns), POLICY, ledger=ledger, run_id="r", now=NOW,
                      cost_dir=tmp_path)  # fmt: skip
    assert ledger.spent().epsilon == 0.0


def test_documents_hold_every_analysis(release: AnalyticsRelease) -> None:
    docs = release.documents()
    assert set(docs) == {
        "funnel.csv", "ab_arms.csv", "ab_comparisons.csv", "ab_minimum_detectable_effect.csv",
        "retention.csv", "kpi.csv", "kpi_roi.csv", "analytics.json",
    }  # fmt: skip
    assert docs["ab_arms.csv"]["campaign"].tolist() == sorted(docs["ab_arms.csv"]["campaign"])
    assert docs["analytics.json"]["epsilon"] == {"funnel": 0.1, "ab": 0.2, "retention": 0.05,
                                                  "kpi": 0.05}  # fmt: skip


def _page(release: AnalyticsRelease) -> str:
    segments = pd.DataFrame(
        {
            "family": ["rfm", "rfm"],
            "segment": ["important_value", "general_value"],
            "label": ["重要价值客户 / important value", "一般价值客户 / general value"],
            "dp_size": [120.0, float("nan")],
            "size_ci_low": [110.0, float("nan")],
            "size_ci_high": [130.0, float("nan")],
        }
    )
    return render_marketer_report(
        ReportContext(policy_name=POLICY.name, run_date="2026-11-30", epsilon_spent=3.0),
        segments=segments,
        analytics=release,
    )


def test_report_content(release: AnalyticsRelease, campaigns: CampaignTables) -> None:
    page = _page(release)
    for label in ("分群规模 / Segment sizes", "漏斗 / Funnel", "A/B 测试 / A/B read-outs",
                  "留存 / Retention", "活动指标 / Campaign KPIs", "重要价值客户",
                  "coupon10", "Noto Sans CJK SC"):  # fmt: skip
        assert label in page, label
    assert page.count("<svg") >= 5
    assert page.count('class="noise"') >= 5  # one plain-language noise line per chart
    assert "<script" not in page and "http://" not in page.replace("http://www.w3.org", "")
    # Chinese before English in the bilingual labels
    assert page.index("漏斗") < page.index("Funnel")


def test_report_passes_the_release_guard(
    release: AnalyticsRelease, campaigns: CampaignTables, tmp_path: Path
) -> None:
    pseudonyms = campaigns.tables["campaign_sends"]["openid"].unique().tolist()
    page = _page(release)
    guard = ReleaseGuard.for_run(IdentifierIndex(), pseudonyms=pseudonyms)
    written = guard.release({"report.html": page}, tmp_path / "out")
    assert [p.name for p in written] == ["report.html"]
    leaky = page.replace("</body>", f"<p>{pseudonyms[0]}</p></body>")
    with pytest.raises(Exception, match="refused"):
        guard.release({"report.html": leaky}, tmp_path / "out2")


@pytest.mark.skipif(
    not any(shutil.which(b) for b in BROWSERS),
    reason="no chromium: the screenshot check needs a headless browser (apt-get install chromium)",
)
def test_report_renders_in_headless_chromium(release: AnalyticsRelease, tmp_path: Path) -> None:
    html = tmp_path / "report.html"
    html.write_text(_page(release), encoding="utf-8")
    png = tmp_path / "shot.png"
    browser = next(p for b in BROWSERS if (p := shutil.which(b)))
    profile = tmp_path / "profile"
    subprocess.run(
        [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--hide-scrollbars", f"--user-data-dir={profile}",
         "--window-size=1100,3000", f"--screenshot={png}", html.as_uri()],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    with Image.open(png) as raw:
        image = raw.convert("RGB")
    assert image.size == (1100, 3000)
    colors = image.getcolors(maxcolors=1 << 20)
    assert colors is not None and len(colors) > 50  # text, tables and charts, not a blank page
    # mostly white background, but not only: a sane page, not an error screen
    white = sum(n for n, c in colors if c == (255, 255, 255))
    assert 0.3 < white / (1100 * 3000) < 0.99


def test_kpis_without_a_cost_table_are_planned_out_before_any_charge(
    campaigns: CampaignTables, tmp_path: Path
) -> None:
    from privacy_profile.analytics.from_policy import check_run_budget, runnable_analyses

    planned, notes = runnable_analyses(POLICY, None)
    assert planned == ["funnel", "ab", "retention"] and "KPIs skipped" in notes[0]
    campaigns.costs.to_csv(tmp_path / COST_FILE, index=False)
    assert runnable_analyses(POLICY, tmp_path) == (["funnel", "ab", "retention", "kpi"], [])
    # segmentation 4.5 + funnel, ab, retention 0.35 fit 4.85 but not 4.8
    for budget, ok in ((4.85, True), (4.8, False)):
        ledger = BudgetLedger.in_memory(
            dataset="t", budget=PrivacyLoss(epsilon=budget), window=BudgetWindow.lifetime()
        )
        if ok:
            check_run_budget(POLICY, ledger, analyses=planned)
        else:
            with pytest.raises(BudgetExceededError):
                check_run_budget(POLICY, ledger, analyses=planned)


def test_the_cost_table_is_read_from_a_folder_on_another_file_system(
    campaigns: CampaignTables, tmp_path: Path
) -> None:
    """A folder of inputs named by a URI (here a caller-built file system standing for s3://
    or hdfs://) holds the cost table as a local folder does: the KPIs are planned and the
    table read through the file system; a bad row names the file and row."""
    import pyarrow.fs as pafs

    from privacy_profile.analytics.from_policy import kpi_costs, runnable_analyses
    from privacy_profile.ingest.locations import InputLocation

    (tmp_path / "shop").mkdir()
    fs = pafs.SubTreeFileSystem(str(tmp_path / "shop"), pafs.LocalFileSystem())
    folder = InputLocation.on(fs, "", uri="mem://shop")
    assert folder.local_path is None
    planned, notes = runnable_analyses(POLICY, folder)
    assert "kpi" not in planned and "KPIs skipped" in notes[0]
    campaigns.costs.to_csv(tmp_path / "shop" / COST_FILE, index=False)
    assert runnable_analyses(POLICY, folder) == (["funnel", "ab", "retention", "kpi"], [])
    want = kpi_costs(POLICY, tmp_path / "shop")
    assert kpi_costs(POLICY, folder) == want and len(want) == len(campaigns.costs)
    bad = pd.concat([campaigns.costs, campaigns.costs.head(1)], ignore_index=True)
    bad.to_csv(tmp_path / "shop" / COST_FILE, index=False)
    with pytest.raises(InputError, match=f"{COST_FILE}, row {len(bad)} after the header"):
        runnable_analyses(POLICY, folder)


def test_a_repeated_campaign_in_the_cost_table_fails_the_run_before_any_charge(
    campaigns: CampaignTables, tmp_path: Path
) -> None:
    """The KPIs run last: a bad cost table read by them failed the run after the funnel, the
    A/B readout and the retention cohorts were charged (0.35 spent for nothing)."""
    from privacy_profile.analytics.from_policy import runnable_analyses

    costs = campaigns.costs
    pd.concat([costs, costs.iloc[[0]]], ignore_index=True).to_csv(tmp_path / COST_FILE, index=False)
    ledger = BudgetLedger.in_memory(
        dataset="t", budget=PrivacyLoss(epsilon=10), window=BudgetWindow.lifetime()
    )
    camp = costs["campaign_id"].iloc[0]
    where = f"{COST_FILE}, row {len(costs) + 1} after the header: campaign {camp!r} is listed"
    with pytest.raises(InputError, match=f"{where} again \\(first at row 1\\)"):
        run_analytics(_tables(campaigns), POLICY, ledger=ledger, run_id="r", now=NOW,
                      cost_dir=tmp_path)  # fmt: skip
    assert ledger.spent().epsilon == 0.0
    with pytest.raises(InputError, match="listed again"):  # the engine's plan refuses it too
        runnable_analyses(POLICY, tmp_path)


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        ("a,1\n,2\n", "row 2 after the header: no campaign"),
        ("a,1\nb,abc\n", "row 2 after the header: campaign 'b' needs a positive cost"),
        ("a,1\nb,-3\n", "row 2 after the header: campaign 'b' needs a positive cost"),
        ("a,1\nb,2\na,1\n", "row 3 after the header: campaign 'a' is listed again"),
    ],
)
def test_cost_table_rows_are_refused_where_they_are(
    tmp_path: Path, rows: str, message: str
) -> None:
    from privacy_profile.analytics.from_policy import read_cost_table

    path = tmp_path / "costs.csv"
    path.write_text("campaign,cost\n" + rows, encoding="utf-8")
    with pytest.raises(InputError, match=message) as e:
        read_cost_table(path, "campaign", "cost")
    assert "costs.csv" in e.value.message
    assert e.value.hint == "one row per campaign with a positive cost"
