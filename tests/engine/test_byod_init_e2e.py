"""Bring your own data from nothing: ``init`` drafts the policy, a reviewer fills its
placeholders, ``run`` yields the 8 RFM classes and personas on the shop's member-level tag.

The shop is unlike the demo (Chinese column names, a GBK orders file, 是/否 coupon flags,
已支付/已退款 statuses, consent flags in the members table, a different id column name per
table, a 会员等级 column). The role mapping, value maps, consent flags and the custom tag
come from ``init``; the review only replaces the placeholders the draft marks and adds what a
draft may not guess (public bounds, the tag's public values, the segment families). The same
reviewed policy without the status value map fails pre-flight: exit code 1, no traceback,
zero epsilon charged and no release folder.
"""

from __future__ import annotations

import copy
import io
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from ruamel.yaml import YAML
from test_byod_mapping_e2e import _shop, safe_tmp
from typer.testing import CliRunner

from privacy_profile.cli import app
from privacy_profile.dp.policy_ledger import open_ledger
from privacy_profile.policy import load_policy_file

PURPOSE = "marketing.advertising.profiling"
LEVELS = ["金卡", "银卡", "普通"]  # the shop's public member levels, listed by the reviewer
runner = CliRunner()


def _yaml() -> YAML:
    y = YAML()
    y.width = 100
    return y


def _review(draft: str) -> dict[str, Any]:
    """What a reviewer does with the draft: fill the marked placeholders, declare public
    bounds and the tag's values, and choose the segment families."""
    doc = _yaml().load(draft)
    assert doc["controller"].startswith("REVIEW")
    doc["controller"] = "示例会员店 Example Member Shop"
    assert doc["assessment"]["id"] == "PIPIA-REVIEW"
    doc["assessment"]["id"] = "PIPIA-BYOD-7"
    (domain,) = doc["pseudonymization_domains"]
    assert domain["key_id"] == "REVIEW-key-id"
    domain["key_id"] = "SHOP-KEY-7"
    (purpose,) = doc["purposes"]
    assert list(purpose["consent"]["accepted_notice_versions"]) == ["REVIEW-notice-version"]
    purpose["consent"]["accepted_notice_versions"] = ["2026-03"]
    assert doc["consent_records"]["notice_version"] == "REVIEW-flags-notice-version"
    doc["consent_records"]["notice_version"] = "2026-03"
    doc["privacy"]["metric_bounds"] = [
        {"table": "订单", "column": "金额", "lower": 0, "upper": 5000}
    ]
    doc["privacy"]["aggregation_threshold"]["threshold"] = 20
    seg = doc.get("segmentation") or {}
    seg.setdefault("tags", {"member_level": "会员等级"})
    seg["lookback_days"] = 730
    seg["rfm"] = {
        "epsilon": 2.0,
        "recency_days": {"lower": 0, "upper": 730},
        "frequency": {"lower": 0, "upper": 30},
        "monetary": {"lower": 0, "upper": 20000},
    }
    seg["personas"] = {
        "epsilon": 2.0,
        "families": ["rfm"],
        "dimensions": ["member_level"],
        "spending_bands": [0, 500, 2000],
    }
    seg["tag_domains"] = {"member_level": LEVELS}
    doc["segmentation"] = seg
    return dict(doc)


def _dump(doc: dict[str, Any], path: Path) -> Path:
    buf = io.StringIO()
    _yaml().dump(doc, buf)
    path.write_text(buf.getvalue(), encoding="utf-8")
    return path


def _run(tmp: Path, policy: Path, name: str) -> tuple[Any, Path, Path]:
    out, ledger = tmp / f"out-{name}", tmp / f"ledger-{name}.sqlite"
    args = ["run", "--policy", str(policy), "--purpose", PURPOSE, "--input", str(tmp / "in")]
    scratch = ["--dev-keys", "--allow-development-keys-i-know"]  # a scratch test ledger
    result = runner.invoke(app, [*args, "--out", str(out), "--ledger", str(ledger), *scratch])
    return result, out, ledger


@pytest.fixture(scope="module")
def drafted() -> Iterator[tuple[Path, dict[str, Any]]]:
    tmp = safe_tmp()  # not under pytest's numbered folders (see safe_tmp)
    try:
        yield from _drafted(tmp)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _drafted(tmp: Path) -> Iterator[tuple[Path, dict[str, Any]]]:
    (tmp / "in").mkdir()
    _shop(tmp / "in")
    draft = tmp / "draft.yaml"
    result = runner.invoke(app, ["init", "--input", str(tmp / "in"), "--out", str(draft)])
    assert result.exit_code == 0, result.output
    text = draft.read_text(encoding="utf-8")
    for sample in ("M100000", "D0000000", "金卡", "银卡", "女装", "美妆"):
        assert sample not in text, sample  # never a sample value in the draft
    yield tmp, _review(text)


@pytest.mark.slow
def test_init_reviewed_policy_runs_to_rfm_classes_and_tag_personas(
    drafted: tuple[Path, dict[str, Any]],
) -> None:
    tmp, reviewed = drafted
    policy = _dump(reviewed, tmp / "policy.yaml")
    pol = load_policy_file(policy).policy
    # what init proposed (not the review): the mapping, value maps, flags and the tag
    orders = pol.roles().orders
    assert orders is not None and (orders.table, orders.status) == ("订单", "状态")
    assert orders.coupon == "是否用券" and orders.paid_values == ["paid"]
    assert pol.tables["订单"].columns["是否用券"].values == {"是": "true", "否": "false"}
    assert pol.consent_records.purpose_flags == {PURPOSE: "营销同意"}
    assert "consents" not in pol.tables
    assert pol.tables["订单"].subject_column == "用户编号"
    assert pol.tables["members"].subject_column == "会员号"

    result, out, ledger = _run(tmp, policy, "ok")
    assert result.exit_code == 0, result.output
    (run_dir,) = [p for p in (out / "runs").iterdir() if p.is_dir()]
    segments = pd.read_csv(run_dir / "marketing" / "segments.csv")
    rfm = segments.loc[segments["family"] == "rfm"]
    assert len(rfm) == 8 and not rfm["suppressed"].astype(bool).any()
    personas = pd.read_csv(run_dir / "marketing" / "personas.csv")
    tag_rows = personas.loc[personas["dimension"] == "member_level"]
    assert len(tag_rows) > 0 and set(tag_rows["value"]) <= set(LEVELS)
    with open_ledger(ledger, pol) as book:
        assert book.spent().epsilon == pytest.approx(2.0 + 2.0)


@pytest.mark.slow
def test_init_reviewed_policy_without_the_status_map_fails_preflight(
    drafted: tuple[Path, dict[str, Any]],
) -> None:
    tmp, reviewed = drafted
    reviewed = copy.deepcopy(reviewed)
    status = reviewed["tables"]["订单"]["columns"]["状态"]
    assert dict(status.pop("values")) == {"已支付": "paid", "已退款": "refunded"}
    policy = _dump(reviewed, tmp / "broken.yaml")
    result, out, ledger = _run(tmp, policy, "broken")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "pre-flight failed" in result.output and "paid_orders" in result.output
    with open_ledger(ledger, load_policy_file(policy).policy) as book:
        assert book.spent().epsilon == 0.0
    runs = [p for p in (out / "runs").iterdir() if p.is_dir()] if (out / "runs").exists() else []
    for run_dir in runs:  # a FAIL lineage event may exist; no release
        assert not (run_dir / "marketing").exists()
        assert not (run_dir / "activation").exists()
