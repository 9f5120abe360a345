"""The marketer report: one self-contained HTML page per run (inline CSS and SVG charts).

It shows only released DP aggregates (segment sizes, personas, recommendations, funnel, A/B
read-outs, retention curves, campaign KPIs), each chart with its 95% interval bars and one
plain-language line on what the noise means. Labels are bilingual, Chinese first. The engine
releases the page through the release guard like every marketing output; nothing here reads a
pseudonymous table.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd

from privacy_profile.analytics._svg import Series, bar_chart, line_chart
from privacy_profile.analytics.from_policy import AnalyticsRelease

__all__ = ["REPORT_FILE", "ReportContext", "render_marketer_report"]

REPORT_FILE = "report.html"

FONT_STACK = (
    '"Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "PingFang SC", '
    '"Hiragino Sans GB", "Microsoft YaHei", "WenQuanYi Micro Hei", "Droid Sans Fallback", '
    "system-ui, sans-serif"
)

CSS = f"""
body {{ font-family: {FONT_STACK}; margin: 0 auto; max-width: 980px; padding: 24px;
  color: #1b1b1b; background: #fff; line-height: 1.45; }}
h1 {{ font-size: 26px; margin: 0 0 4px; }}
h2 {{ font-size: 20px; border-bottom: 2px solid #1f77b4; padding-bottom: 4px; margin-top: 32px; }}
h3 {{ font-size: 16px; margin: 18px 0 6px; }}
p.meta {{ color: #555; margin: 0 0 12px; }}
p.noise {{ background: #f4f8fb; border-left: 4px solid #1f77b4; padding: 6px 10px;
  font-size: 14px; }}
table {{ border-collapse: collapse; font-size: 13px; margin: 8px 0; }}
th, td {{ border: 1px solid #ccc; padding: 3px 8px; text-align: right; }}
th {{ background: #f0f0f0; }}
td.l, th.l {{ text-align: left; }}
svg {{ max-width: 100%; height: auto; display: block; margin: 8px 0; }}
svg text {{ font-family: {FONT_STACK}; }}
svg .t {{ font-size: 14px; font-weight: 600; }}
svg .a {{ font-size: 11px; fill: #333; }}
svg .v {{ font-size: 11px; fill: #000; }}
"""


@dataclass(frozen=True, kw_only=True)
class ReportContext:
    """What the page says about the run (all public)."""

    policy_name: str
    run_date: str
    epsilon_spent: float | None = None
    epsilon_budget: float | None = None
    rho_spent: float | None = None  # the run's zCDP charges (None or 0: none)


def _e(v: Any) -> str:
    return html.escape(str(v), quote=True)


def _num(v: Any, digits: int = 0) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return _e(v)
    if not math.isfinite(f):
        return "—"
    return f"{f:,.{digits}f}"


def _pct(v: Any, digits: int = 1) -> str:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return "—"
    return "—" if not math.isfinite(f) else f"{100 * f:.{digits}f}%"


def _table(headers: Sequence[str], rows: Sequence[Sequence[str]], left: int = 1) -> str:
    head = "".join(
        f'<th class="{"l" if i < left else ""}">{_e(h)}</th>' for i, h in enumerate(headers)
    )
    body = "".join(
        "<tr>"
        + "".join(f'<td class="{"l" if i < left else ""}">{c}</td>' for i, c in enumerate(r))
        + "</tr>"
        for r in rows
    )
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def _noise(text: str) -> str:
    return f'<p class="noise">{_e(text)}</p>'


def _floats(s: pd.Series) -> list[float]:
    return [float(v) if pd.notna(v) else float("nan") for v in s.tolist()]


# -- sections -------------------------------------------------------------------------------


def _segments(segments: pd.DataFrame) -> str:
    out = ["<h2>分群规模 / Segment sizes</h2>"]
    size_col = "dp_size" if "dp_size" in segments.columns else None
    if size_col is None or segments.empty:
        return out[0] + "<p>无 / none</p>"
    for family, g in segments.groupby("family", sort=True):
        g = g.sort_values("segment", kind="stable")
        labels = [str(v).split(" / ")[0] for v in g.get("label", g["segment"])]
        out.append(
            bar_chart(
                labels,
                _floats(g[size_col]),
                _floats(g.get("size_ci_low", g[size_col])),
                _floats(g.get("size_ci_high", g[size_col])),
                title=f"{family}: 人数 / users",
                fmt=lambda v: f"{v:,.0f}",
                width=max(640, 90 * len(g)),
            )
        )
        rows = [
            [
                _e(r.get("label", r["segment"])),
                _num(r[size_col]),
                f"{_num(r.get('size_ci_low'))} – {_num(r.get('size_ci_high'))}",
            ]
            for _, r in g.iterrows()
        ]
        out.append(_table(["分群 / Segment", "人数 / Users", "95% 区间 / interval"], rows))
    out.append(
        _noise(
            "每个人数都加入了随机噪声以保护个人隐私；区间条显示真实人数 95% 可能落在的范围。"
            " / Each size has random noise added to protect individuals; the bar shows where "
            "the true size lies with 95% probability. Segments below the threshold are hidden."
        )
    )
    return "".join(out)


def _personas(personas: pd.DataFrame) -> str:
    if personas.empty:
        return ""
    out = ["<h2>人群画像 / Personas</h2>"]
    share = "dp_share" if "dp_share" in personas.columns else None
    for (family, segment), g in personas.groupby(["family", "segment"], sort=True):
        label = str(g["label"].iloc[0]) if "label" in g.columns else f"{family}:{segment}"
        parts = []
        for dim, d in g.groupby("dimension", sort=True):
            top = d.sort_values("dp_count", ascending=False, kind="stable").head(3)
            vals = ", ".join(
                f"{_e(v)} ({_pct(s, 0)})" if share else _e(v)
                for v, s in zip(top["value"], top[share] if share else top["value"], strict=True)
            )
            parts.append(f"<b>{_e(dim)}</b>: {vals}")
        out.append(f"<h3>{_e(label)}</h3><p>{'; '.join(parts)}</p>")
    out.append(
        _noise(
            "画像中的占比来自加噪计数，只列出明显高于阈值的取值。 / Shares come from noisy counts; "
            "only values clearly above the threshold are listed."
        )
    )
    return "".join(out)


def _recommendations(recs: pd.DataFrame) -> str:
    if recs.empty:
        return ""
    rows = [
        [_e(r.get("label", r.get("segment", ""))), _e(r.get("rank", "")), _e(r.get("category", ""))]
        for _, r in recs.sort_values(["family", "segment", "rank"], kind="stable").iterrows()
    ]
    return "<h2>推荐品类 / Recommended categories</h2>" + _table(
        ["分群 / Segment", "排名 / Rank", "品类 / Category"], rows
    )


def _funnel(t: pd.DataFrame) -> str:
    out = ["<h2>漏斗 / Funnel</h2>"]
    for seg, g in t.groupby("segment", sort=True):
        out.append(
            bar_chart(
                [str(e) for e in g["event"]],
                _floats(g["users"]),
                _floats(g["users_low"]),
                _floats(g["users_high"]),
                title=f"到达各步骤的用户 / users reaching each step ({seg})",
                fmt=lambda v: f"{v:,.0f}",
            )
        )
        rows = [
            [
                _e(r["event"]),
                _num(r["users"]),
                f"{_num(r['users_low'])} – {_num(r['users_high'])}",
                _pct(r["conversion"]),
                f"{_pct(r['conversion_low'])} – {_pct(r['conversion_high'])}",
            ]
            for _, r in g.iterrows()
        ]
        out.append(
            _table(
                ["步骤 / Step", "用户 / Users", "95% 区间", "转化率 / Conversion", "95% 区间"],
                rows,
            )
        )
    sd = float(t["users_noise_sd"].max()) if len(t) else 0.0
    out.append(
        _noise(
            f"每一步的人数含有标准差约 {sd:.1f} 人的隐私噪声；步骤人数已调整为逐步不增。"
            f" / Each step count carries privacy noise of about ±{sd:.1f} users (one standard "
            "deviation); counts are adjusted so they never increase from one step to the next."
        )
    )
    return "".join(out)


def _ab(arms: pd.DataFrame, comps: pd.DataFrame, mde: pd.DataFrame) -> str:
    out = ["<h2>A/B 测试 / A/B read-outs</h2>"]
    for camp, g in arms.groupby("campaign", sort=True):
        out.append(f"<h3>{_e(camp)}</h3>")
        out.append(
            bar_chart(
                [str(a) for a in g["arm"]],
                _floats(g["conversion_rate"]),
                _floats(g["conversion_rate_low"]),
                _floats(g["conversion_rate_high"]),
                title="转化率 / conversion rate",
                fmt=lambda v: f"{100 * v:.1f}%",
            )
        )
        c = comps[comps["campaign"] == camp]
        rows = [
            [
                _e(r["variant"]),
                f"{100 * r['difference']:+.2f} pp",
                f"{100 * r['difference_low']:+.2f} – {100 * r['difference_high']:+.2f} pp",
                f"{_pct(r['lift'])} ({_pct(r['lift_low'])} – {_pct(r['lift_high'])})",
                f"{r['p_value']:.3g}",
                "显著 / significant" if r["significant"] else "不显著 / not significant",
            ]
            for _, r in c.iterrows()
        ]
        out.append(
            _table(
                [
                    "变体 / Variant",
                    "差异 / Difference",
                    "95% 区间",
                    "提升 / Lift (95%)",
                    "p",
                    "结论 / Verdict",
                ],
                rows,
            )
        )
        m = mde[mde["campaign"] == camp]
        if len(m):
            r = m.iloc[0]
            out.append(
                f"<p>最小可检测提升 / Minimum detectable lift: {_pct(r['mde_relative'])} "
                f"(无噪声时 / without noise {_pct(r['mde_relative_without_noise'])}), "
                f"每组约 / about {_num(r['users_per_arm'])} users per arm.</p>"
            )
    out.append(
        _noise(
            "区间同时包含抽样误差和隐私噪声：差异区间不含 0 才算显著（p < 0.05）。"
            " / Intervals include both sampling error and privacy noise: a difference counts as "
            "significant only when its interval excludes zero (p < 0.05)."
        )
    )
    return "".join(out)


def _retention(t: pd.DataFrame) -> str:
    out = ["<h2>留存 / Retention</h2>"]
    offsets = sorted(t["offset"].unique().tolist())
    sd = float(t["users_noise_sd"].max()) if len(t) else 0.0
    sizes = t.loc[t["offset"] == 0, ["cohort", "cohort_size"]].dropna()
    if len(sizes):
        rows = [
            [_e(c), _num(n)] for c, n in zip(sizes["cohort"], sizes["cohort_size"], strict=True)
        ]
        out.append(_table(["同期群 / Cohort", "人数 / Users"], rows))
    for seg, g in t.groupby("segment", sort=True):
        series = []
        for cohort, c in g.groupby("cohort", sort=True):
            c = c.sort_values("offset")
            if c["retention"].notna().sum() < 2:
                continue  # suppressed, or too recent to show a curve
            series.append(
                Series(
                    name=str(cohort),
                    values=_floats(c["retention"]),
                    lows=_floats(c["retention_low"]),
                    highs=_floats(c["retention_high"]),
                )
            )
        if not series:
            out.append("<p>所有同期群都低于阈值 / every cohort is below the threshold.</p>")
            continue
        out.append(
            line_chart(
                [str(o) for o in offsets],
                series[-6:],  # the most recent cohorts with a curve
                title=f"按首次活跃分组的留存 / retention by first-activity cohort ({seg})",
                fmt=lambda v: f"{100 * v:.0f}%",
                x_title="首次活跃后的周期 / periods after first activity",
            )
        )
    out.append(
        _noise(
            f"每个格子的人数含标准差约 {sd:.0f} 人的隐私噪声，小同期群的留存率区间较宽；"
            "低于阈值的格子不显示。"
            f" / Every cell count carries privacy noise of about ±{sd:.0f} users (one standard "
            "deviation), so small cohorts have wide intervals; cells below the threshold are "
            "not shown."
        )
    )
    return "".join(out)


def _kpi(t: pd.DataFrame, roi: pd.DataFrame) -> str:
    out = ["<h2>活动指标 / Campaign KPIs</h2>"]
    rows = [
        [
            _e(r["campaign"]),
            _e(r["segment"]),
            _num(r["sent"]),
            f"{_pct(r['ctr'])} ({_pct(r['ctr_low'])}–{_pct(r['ctr_high'])})",
            f"{_pct(r['conversion_rate'])} ({_pct(r['conversion_rate_low'])}–"
            f"{_pct(r['conversion_rate_high'])})",
            f"¥{_num(r['average_order_value'])} (¥{_num(r['average_order_value_low'])}–"
            f"¥{_num(r['average_order_value_high'])})",
        ]
        for _, r in t.iterrows()
    ]
    out.append(
        _table(
            ["活动 / Campaign", "分群 / Segment", "触达 / Sent", "点击率 / CTR",
             "转化率 / Conversion", "客单价 / AOV"],
            rows,
            left=2,
        )
    )  # fmt: skip
    out.append(
        bar_chart(
            [str(c) for c in roi["campaign"]],
            _floats(roi["roi"]),
            _floats(roi["roi_low"]),
            _floats(roi["roi_high"]),
            title="投资回报率 / ROI = (revenue − cost) / cost",
            fmt=lambda v: f"{v:.1f}×",
        )
    )
    out.append(
        _noise(
            "成本来自公开成本表，收入为加噪总和；区间显示隐私噪声带来的不确定性。"
            " / Costs come from the public cost table and revenue is a noisy sum; the interval "
            "shows the uncertainty the privacy noise adds."
        )
    )
    return "".join(out)


def render_marketer_report(
    context: ReportContext,
    *,
    segments: pd.DataFrame | None = None,
    personas: pd.DataFrame | None = None,
    recommendations: pd.DataFrame | None = None,
    analytics: AnalyticsRelease | None = None,
) -> str:
    """The marketer report as one self-contained HTML string (see the module doc)."""
    body = [
        "<h1>营销分析报告 / Marketing analytics report</h1>",
        f'<p class="meta">策略 / Policy: {_e(context.policy_name)} · 日期 / Date: '
        f"{_e(context.run_date)}"
        + (
            f" · 隐私预算 / Privacy budget: ε {context.epsilon_spent:.2f}"
            + (f" / {context.epsilon_budget:g}" if context.epsilon_budget is not None else "")
            if context.epsilon_spent is not None
            else ""
        )
        + (f" · 零集中差分隐私 / zCDP: ρ {context.rho_spent:.3g}" if context.rho_spent else "")
        + "</p>",
        _noise(
            "本报告只包含差分隐私聚合结果，不含任何个人标识。所有区间为 95%。"
            " / This report holds differentially private aggregates only, never an identifier. "
            "All intervals are 95%."
        ),
    ]
    if segments is not None:
        body.append(_segments(segments))
    if personas is not None:
        body.append(_personas(personas))
    if recommendations is not None:
        body.append(_recommendations(recommendations))
    if analytics is not None:
        if analytics.funnel is not None:
            body.append(_funnel(analytics.funnel.table))
        if analytics.ab is not None:
            body.append(_ab(analytics.ab.arms, analytics.ab.comparisons, analytics.ab.mde))
        if analytics.retention is not None:
            body.append(_retention(analytics.retention.table))
        if analytics.kpi is not None:
            body.append(_kpi(analytics.kpi.table, analytics.kpi.roi))
    return (
        '<!DOCTYPE html>\n<html lang="zh-CN"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>营销分析报告 / Marketing analytics report</title>"
        f"<style>{CSS}</style></head><body>" + "".join(body) + "</body></html>\n"
    )
