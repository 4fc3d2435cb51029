"""Inline SVG charts: grouped bars, lines over [0, 1] axes and histogram sparklines.

Plain SVG strings, so a page needs no script, font or network to show them, and every mark
carries a <title> (the browser's tooltip) with its exact value.
"""
import html
import math
from typing import List, Optional, Sequence, Tuple

CANDIDATE, BASELINE, REFERENCE = "#1a73e8", "#f29900", "#d93025"
AXIS, GRID, TEXT = "#5f6368", "#e8eaed", "#202124"
FONT = 'font-family="sans-serif" font-size="11"'


def fmt(value: Optional[float], digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "n/a"
    if abs(value) >= 1000:
        return f"{value:,.0f}"
    return f"{value:.{digits}f}"


def _esc(text) -> str:
    return html.escape(str(text), quote=True)


def _tick(value: float, top: float) -> str:
    if top >= 10:
        return f"{value:,.0f}"
    return f"{value:.2f}"


def _nice_max(value: float) -> float:
    if value <= 0:
        return 1.0
    exponent = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * exponent:
            return step * exponent
    return 10 * exponent


def _legend(series: Sequence[Tuple[str, str]], x: float, y: float) -> List[str]:
    out = []
    for name, color in series:
        out.append(f'<rect x="{x:.1f}" y="{y - 9:.1f}" width="10" height="10" fill="{color}"/>'
                   f'<text x="{x + 14:.1f}" y="{y:.1f}" fill="{TEXT}">{_esc(name)}</text>')
        x += 24 + 7 * len(name)
    return out


def bar_chart(chart_id: str, title: str, categories: Sequence[str],
              series: Sequence[Tuple[str, Sequence[Optional[float]], str]],
              y_label: str, y_max: Optional[float] = None,
              reference: Optional[Tuple[str, float]] = None,
              notes: Optional[Sequence[str]] = None, width: int = 760,
              height: int = 260) -> str:
    """Grouped vertical bars, one group per category and one bar per series.

    reference: a labelled horizontal line (e.g. the overall value or a threshold). notes: one
    extra tooltip line per category (e.g. its example count).
    """
    left, right, top, bottom = 52, 12, 34, 58
    plot_w, plot_h = width - left - right, height - top - bottom
    values = [v for _, vs, _ in series for v in vs if v is not None]
    if reference:
        values.append(reference[1])
    top_value = y_max if y_max is not None else _nice_max(max(values, default=1.0))
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_esc(chart_id)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} '
           f'role="img" aria-label="{_esc(title)}">',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold" fill="{TEXT}">'
           f'{_esc(title)}</text>']
    for i in range(5):
        value = top_value * i / 4
        y = top + plot_h - plot_h * i / 4
        out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" y2="{y:.1f}" '
                   f'stroke="{GRID}"/><text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'fill="{AXIS}">{_tick(value, top_value)}</text>')
    out.append(f'<text transform="translate(12,{top + plot_h / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle" fill="{AXIS}">{_esc(y_label)}</text>')
    n = max(len(categories), 1)
    group_w = plot_w / n
    bar_w = max(min(group_w * 0.8 / max(len(series), 1), 40), 1)
    rotate = n > 12 or max((len(str(c)) for c in categories), default=0) * 7 > group_w
    for i, category in enumerate(categories):
        x0 = left + i * group_w + (group_w - bar_w * len(series)) / 2
        for j, (name, vals, color) in enumerate(series):
            value = vals[i]
            if value is None:
                out.append(f'<text class="missing" x="{x0 + (j + 0.5) * bar_w:.1f}" '
                           f'y="{top + plot_h - 4:.1f}" text-anchor="middle" fill="{AXIS}" '
                           f'font-size="9">n/a<title>{_esc(category)}: {_esc(name)} '
                           f'undefined</title></text>')
                continue
            bar_h = plot_h * max(min(value / top_value, 1.0), 0.0)
            tip = f"{category}: {name} {fmt(value)}"
            if notes:
                tip += f" ({notes[i]})"
            out.append(f'<rect class="bar" x="{x0 + j * bar_w:.1f}" '
                       f'y="{top + plot_h - bar_h:.1f}" width="{bar_w - 1:.1f}" '
                       f'height="{bar_h:.1f}" fill="{color}"><title>{_esc(tip)}</title></rect>')
        label_x = left + (i + 0.5) * group_w
        label = _esc(str(category)[:18])
        if rotate:
            out.append(f'<text x="{label_x:.1f}" y="{top + plot_h + 10}" text-anchor="end" '
                       f'transform="rotate(-45 {label_x:.1f} {top + plot_h + 10})" '
                       f'fill="{TEXT}">{label}</text>')
        else:
            out.append(f'<text x="{label_x:.1f}" y="{top + plot_h + 15}" '
                       f'text-anchor="middle" fill="{TEXT}">{label}</text>')
    out.append(f'<line x1="{left}" x2="{left + plot_w}" y1="{top + plot_h}" '
               f'y2="{top + plot_h}" stroke="{AXIS}"/>')
    if reference:
        name, value = reference
        y = top + plot_h - plot_h * min(value / top_value, 1.0)
        out.append(f'<line class="reference" x1="{left}" x2="{left + plot_w}" y1="{y:.1f}" '
                   f'y2="{y:.1f}" stroke="{REFERENCE}" stroke-dasharray="5 3">'
                   f'<title>{_esc(name)} {fmt(value)}</title></line>')
    legend = [(name, color) for name, _, color in series]
    if reference:
        legend.append((f"{reference[0]} ({fmt(reference[1])})", REFERENCE))
    out.extend(_legend(legend, left + 260, 16))
    out.append("</svg>")
    return "".join(out)


