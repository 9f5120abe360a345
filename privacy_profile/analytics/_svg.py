"""Tiny inline-SVG charts with interval bars for the marketer report (no external assets).

Every label is escaped; numbers are formatted by the caller's ``fmt``. Output is deterministic.
"""

from __future__ import annotations

import html
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

__all__ = ["Series", "bar_chart", "line_chart"]

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2",
           "#7f7f7f", "#bcbd22", "#17becf")  # fmt: skip

Fmt = Callable[[float], str]


def _e(text: str) -> str:
    return html.escape(str(text), quote=True)


def _finite(v: float | None) -> bool:
    return v is not None and isinstance(v, int | float) and math.isfinite(v)


def _nice_max(v: float) -> float:
    if v <= 0 or not math.isfinite(v):
        return 1.0
    mag = 10.0 ** math.floor(math.log10(v))
    for step in (1, 2, 2.5, 5, 10):
        if v <= step * mag:
            return step * mag
    return 10 * mag


def bar_chart(
    labels: Sequence[str],
    values: Sequence[float],
    lows: Sequence[float],
    highs: Sequence[float],
    *,
    title: str,
    fmt: Fmt,
    width: int = 640,
    height: int = 280,
    y_max: float | None = None,
) -> str:
    """Vertical bars with 95% interval whiskers; a missing (suppressed) value draws no bar."""
    left, right, top, bottom = 64, 16, 28, 56
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [h for h in highs if _finite(h)] + [v for v in values if _finite(v)]
    top_v = y_max if y_max is not None else _nice_max(max(finite, default=1.0))
    lowest = min([lo for lo in lows if _finite(lo)] + [v for v in values if _finite(v)] + [0.0])
    bot_v = -_nice_max(-lowest) if lowest < 0 else 0.0
    n = max(len(labels), 1)
    slot = plot_w / n
    bar_w = min(slot * 0.6, 80)

    def y(v: float) -> float:
        return top + plot_h * (1 - max(min((v - bot_v) / (top_v - bot_v), 1.0), 0.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{_e(title)}">',
        f'<text x="{left}" y="18" class="t">{_e(title)}</text>',
        f'<line x1="{left}" y1="{y(0.0):.1f}" x2="{left + plot_w}" y2="{y(0.0):.1f}" '
        'stroke="#444"/>',
    ]
    for i in range(5):
        v = bot_v + (top_v - bot_v) * i / 4
        yy = y(v)
        parts.append(
            f'<line x1="{left}" y1="{yy:.1f}" x2="{left + plot_w}" y2="{yy:.1f}" stroke="#ddd"/>'
            f'<text x="{left - 6}" y="{yy + 4:.1f}" text-anchor="end" class="a">{_e(fmt(v))}</text>'
        )
    for i, label in enumerate(labels):
        cx = left + slot * (i + 0.5)
        v, lo, hi = values[i], lows[i], highs[i]
        if _finite(v):
            y_top, y_bot = min(y(v), y(0.0)), max(y(v), y(0.0))
            parts.append(
                f'<rect x="{cx - bar_w / 2:.1f}" y="{y_top:.1f}" width="{bar_w:.1f}" '
                f'height="{y_bot - y_top:.1f}" fill="{PALETTE[i % len(PALETTE)]}" '
                'fill-opacity="0.75"/>'
            )
            label_y = min(y(v), y(hi) if _finite(hi) else y(v)) - 4
            parts.append(
                f'<text x="{cx:.1f}" y="{label_y:.1f}" text-anchor="middle" class="v">'
                f"{_e(fmt(v))}</text>"
            )
        else:
            parts.append(
                f'<text x="{cx:.1f}" y="{top + plot_h - 6:.1f}" text-anchor="middle" class="a">'
                "— suppressed</text>"
            )
        if _finite(lo) and _finite(hi):
            y1, y2 = y(lo), y(hi)
            parts.append(
                f'<path d="M{cx:.1f} {y1:.1f}V{y2:.1f}M{cx - 6:.1f} {y1:.1f}H{cx + 6:.1f}'
                f'M{cx - 6:.1f} {y2:.1f}H{cx + 6:.1f}" stroke="#111" stroke-width="1.5" '
                'fill="none"/>'
            )
        parts.append(
            f'<text x="{cx:.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="a">'
            f"{_e(label)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)


@dataclass(frozen=True)
class Series:
    name: str
    values: Sequence[float]
    lows: Sequence[float]
    highs: Sequence[float]


def line_chart(
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    title: str,
    fmt: Fmt,
    x_title: str = "",
    width: int = 640,
    height: int = 300,
    y_max: float = 1.0,
) -> str:
    """Lines with interval whiskers at each point; gaps where a value is missing."""
    left, right, top, bottom = 56, 150, 28, 48
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(x_labels) - 1, 1)

    def x(i: int) -> float:
        return left + plot_w * i / n

    def y(v: float) -> float:
        return top + plot_h * (1 - max(min(v / y_max, 1.0), 0.0))

    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" aria-label="{_e(title)}">',
        f'<text x="{left}" y="18" class="t">{_e(title)}</text>',
    ]
    for i in range(5):
        v = y_max * i / 4
        parts.append(
            f'<line x1="{left}" y1="{y(v):.1f}" x2="{left + plot_w}" y2="{y(v):.1f}" '
            f'stroke="#ddd"/><text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end" '
            f'class="a">{_e(fmt(v))}</text>'
        )
    for i, lab in enumerate(x_labels):
        parts.append(
            f'<text x="{x(i):.1f}" y="{top + plot_h + 16}" text-anchor="middle" class="a">'
            f"{_e(lab)}</text>"
        )
    if x_title:
        parts.append(
            f'<text x="{left + plot_w / 2:.1f}" y="{top + plot_h + 32}" text-anchor="middle" '
            f'class="a">{_e(x_title)}</text>'
        )
    for k, s in enumerate(series):
        color = PALETTE[k % len(PALETTE)]
        dodge = (k - (len(series) - 1) / 2) * 3.0  # keep the series' whiskers apart
        path: list[str] = []
        pen_up = True
        for i, v in enumerate(s.values):
            if not _finite(v):
                pen_up = True
                continue
            path.append(f"{'M' if pen_up else 'L'}{x(i) + dodge:.1f} {y(v):.1f}")
            pen_up = False
            lo, hi = s.lows[i], s.highs[i]
            if _finite(lo) and _finite(hi):
                parts.append(
                    f'<path d="M{x(i) + dodge:.1f} {y(lo):.1f}V{y(hi):.1f}" stroke="{color}" '
                    'stroke-opacity="0.35" stroke-width="1.5"/>'
                )
        if path:
            parts.append(
                f'<path d="{"".join(path)}" stroke="{color}" stroke-width="2" fill="none"/>'
            )
        ly = top + 14 * k + 6
        parts.append(
            f'<rect x="{left + plot_w + 12}" y="{ly - 8}" width="10" height="10" '
            f'fill="{color}"/><text x="{left + plot_w + 26}" y="{ly + 1}" class="a">'
            f"{_e(s.name)}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
