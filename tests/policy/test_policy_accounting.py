"""``privacy.accounting``: each release family chooses pure_dp (the default) or zcdp; mistakes
are located errors naming the YAML line."""

from __future__ import annotations

from pathlib import Path

import pytest

from privacy_profile import PolicyError, load_policy
from privacy_profile.dp.policy_ledger import run_loss, run_rho
from privacy_profile.policy.enums import Accounting
from privacy_profile.policy.explain import explain_policy

POLICY = Path(__file__).resolve().parents[2] / "policies" / "wechat_shop.yaml"
ANCHOR = "  budget_dataset: wechat-shop-users\n"


def _with(tmp_path: Path, block: str, replace: tuple[str, str] | None = None) -> Path:
    text = POLICY.read_text(encoding="utf-8")
    assert ANCHOR in text
    text = text.replace(ANCHOR, ANCHOR + block)
    if replace is not None:
        assert replace[0] in text
        text = text.replace(*replace)
    out = tmp_path / "policy.yaml"
    out.write_text(text, encoding="utf-8")
    return out


def _line(path: Path, marker: str) -> int:
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if marker in line:
            return i
    raise AssertionError(marker)


def test_pure_epsilon_is_the_default() -> None:
    policy = load_policy(POLICY)
    assert policy.privacy.accounting == {}
    assert not policy.privacy.is_zcdp("rfm") and policy.privacy.zcdp_families() == frozenset()
    assert policy.segmentation is not None
    assert run_rho(policy, policy.segmentation) == 0.0
    assert "every release uses pure epsilon" in explain_policy(policy)


def test_families_choose_zcdp(tmp_path: Path) -> None:
    path = _with(tmp_path, "  accounting:\n    rfm: zcdp\n    funnel: zcdp\n    tree: pure_dp\n")
    policy = load_policy(path)
    pv = policy.privacy
    assert pv.accounting["rfm"] is Accounting.ZCDP and pv.is_zcdp("funnel")
    assert not pv.is_zcdp("tree") and pv.zcdp_families() == {"rfm", "funnel"}
    spec = policy.segmentation
    assert spec is not None and policy.analytics is not None
    # rfm (epsilon 1) and the funnel (epsilon 0.1) move from the pure sum to rho = eps^2 / 2
    assert run_rho(policy, spec) == pytest.approx(1.0**2 / 2 + 0.1**2 / 2)
    base = load_policy(POLICY)
    assert base.segmentation is not None
    pure_before = run_loss(base, base.segmentation).epsilon
    assert run_loss(policy, spec).epsilon == pytest.approx(pure_before - 1.0 - 0.1)
    assert "funnel, rfm use zero-concentrated DP" in explain_policy(policy)


@pytest.mark.parametrize(
    ("block", "field", "fragment", "marker"),
    [
        ("  accounting: {rfm: zcdp, rfn: zcdp}\n", "rfn", "unknown release family", "rfn"),
        ("  accounting:\n    kmeans: zcdp\n", "kmeans", "cannot use zcdp", "kmeans: zcdp"),
        ("  accounting:\n    ab: zcdp\n", "ab", "cannot use zcdp", "ab: zcdp"),
        ("  accounting:\n    personas: zcdp\n", "personas", "public value list", "personas: zcdp"),
    ],
)
def test_wrong_accounting_names_line_and_field(
    tmp_path: Path, block: str, field: str, fragment: str, marker: str
) -> None:
    path = _with(tmp_path, block)
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    issues = [i for i in info.value.issues if i.field == f"privacy.accounting.{field}"]
    assert issues, str(info.value)
    assert fragment in issues[0].message
    assert issues[0].line == _line(path, marker)
    assert issues[0].hint


def test_an_unknown_accounting_value_is_refused(tmp_path: Path) -> None:
    path = _with(tmp_path, "  accounting:\n    rfm: rdp\n")
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    assert any(i.field == "privacy.accounting.rfm" for i in info.value.issues), str(info.value)


def test_zcdp_needs_a_delta_to_convert_with(tmp_path: Path) -> None:
    path = _with(
        tmp_path,
        "  accounting:\n    rule: zcdp\n",
        replace=("  delta_budget: 1.0e-5\n", "  delta_budget: 0.0\n"),
    )
    path.write_text(
        path.read_text(encoding="utf-8").replace(
            "  delta_per_query: 1.0e-6\n", "  delta_per_query: 0.0\n"
        ),
        encoding="utf-8",
    )
    with pytest.raises(PolicyError) as info:
        load_policy(path)
    msgs = [i.message for i in info.value.issues if i.field == "privacy.accounting.rule"]
    assert any("delta budget" in m for m in msgs), str(info.value)
