"""The human-readable lineage document of a run, generated ONLY from its OpenLineage events.

:func:`render_lineage_doc` writes ``lineage.md``, ``lineage.html`` (self-contained: inline CSS,
the two PNG charts next to it) and ``budget_use.png`` / ``segment_sizes.png`` (matplotlib, Agg).
The document is a record of processing activities (purpose, data categories, subjects,
recipients, retention, legal basis, assessment), the flow from policy through stages to
outputs, the counts per rule, the keys (id and fingerprint), the DP mechanisms and budget, and
the column lineage. Output is deterministic for the same events.
"""

from __future__ import annotations

import html
import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

from privacy_profile.errors import AuditError
from privacy_profile.lineage.facets import PRIVACY_FACET_NAME, Transform
from privacy_profile.lineage.recorder import read_events

__all__ = ["render_lineage_doc"]

BUDGET_PNG = "budget_use.png"
SEGMENTS_PNG = "segment_sizes.png"


@dataclass
class _Section:
    title: str
    paragraphs: list[str] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)
    image: str | None = None
    alt: str = ""
    flow: list[str] = field(default_factory=list)


def _g(value: float) -> str:
    return f"{value:.6g}"


def _chart_budget(facet: dict[str, Any], path: Path) -> bool:
    budget = facet.get("budget")
    if not budget:
        return False
    per_release: dict[str, float] = defaultdict(float)
    rho = 0.0
    for m in facet.get("dpMechanisms", []):
        per_release[m["release"]] += m["epsilon"]
        rho += m.get("rho", 0.0)  # facet 1-0-0 has no rho
    this_run = sum(per_release.values())
    before = max(budget["spentEpsilon"] - this_run, 0.0)
    fig, ax = plt.subplots(figsize=(8, 2.0), dpi=100)
    left = 0.0
    colors = plt.get_cmap("tab10")
    # zCDP charges are converted for the whole window at once: not attributable per run
    first = (
        f"spent before this run + the window's zCDP conversion (this run: rho {rho:.4g})"
        if rho
        else "spent before this run"
    )
    segments: list[tuple[str, float, Any]] = [(first, before, "#9e9e9e")]
    segments += [
        (f"this run: {name}", eps, colors(i % 10))
        for i, (name, eps) in enumerate(sorted(per_release.items()))
    ]
    segments.append(("remaining", budget["remainingEpsilon"], "#e8f5e9"))
    for label, width, color in segments:
        if width <= 0:
            continue
        ax.barh([0], [width], left=left, color=color, edgecolor="#333333", label=label)
        left += width
    ax.axvline(budget["epsilonBudget"], color="#c62828", linestyle="--", label="budget")
    ax.set_yticks([])
    ax.set_xlabel(f"epsilon ({budget['dataset']}, window {budget['window']})")
    ax.set_xlim(0, max(budget["epsilonBudget"], left) * 1.02)
    ax.set_title("Privacy budget use")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.35), ncol=3, fontsize=8, frameon=False)
    fig.savefig(path, metadata={"Software": None}, bbox_inches="tight", pad_inches=0.1)
    plt.close(fig)
    return True


_CJK_RE = re.compile(r"[\u3000-\u9fff\uff00-\uffef]")


def _cjk_font() -> str | None:
    """The name of an installed font with CJK glyphs, if any (e.g. Noto Sans CJK)."""
    from matplotlib import font_manager

    for f in font_manager.fontManager.ttflist:
        if any(k in f.name for k in ("CJK", "WenQuanYi", "Source Han", "Droid Sans Fallback")):
            return str(f.name)
    return None


def _chart_labels(labels: list[str]) -> tuple[list[str], list[str]]:
    """Labels and a font family list for a chart: bilingual labels (``重要价值客户 / important
    value``) keep their Chinese only when a CJK font is installed; otherwise the English half is
    drawn, so no glyph is missing."""
    if not any(_CJK_RE.search(t) for t in labels):
        return labels, []
    font = _cjk_font()
    if font is not None:
        return labels, [font, "DejaVu Sans"]
    return [t.split(" / ", 1)[1] if " / " in t else t for t in labels], []


