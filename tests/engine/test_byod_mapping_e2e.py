"""Bring your own data, end to end through the CLI: a shop export unlike the demo.

Chinese column names, a GBK-encoded orders file, 是/否 booleans, status 已支付, consent flags
in the members table, a different id column name per table, a custom member-level tag
(会员等级). The policy maps every role (``mapping``), declares value maps and the tag; ``run``
yields the 8 RFM classes and personas on the tag. The same data with one value map removed
fails pre-flight: exit code 1, no traceback, zero epsilon charged, no release folder.
"""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.policy import load_policy_file

PURPOSE = "marketing.advertising.profiling"
STATUS_MAP = "        values: {已支付: paid, 已退款: refunded, 待支付: pending}\n"
runner = CliRunner()

POLICY = """\
policy_version: 1
name: byod-shop
controller: 示例会员店 Example Member Shop
assessment: {id: PIPIA-BYOD-1, completed_on: 2026-10-01}
pseudonymization_domains:
  - {name: shop, key: {env: PP_TEST_BYOD_KEY}, key_id: shop-1}
purposes:
  - data_use: marketing.advertising.profiling
    name: 会员营销 member campaigns
    recipients: [Marketing (DP aggregates only)]
    pseudonymization_domain: shop
    consent:
      accepted_notice_versions: ["2026-03"]
      separate_consent_for_sensitive: true
      minors: {minimum_age: 14, unknown_age: exclude}
consent_records:
  table: members
  user_column: 会员号
  purpose_flags: {marketing.advertising.profiling: 营销同意}
  notice_version: "2026-03"
subjects: {table: members, id_column: 会员号, birthdate_column: 出生日期}
tables:
  members:
    retention_days: 36500
    subject_column: 会员号
    undeclared_columns: refuse
    columns:
      会员号: {category: user.unique_id, role: direct_identifier, nullable: false,
               treatment: pseudonymize}
      出生日期:
        category: user.demographic.date_of_birth
        role: quasi_identifier
        type: date
        treatment: {action: generalize, method: age_band, bands: [0, 14, 18, 30, 45, 60]}
      性别:
        category: user.demographic.gender
        role: quasi_identifier
        treatment: keep
        values: {男: male, 女: female}
      会员等级:
        category: user.behavior
        role: attribute
        treatment: keep
        values: {金卡: gold, 银卡: silver, 普通: regular}
      营销同意:
        category: user.privacy_preferences
        role: attribute
        type: boolean
        treatment: drop
        values: {是: true, 否: false}
  sales:
    file: 订单.csv
    encoding: gbk
    retention_days: 3650
    subject_column: 用户编号
    undeclared_columns: refuse
    columns:
      订单号: {category: user.behavior.purchase_history, role: attribute, nullable: false,
               treatment: keep}
      用户编号: {category: user.unique_id, role: direct_identifier, nullable: false,
                 treatment: pseudonymize}
      金额: {category: user.behavior.purchase_history, role: metric, type: float,
             nullable: false, treatment: keep}
      状态:
        category: user.behavior.purchase_history
        role: attribute
        nullable: false
        treatment: keep
        values: {已支付: paid, 已退款: refunded, 待支付: pending}
      下单时间:
        category: user.behavior.purchase_history
        role: timestamp
        type: timestamp
        nullable: false
        treatment: {action: generalize, method: date_truncate, unit: day}
      品类: {category: user.behavior.purchase_history, role: attribute, treatment: keep}
      是否用券:
        category: user.behavior.purchase_history
        role: attribute
        type: boolean
        treatment: keep
        values: {是: true, 否: false}
privacy:
  privacy_unit_column: members.会员号
  max_groups_contributed: 3
  max_rows_per_group: 3
  epsilon_budget: 10.0
  delta_budget: 1.0e-5
  max_epsilon_per_query: 2.0
  delta_per_query: 1.0e-6
  budget_dataset: byod-shop
  budget_window: {kind: rolling_days, days: 30}
  aggregation_threshold: {threshold: 20, privacy_unit_column: members.会员号}
  k_anonymity: {k: 5, quasi_identifiers: [members.出生日期, members.性别]}
  metric_bounds: [{table: sales, column: 金额, lower: 0, upper: 5000}]
mapping:
  orders:
    table: sales
    order_id: 订单号
    amount: 金额
    time: 下单时间
    status: 状态
    category: 品类
    coupon: 是否用券
    paid_values: [paid]
    refund_values: [refunded]
  subjects: {gender: 性别}
segmentation:
  lookback_days: 730
  rfm:
    epsilon: 2.0
    recency_days: {lower: 0, upper: 730}
    frequency: {lower: 0, upper: 30}
    monetary: {lower: 0, upper: 20000}
  rules_epsilon: 0.5
  rules:
    - {name: gold_spenders, label_zh: 高消费会员, label_en: Gold big spenders,
       expr: 'monetary > 500 and member_level == "gold"'}
  personas:
    epsilon: 2.0
    families: [rfm]
    dimensions: [member_level, gender]
    spending_bands: [0, 500, 2000]
  tags: {member_level: 会员等级}
  tag_domains:
    member_level: [gold, silver, regular]
    gender: [female, male]
  tree: {epsilon: 0.5, target: "rfm:important_value", features: [member_level], max_depth: 2}
"""


