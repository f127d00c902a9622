"""Charts as text: Mermaid blocks for Markdown (GitHub draws them) and inline SVG for HTML.

Both are built from plain numbers here, so the report needs no JavaScript, no network and no
plotting library. Every text that goes into an SVG is XML-escaped.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

PALETTE = ("#2f81f7", "#f78166", "#3fb950", "#d29922", "#a371f7")


@dataclass(frozen=True)
class Series:
    name: str
    values: tuple[float, ...]


def _mermaid_label(text: str) -> str:
    """Quoted Mermaid text; quotes inside would end it."""
    return '"' + text.replace('"', "'") + '"'


def _nice_max(value: float) -> float:
    """A round axis maximum at or above ``value`` (1, 2, 5 × a power of ten)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    for factor in (1, 2, 5, 10):
        if step * factor >= value:
            return step * factor
    return step * 10


def mermaid_xychart(
    title: str, x_labels: Sequence[str], bars: Series, line: Series | None = None
) -> str:
    """A Mermaid ``xychart-beta``: one bar series and an optional line series."""
    peak = max([*bars.values, *(line.values if line else ()), 0])
    rows = [
        "xychart-beta",
        f"    title {_mermaid_label(title)}",
        "    x-axis [" + ", ".join(_mermaid_label(x) for x in x_labels) + "]",
        f'    y-axis "count" 0 --> {_nice_max(peak):g}',
        "    bar [" + ", ".join(f"{v:g}" for v in bars.values) + "]",
    ]
    if line is not None:
        rows.append("    line [" + ", ".join(f"{v:g}" for v in line.values) + "]")
    return "\n".join(rows)


def mermaid_pie(title: str, slices: Sequence[tuple[str, float]]) -> str:
    """A Mermaid pie; empty slices are left out (Mermaid draws nothing for them anyway)."""
    rows = ["pie showData", f"    title {_mermaid_label(title)}"]
    rows += [f"    {_mermaid_label(name)} : {value:g}" for name, value in slices if value > 0]
    return "\n".join(rows)


def svg_bars(
    title: str,
    x_labels: Sequence[str],
    series: Sequence[Series],
    *,
    width: int = 940,
    height: int = 240,
    label_every: int = 1,
) -> str:
    """A grouped vertical bar chart with axes, a legend and a ``<title>`` for screen readers."""
    left, right, top, bottom = 40, 10, 30, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    peak = _nice_max(max([v for s in series for v in s.values] + [0]))
    groups = max(1, len(x_labels))
    group_w = plot_w / groups
    bar_w = max(1.0, group_w * 0.8 / max(1, len(series)))
    parts = [_svg_open(width, height, title)]
    for fraction in (0.0, 0.5, 1.0):
        y = top + plot_h * (1 - fraction)
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" class="grid"/>'
            f'<text x="{left - 4}" y="{y + 4:.1f}" text-anchor="end">{peak * fraction:g}</text>'
        )
    for g, label in enumerate(x_labels):
        x0 = left + g * group_w + group_w * 0.1
        for s_index, s in enumerate(series):
            value = s.values[g] if g < len(s.values) else 0
            h = plot_h * value / peak
            x = x0 + s_index * bar_w
            parts.append(
                f'<rect x="{x:.1f}" y="{top + plot_h - h:.1f}" width="{bar_w:.1f}" '
                f'height="{h:.1f}" fill="{PALETTE[s_index % len(PALETTE)]}">'
                f"<title>{escape(label)}: {escape(s.name)} {value:g}</title></rect>"
            )
        if g % label_every == 0:
            cx = left + g * group_w + group_w / 2
            parts.append(
                f'<text x="{cx:.1f}" y="{height - bottom + 16}" text-anchor="middle">'
                f"{escape(label)}</text>"
            )
    parts.append(_legend(series, left, height - 8))
    parts.append("</svg>")
    return "".join(parts)


def svg_hbars(title: str, rows: Sequence[tuple[str, float]], *, width: int = 940) -> str:
    """A horizontal bar chart, one named row each (e.g. people and their contributions)."""
    row_h, left, right, top = 22, 160, 50, 30
    height = top + row_h * max(1, len(rows)) + 10
    peak = max([v for _, v in rows] + [0]) or 1
    parts = [_svg_open(width, height, title)]
    if not rows:
        parts.append(f'<text x="{left}" y="{top + 15}">nothing in this window</text>')
    for i, (name, value) in enumerate(rows):
        y = top + i * row_h
        w = (width - left - right) * value / peak
        parts.append(
            f'<text x="{left - 6}" y="{y + 15}" text-anchor="end">{escape(name)}</text>'
            f'<rect x="{left}" y="{y + 3}" width="{w:.1f}" height="{row_h - 6}" '
            f'fill="{PALETTE[0]}"><title>{escape(name)}: {value:g}</title></rect>'
            f'<text x="{left + w + 4:.1f}" y="{y + 15}">{value:g}</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _svg_open(width: int, height: int, title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{width}" height="{height}" role="img" class="chart">'
        f"<title>{escape(title)}</title>"
        f'<text x="8" y="18" class="chart-title">{escape(title)}</text>'
    )


def _legend(series: Sequence[Series], x: int, y: int) -> str:
    if len(series) < 2:
        return ""
    parts = []
    left = x
    for i, s in enumerate(series):
        parts.append(
            f'<rect x="{left}" y="{y - 9}" width="10" height="10" '
            f'fill="{PALETTE[i % len(PALETTE)]}"/>'
            f'<text x="{left + 14}" y="{y}">{escape(s.name)}</text>'
        )
        left += 14 + int(len(s.name) * 6.5) + 24  # about 6.5 px per character at 11 px
    return "".join(parts)