def _chart_segments(facet: dict[str, Any], path: Path) -> bool:
    releases: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for r in facet.get("dpReleases", []):
        releases[r["release"]].append(r)
    if not releases:
        return False
    n = len(releases)
    fig, axes = plt.subplots(n, 1, figsize=(8, 2.8 * n), dpi=100, squeeze=False)
    for ax, (name, rows) in zip(axes[:, 0], sorted(releases.items()), strict=True):
        labels, family = _chart_labels([r["group"] for r in rows])
        if family:
            plt.rcParams["font.family"] = family
        values = [r["value"] for r in rows]
        low = [max(r["value"] - r["ciLow"], 0.0) for r in rows]
        high = [max(r["ciHigh"] - r["value"], 0.0) for r in rows]
        ax.bar(labels, values, color="#1565c0", yerr=[low, high], capsize=4, ecolor="#333333")
        ax.set_title(f"{name}: noisy sizes with 95% intervals")
        ax.set_ylabel("users (DP)")
        ax.tick_params(axis="x", labelrotation=20, labelsize=8)
    fig.tight_layout()
    fig.savefig(path, metadata={"Software": None})
    plt.close(fig)
    plt.rcParams["font.family"] = ["sans-serif"]
    return True


def _sections(events: list[dict[str, Any]], out_dir: Path) -> tuple[str, list[_Section]]:
    start = events[0]
    final = events[-1]
    run_id = final["run"]["runId"]
    job = final["job"]
    status = final.get("eventType", "?")
    facet: dict[str, Any] = final["run"].get("facets", {}).get(PRIVACY_FACET_NAME) or {}
    title = f"Lineage of run {run_id}"
    out: list[_Section] = []

    head = _Section("Run")
    head.rows = [
        ["Job", f"{job['namespace']} / {job['name']}"],
        ["Status", status],
        ["Started", start["eventTime"]],
        ["Ended", final["eventTime"]],
        ["Producer", final["producer"]],
    ]
    err = final["run"].get("facets", {}).get("errorMessage")
    if err:
        head.rows.append(["Error", err["message"]])
    out.append(head)

    if facet:
        p = facet["processing"]
        ropa = _Section("Record of processing activities")
        ropa.headers = ["Item", "Value"]
        ropa.rows = [
            ["Controller", p["controller"]],
            ["Purpose", f"{p['purposeName']} ({p['purpose']})"],
            ["Legal basis", p["legalBasis"]],
            ["Data categories", ", ".join(p["dataCategories"])],
            ["Data subjects", ", ".join(p["dataSubjects"])],
            ["Recipients", "; ".join(p["recipients"])],
            [
                "Retention",
                ", ".join(f"{t}: {d} days" for t, d in p["retentionDays"].items()),
            ],
            ["Impact assessment", p["assessmentId"] or "none recorded"],
            ["Policy", f"{facet['policy']['name']} ({facet['policy']['digest']})"],
        ]
        out.append(ropa)

    flow = _Section("Flow")
    inputs = [d["name"] for d in final.get("inputs", []) or start.get("inputs", [])]
    outputs = [d["name"] for d in final.get("outputs", [])]
    stages: list[str] = []
    for d in final.get("outputs", []):
        cl = d.get("facets", {}).get("columnLineage", {}).get("fields", {})
        for spec in cl.values():
            for src in spec["inputFields"]:
                for t in src.get("transformations", []):
                    if t["description"] not in stages:
                        stages.append(t["description"])
    order = {t.description: i for i, t in enumerate(Transform)}
    stages.sort(key=lambda d: order.get(d, len(order)))
    policy = f"policy {facet['policy']['name']}" if facet else "policy"
    flow.flow = [
        policy,
        "inputs: " + (", ".join(inputs) or "none"),
        *(f"stage: {s}" for s in stages),
        "release guard (identifiers, pseudonyms, PII)",
        "outputs: " + (", ".join(outputs) or "none"),
    ]
    out.append(flow)

    if facet:
        keys = _Section("Keys (ids and fingerprints only)")
        keys.headers = ["Role", "Key id", "Fingerprint", "Development key"]
        keys.rows = [
            [k["role"], k["keyId"], k["fingerprint"], "YES" if k["developmentKey"] else "no"]
            for k in facet["keys"]
        ]
        out.append(keys)

        counts = _Section("Counts per table and rule")
        counts.headers = ["Table", "Input", "Accepted", "Excluded (reason: rows)", "Quarantined"]
        for t, c in facet["tables"].items():
            counts.rows.append(
                [
                    t,
                    str(c["input"]),
                    str(c["accepted"]),
                    ", ".join(f"{r}: {n}" for r, n in c["excluded"].items()) or "-",
                    ", ".join(f"{r}: {n}" for r, n in c["quarantined"].items()) or "-",
                ]
            )
        out.append(counts)

        pii = _Section("PII findings per entity type")
        pii.headers = ["Entity type", "Findings"]
        pii.rows = [[k, str(v)] for k, v in facet["piiFindings"].items()] or [["none", "0"]]
        out.append(pii)

        k = facet.get("kAnonymity")
        if k:
            ka = _Section("k-anonymity")
            ka.headers = ["k", "Smallest class", "Classes below k", "Rows suppressed", "QIs"]
            ka.rows = [
                [
                    str(k["k"]),
                    str(k["smallestClass"]),
                    str(k["classesBelowK"]),
                    str(k["rowsSuppressed"]),
                    ", ".join(k["quasiIdentifiers"]),
                ]
            ]
            out.append(ka)

        dp = _Section("Differential privacy mechanisms")
        dp.headers = [
            "Release", "Label", "Mechanism", "epsilon", "delta", "rho", "Sensitivity", "Scale",
        ]  # fmt: skip
        dp.rows = [
            [
                m["release"],
                m["label"],
                m["mechanism"],
                _g(m["epsilon"]),
                _g(m["delta"]),
                _g(m.get("rho", 0.0)),
                _g(m["sensitivity"]),
                _g(m["noiseScale"]),
            ]
            for m in facet["dpMechanisms"]
        ]
        out.append(dp)

        b = facet.get("budget")
        if b:
            bs = _Section("Privacy budget")
            bs.headers = ["Dataset", "Window", "epsilon spent / budget", "delta spent / budget"]
            bs.rows = [
                [
                    b["dataset"],
                    b["window"],
                    f"{_g(b['spentEpsilon'])} / {_g(b['epsilonBudget'])} "
                    f"(remaining {_g(b['remainingEpsilon'])})",
                    f"{_g(b['spentDelta'])} / {_g(b['deltaBudget'])} "
                    f"(remaining {_g(b['remainingDelta'])})",
                ]
            ]
            if _chart_budget(facet, out_dir / BUDGET_PNG):
                bs.image, bs.alt = BUDGET_PNG, "Privacy budget use"
            out.append(bs)

        if facet.get("dpReleases"):
            seg = _Section("Released aggregates (noisy, with 95% intervals)")
            seg.headers = ["Release", "Group", "Value", "95% interval"]
            seg.rows = [
                [r["release"], r["group"], _g(r["value"]), f"[{_g(r['ciLow'])}, {_g(r['ciHigh'])}]"]
                for r in facet["dpReleases"]
            ]
            if _chart_segments(facet, out_dir / SEGMENTS_PNG):
                seg.image, seg.alt = SEGMENTS_PNG, "Segment sizes with 95% intervals"
            out.append(seg)

    cols = _Section("Column lineage")
    cols.headers = ["Output field", "From", "Transformation", "Masked"]
    for d in final.get("outputs", []):
        cl = d.get("facets", {}).get("columnLineage", {}).get("fields", {})
        for fname, spec in cl.items():
            for src in spec["inputFields"]:
                for t in src.get("transformations", []):
                    cols.rows.append(
                        [
                            f"{d['name']}.{fname}",
                            f"{src['name']}.{src['field']}",
                            f"{t['type']}/{t.get('subtype', '')}: {t.get('description', '')}",
                            "yes" if t.get("masking") else "no",
                        ]
                    )
    out.append(cols)

    tags = _Section("Input fields and their data categories")
    tags.headers = ["Dataset", "Field", "Category", "PII", "Sensitive"]
    for d in final.get("inputs", []):
        per: dict[str, dict[str, str]] = defaultdict(dict)
        for t in d.get("facets", {}).get("tags", {}).get("tags", []):
            per[t["field"]][t["key"]] = t["value"]
        for fname, kv in per.items():
            tags.rows.append(
                [
                    d["name"],
                    fname,
                    kv.get("category", ""),
                    kv.get("pii", ""),
                    kv.get("sensitive", ""),
                ]
            )
    out.append(tags)
    return title, out


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _markdown(title: str, sections: list[_Section]) -> str:
    lines = [f"# {title}", "", "Generated from the run's OpenLineage events only.", ""]
    for s in sections:
        lines += [f"## {s.title}", ""]
        lines += [*s.paragraphs]
        if s.flow:
            lines.append(" → ".join(f"**{_md_cell(step)}**" for step in s.flow))
            lines.append("")
        if s.rows:
            headers = s.headers or [""] * len(s.rows[0])
            lines.append("| " + " | ".join(_md_cell(h) for h in headers) + " |")
            lines.append("|" + "---|" * len(headers))
            lines += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in s.rows]
            lines.append("")
        if s.image:
            lines += [f"![{s.alt}]({s.image})", ""]
    return "\n".join(lines).rstrip() + "\n"