def _shop(folder: Path, n: int = 1500, seed: int = 12) -> None:
    """Members (UTF-8) and orders (GBK) as a shop would export them."""
    g = np.random.default_rng(seed)
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    ids = [f"M{100000 + i}" for i in range(n)]
    members = pd.DataFrame(
        {
            "会员号": ids,
            "出生日期": [
                (now - dt.timedelta(days=int(d))).date().isoformat()
                for d in g.integers(20 * 365, 65 * 365, n)
            ],
            "性别": g.choice(["男", "女"], n),
            "会员等级": g.choice(["金卡", "银卡", "普通"], n, p=[0.2, 0.3, 0.5]),
            "营销同意": g.choice(["是", "否"], n, p=[0.85, 0.15]),
        }
    )
    members.to_csv(folder / "members.csv", index=False, encoding="utf-8")
    per_user = g.integers(1, 12, n)  # frequency and amounts independent: 8 RFM classes
    user = np.repeat(ids, per_user)
    m = len(user)
    orders = pd.DataFrame(
        {
            "订单号": [f"D{i:07d}" for i in range(m)],
            "用户编号": user,
            "金额": np.round(g.lognormal(4.5, 0.9, m), 2),
            "状态": g.choice(["已支付", "已退款", "待支付"], m, p=[0.85, 0.1, 0.05]),
            "下单时间": [
                (now - dt.timedelta(days=int(d), hours=3)).isoformat(timespec="seconds")
                for d in g.integers(1, 700, m)
            ],
            "品类": g.choice(["女装", "美妆", "数码", "食品"], m),
            "是否用券": g.choice(["是", "否"], m),
        }
    )
    orders.to_csv(folder / "订单.csv", index=False, encoding="gbk")


def _run(tmp: Path, policy_text: str) -> tuple[object, Path, Path]:
    policy = tmp / "policy.yaml"
    policy.write_text(policy_text, encoding="utf-8")
    out, ledger = tmp / "out", tmp / "ledger.sqlite"
    args = ["run", "--policy", str(policy), "--purpose", PURPOSE, "--input", str(tmp / "in")]
    scratch = ["--dev-keys", "--allow-development-keys-i-know"]  # a scratch test ledger
    result = runner.invoke(app, [*args, "--out", str(out), "--ledger", str(ledger), *scratch])
    return result, out, ledger


def safe_tmp() -> Path:
    """A temporary folder outside pytest's numbered ones: the release guard scans every string
    of a lineage event, input paths included, and a segment such as ``pytest-12`` next to a
    Chinese file name (订单.csv) has the shape of a WeChat id, so the run would be refused. A
    capital first letter never has that shape."""
    return Path(tempfile.mkdtemp(prefix="Byod")).resolve()


@pytest.fixture
def shop() -> Iterator[Path]:
    tmp = safe_tmp()
    try:
        (tmp / "in").mkdir()
        _shop(tmp / "in")
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.slow
def test_byod_export_yields_rfm_classes_and_tag_personas(shop: Path) -> None:
    result, out, ledger = _run(shop, POLICY)
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.is_dir()]
    segments = pd.read_csv(run_dir / "marketing" / "segments.csv")
    rfm = segments.loc[segments["family"] == "rfm"]
    assert len(rfm) == 8 and not rfm["suppressed"].astype(bool).any()
    personas = pd.read_csv(run_dir / "marketing" / "personas.csv")
    tag_rows = personas.loc[personas["dimension"] == "member_level"]
    assert set(tag_rows["value"]) <= {"gold", "silver", "regular"} and len(tag_rows) > 0
    genders = personas.loc[personas["dimension"] == "gender", "value"]
    assert set(genders) <= {"female", "male"} and len(genders) > 0
    assert (segments["family"] == "rule").sum() == 1  # the rule on the custom tag ran
    report = (run_dir / "quarantine" / "ingest_report.json").read_text(encoding="utf-8")
    assert '"unknown_values"' in report
    with open_ledger(ledger, load_policy_file(shop / "policy.yaml").policy) as book:
        assert book.spent().epsilon == pytest.approx(2.0 + 0.5 + 2.0 + 0.5)


@pytest.mark.parametrize(
    ("removed", "check"),
    [
        (STATUS_MAP, "paid_orders"),
        ("        values: {是: true, 否: false}\nprivacy:", "tables_readable"),
    ],
    ids=["status-value-map", "coupon-value-map"],
)
def test_byod_without_a_mapping_fails_preflight_spending_nothing(
    shop: Path, removed: str, check: str
) -> None:
    assert removed in POLICY
    text = POLICY.replace(removed, "privacy:" if removed.endswith("privacy:") else "")
    result, out, ledger = _run(shop, text)
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "pre-flight failed" in result.output and check in result.output
    assert "fix:" in result.output
    with open_ledger(ledger, load_policy_file(shop / "policy.yaml").policy) as book:
        assert book.spent().epsilon == 0.0
    runs = [p for p in (out / "runs").iterdir() if p.is_dir()] if (out / "runs").exists() else []
    for run_dir in runs:  # a FAIL lineage event may exist; no release
        assert not (run_dir / "marketing").exists()
        assert not (run_dir / "activation").exists()


def test_dry_run_reports_preflight_without_a_ledger(shop: Path) -> None:
    policy = shop / "policy.yaml"
    broken = POLICY.replace(
        "        values: {已支付: paid, 已退款: refunded, 待支付: pending}\n", ""
    )
    policy.write_text(broken, encoding="utf-8")
    args = ["run", "--policy", str(policy), "--purpose", PURPOSE, "--input", str(shop / "in")]
    result = runner.invoke(app, [*args, "--dry-run", "--dev-keys"])
    assert result.exit_code == 1 and "paid_orders" in result.output
    assert not (shop / "out").exists()
    policy.write_text(POLICY, encoding="utf-8")
    ok = runner.invoke(app, [*args, "--dry-run", "--dev-keys"])
    assert ok.exit_code == 0, ok.output
    assert "pre-flight passed" in ok.output and "unknown values" not in ok.output