def line_chart(chart_id: str, title: str, x_label: str, y_label: str,
               series: Sequence[Tuple[str, Sequence[Tuple[float, float]], str]],
               dashed: Sequence[str] = (), diagonal: Optional[str] = None, markers: bool = False,
               width: int = 360, height: int = 320) -> str:
    """Lines on [0, 1] x [0, 1] axes (ROC, precision-recall, calibration).

    diagonal: label of a dashed y = x reference (chance for ROC, perfect calibration).
    """
    left, right, top, bottom = 46, 12, 34, 42
    plot_w, plot_h = width - left - right, height - top - bottom

    def px(x: float) -> float:
        return left + plot_w * min(max(x, 0.0), 1.0)

    def py(y: float) -> float:
        return top + plot_h - plot_h * min(max(y, 0.0), 1.0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" data-chart="{_esc(chart_id)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}" {FONT} '
           f'role="img" aria-label="{_esc(title)}">',
           f'<text x="{left}" y="16" font-size="13" font-weight="bold" fill="{TEXT}">'
           f'{_esc(title)}</text>']
    for i in range(6):
        t = i / 5
        out.append(f'<line x1="{px(t):.1f}" x2="{px(t):.1f}" y1="{top}" y2="{top + plot_h}" '
                   f'stroke="{GRID}"/><line x1="{left}" x2="{left + plot_w}" y1="{py(t):.1f}" '
                   f'y2="{py(t):.1f}" stroke="{GRID}"/>'
                   f'<text x="{px(t):.1f}" y="{top + plot_h + 14}" text-anchor="middle" '
                   f'fill="{AXIS}">{t:.1f}</text><text x="{left - 5}" y="{py(t) + 4:.1f}" '
                   f'text-anchor="end" fill="{AXIS}">{t:.1f}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{plot_w}" height="{plot_h}" fill="none" '
               f'stroke="{AXIS}"/>'
               f'<text x="{left + plot_w / 2:.1f}" y="{height - 6}" text-anchor="middle" '
               f'fill="{AXIS}">{_esc(x_label)}</text>'
               f'<text transform="translate(12,{top + plot_h / 2:.1f}) rotate(-90)" '
               f'text-anchor="middle" fill="{AXIS}">{_esc(y_label)}</text>')
    if diagonal:
        out.append(f'<line class="reference" x1="{px(0):.1f}" y1="{py(0):.1f}" '
                   f'x2="{px(1):.1f}" y2="{py(1):.1f}" stroke="{AXIS}" stroke-dasharray="4 3">'
                   f'<title>{_esc(diagonal)}</title></line>')
    for name, points, color in series:
        points = [(x, y) for x, y in points if x is not None and y is not None]
        if not points:
            continue
        path = " ".join(f"{px(x):.1f},{py(y):.1f}" for x, y in points)
        dash = ' stroke-dasharray="6 4"' if name in dashed else ""
        out.append(f'<polyline class="series" points="{path}" fill="none" stroke="{color}" '
                   f'stroke-width="2"{dash}><title>{_esc(name)}</title></polyline>')
        if markers:
            for x, y in points:
                out.append(f'<circle cx="{px(x):.1f}" cy="{py(y):.1f}" r="3" fill="{color}">'
                           f'<title>{_esc(name)}: {fmt(x)}, {fmt(y)}</title></circle>')
    legend = [(name, color) for name, _, color in series]
    out.extend(_legend(legend, left + 6, top + 16))
    out.append("</svg>")
    return "".join(out)


def sparkline(chart_id: str, counts: Sequence[float], labels: Sequence[str],
              width: int = 120, height: int = 28) -> str:
    """A small histogram: one bar per bucket, each with its label and count as tooltip."""
    peak = max(counts, default=0) or 1
    bar_w = width / max(len(counts), 1)
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" class="spark" data-chart="{_esc(chart_id)}" '
           f'width="{width}" height="{height}" viewBox="0 0 {width} {height}">']
    for i, (count, label) in enumerate(zip(counts, labels)):
        bar_h = max((height - 2) * count / peak, 0.5 if count else 0)
        out.append(f'<rect class="bar" x="{i * bar_w:.1f}" y="{height - bar_h:.1f}" '
                   f'width="{max(bar_w - 1, 0.5):.1f}" height="{bar_h:.1f}" fill="{CANDIDATE}">'
                   f'<title>{_esc(label)}: {count:,.0f}</title></rect>')
    out.append("</svg>")
    return "".join(out)