_CSS = """
body{font-family:-apple-system,"Segoe UI",Roboto,"Noto Sans CJK SC","Noto Sans",sans-serif;
margin:2rem auto;max-width:1000px;color:#212121;line-height:1.45;padding:0 1rem}
h1{font-size:1.5rem;border-bottom:2px solid #1565c0;padding-bottom:.3rem}
h2{font-size:1.15rem;margin-top:1.8rem;color:#0d47a1}
table{border-collapse:collapse;width:100%;margin:.5rem 0;font-size:.9rem}
th,td{border:1px solid #cfd8dc;padding:.3rem .5rem;text-align:left;vertical-align:top;
word-break:break-word}
th{background:#e3f2fd}
tr:nth-child(even) td{background:#fafafa}
.flow{display:flex;flex-wrap:wrap;align-items:center;gap:.4rem}
.step{border:1px solid #1565c0;border-radius:6px;padding:.35rem .6rem;background:#e3f2fd;
font-size:.85rem}
.arrow{color:#1565c0;font-weight:bold}
img{max-width:100%;border:1px solid #eceff1}
.note{color:#546e7a;font-size:.85rem}
"""


def _html(title: str, sections: list[_Section]) -> str:
    e = html.escape
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{e(title)}</title>",
        f"<style>{_CSS}</style></head><body>",
        f"<h1>{e(title)}</h1>",
        '<p class="note">Generated from the run\'s OpenLineage events only.</p>',
    ]
    for s in sections:
        parts.append(f"<h2>{e(s.title)}</h2>")
        parts += [f"<p>{e(p)}</p>" for p in s.paragraphs]
        if s.flow:
            steps = '<span class="arrow">&rarr;</span>'.join(
                f'<span class="step">{e(step)}</span>' for step in s.flow
            )
            parts.append(f'<div class="flow">{steps}</div>')
        if s.rows:
            parts.append("<table>")
            if s.headers:
                parts.append("<thead><tr>")
                parts += [f"<th>{e(h)}</th>" for h in s.headers]
                parts.append("</tr></thead>")
            parts.append("<tbody>")
            for row in s.rows:
                parts.append("<tr>" + "".join(f"<td>{e(c)}</td>" for c in row) + "</tr>")
            parts.append("</tbody></table>")
        if s.image:
            parts.append(f'<p><img src="{e(s.image)}" alt="{e(s.alt)}"></p>')
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def render_lineage_doc(events_path: str | Path, out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``lineage.md`` and ``lineage.html`` (plus PNG charts) for the run whose events are
    in ``events_path``; return the two document paths."""
    events = read_events(events_path)
    if not events or events[0].get("eventType") != "START":
        raise AuditError(f"{events_path}: no START event; cannot document the run")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    for stale in (BUDGET_PNG, SEGMENTS_PNG):
        (out / stale).unlink(missing_ok=True)
    title, sections = _sections(events, out)
    md_path = out / "lineage.md"
    html_path = out / "lineage.html"
    md_path.write_text(_markdown(title, sections), encoding="utf-8")
    html_path.write_text(_html(title, sections), encoding="utf-8")
    return md_path, html_path
