"""Small server-side SVG plots: lines (optionally on a log axis), timelines and swimmer bars, and
proportions with their confidence intervals.

Plain SVG text, no script and nothing fetched: a page prints and archives as it was shown. Each plot
carries ``<title>`` and ``<desc>`` (``role="img"``, ``aria-labelledby``) and the template puts the
plotted numbers in a table beside it, so the figure is never the only place a value is shown. Colours
are the Okabe-Ito palette (distinguishable with colour-vision deficiency) and every series also
differs by marker shape or dash.
"""

import itertools
import math
from dataclasses import dataclass, field

from django.utils.html import escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext

PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#F0E442")
DASHES = ("", "6 3", "2 3", "8 3 2 3")
SHAPES = ("circle", "square", "triangle", "diamond")
FONT = 'font-family="system-ui, sans-serif" font-size="11"'
_ids = itertools.count(1)


@dataclass
class Series:
    label: str
    points: list  # [(x, y)]; y None is a gap
    color: str = ""
    dash: str = ""
    shape: str = ""
    step: bool = False  # a dose held until the next change


@dataclass
class Bar:
    start: float
    end: float
    color: str
    text: str  # the tooltip


@dataclass
class Mark:
    x: float
    color: str
    text: str
    filled: bool = True
    shape: str = "circle"


@dataclass
class Row:
    label: str
    bars: list = field(default_factory=list)
    marks: list = field(default_factory=list)


def _num(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".") if value == value else "0"


def _nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    if hi <= lo:
        hi = lo + 1
    raw = (hi - lo) / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.ceil(lo / step) * step
    ticks, value = [], first
    while value <= hi + step * 1e-9:
        ticks.append(round(value, 10))
        value += step
    return ticks


def _label(value: float) -> str:
    if abs(value) >= 10000 or (0 < abs(value) < 0.01):
        exponent = math.floor(math.log10(abs(value)))
        mantissa = value / 10**exponent
        return f"10^{exponent}" if round(mantissa, 6) == 1 else f"{mantissa:g}e{exponent}"
    return f"{value:g}"


class Frame:
    """Plot area and axes mapping data to pixels."""

    def __init__(self, width, height, x_lo, x_hi, y_lo, y_hi, *, log_y=False, left=56, top=30):
        self.width, self.height, self.log_y = width, height, log_y
        self.left, self.right, self.top, self.bottom = left, width - 16, top, height - 40
        self.x_lo, self.x_hi = x_lo, x_hi if x_hi > x_lo else x_lo + 1
        if log_y:
            y_lo = max(y_lo, 1e-12)
            self.y_lo, self.y_hi = math.floor(math.log10(y_lo)), math.ceil(math.log10(max(y_hi, y_lo * 10)))
            if self.y_hi <= self.y_lo:
                self.y_hi = self.y_lo + 1
        else:
            self.y_lo, self.y_hi = y_lo, y_hi if y_hi > y_lo else y_lo + 1

    def x(self, value: float) -> float:
        return self.left + (value - self.x_lo) / (self.x_hi - self.x_lo) * (self.right - self.left)

    def y(self, value: float) -> float:
        if self.log_y:
            value = math.log10(max(value, 10**self.y_lo))
        return self.bottom - (value - self.y_lo) / (self.y_hi - self.y_lo) * (self.bottom - self.top)

    def y_ticks(self) -> list[tuple[float, str]]:
        if self.log_y:
            return [(10**e, _label(10**e)) for e in range(self.y_lo, self.y_hi + 1)]
        return [(t, _label(t)) for t in _nice_ticks(self.y_lo, self.y_hi) if self.y_lo <= t <= self.y_hi]


def _open(width, height, title, desc) -> tuple[list[str], str]:
    n = next(_ids)
    ids = f"svg{n}-title svg{n}-desc"
    parts = [
        # No style attribute (the Content-Security-Policy refuses inline style): edc.css lets the plot
        # shrink below its natural width.
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="{width}" '
        f'role="img" aria-labelledby="{ids}" class="edc-plot">',
        f'<title id="svg{n}-title">{escape(title)}</title><desc id="svg{n}-desc">{escape(desc)}</desc>',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#fff"/>',
    ]
    return parts, f"svg{n}"


def _axes(parts, frame: Frame, x_ticks, x_label, y_label):
    f = frame
    for value, text in f.y_ticks():
        y = f.y(value)
        parts.append(f'<line x1="{f.left}" x2="{f.right}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{f.left - 4}" y="{y + 4:.1f}" text-anchor="end" {FONT}>{escape(text)}</text>')
    for value, text in x_ticks:
        x = f.x(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.bottom}" y2="{f.bottom + 4}" stroke="#333"/>')
        parts.append(
            f'<text x="{x:.1f}" y="{f.bottom + 16}" text-anchor="middle" {FONT}>{escape(text)}</text>'
        )
    parts.append(
        f'<polyline points="{f.left},{f.top} {f.left},{f.bottom} {f.right},{f.bottom}" '
        'fill="none" stroke="#333"/>'
    )
    parts.append(
        f'<text x="{(f.left + f.right) / 2:.0f}" y="{f.height - 6}" text-anchor="middle" {FONT}>'
        f"{escape(x_label)}</text>"
    )
    parts.append(
        f'<text transform="translate(12 {(f.top + f.bottom) / 2:.0f}) rotate(-90)" text-anchor="middle" '
        f"{FONT}>{escape(y_label)}</text>"
    )


def _marker(shape, x, y, color, filled=True, size=3.5, tip=""):
    fill = color if filled else "#fff"
    tip = f"<title>{escape(tip)}</title>" if tip else ""
    common = f'fill="{fill}" stroke="{color}" stroke-width="1.5"'
    if shape == "square":
        s = size * 0.9
        box = f'x="{x - s:.1f}" y="{y - s:.1f}" width="{2 * s:.1f}" height="{2 * s:.1f}"'
        return f"<rect {box} {common}>{tip}</rect>"
    if shape == "triangle":
        pts = f"{x:.1f},{y - size - 1:.1f} {x - size:.1f},{y + size:.1f} {x + size:.1f},{y + size:.1f}"
        return f'<polygon points="{pts}" {common}>{tip}</polygon>'
    if shape == "diamond":
        s = size + 0.5
        pts = f"{x:.1f},{y - s:.1f} {x + s:.1f},{y:.1f} {x:.1f},{y + s:.1f} {x - s:.1f},{y:.1f}"
        return f'<polygon points="{pts}" {common}>{tip}</polygon>'
    return f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{size}" {common}>{tip}</circle>'


def _legend_width(text) -> float:
    return 30 + 6.2 * len(text)


def legend_lines(entries, left, right) -> int:
    """How many lines the legend takes between ``left`` and ``right``."""
    lines, x = 1, left
    for *_style, text in entries:
        if x > left and x + _legend_width(text) > right:
            lines, x = lines + 1, left
        x += _legend_width(text)
    return lines


def _legend(parts, entries, left, top=14, right=None):
    x, y = left, top
    for color, dash, shape, text in entries:
        if right is not None and x > left and x + _legend_width(text) > right:
            x, y = left, y + 14
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        parts.append(
            f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{color}" '
            f'stroke-width="2"{dash_attr}/>'
        )
        parts.append(_marker(shape, x + 9, y - 4, color, size=3))
        parts.append(f'<text x="{x + 22}" y="{y}" {FONT}>{escape(text)}</text>')
        x += _legend_width(text)


def _styled(series: list[Series]) -> list[Series]:
    for i, s in enumerate(series):
        s.color = s.color or PALETTE[i % len(PALETTE)]
        s.dash = s.dash if s.dash else DASHES[i % len(DASHES)]
        s.shape = s.shape or SHAPES[i % len(SHAPES)]
    return series


def line_plot(
    title,
    desc,
    series,
    *,
    x_label,
    y_label,
    x_ticks=None,
    log_y=False,
    y_min=None,
    y_max=None,
    x_min=None,
    x_max=None,
    vlines=(),
    width=640,
    height=260,
):
    """Lines over x (study day). On a log axis, values at or below the axis floor (a B-cell count of
    0) sit on the floor as hollow markers; the table beside the plot gives the value."""
    series = _styled(list(series))
    xs = [x for s in series for x, y in s.points if y is not None]
    ys = [y for s in series for x, y in s.points if y is not None]
    x_lo = x_min if x_min is not None else min(xs, default=0)
    x_hi = x_max if x_max is not None else max(xs, default=1)
    if log_y:
        positive = [y for y in ys if y > 0]
        lo = y_min if y_min is not None else min(positive, default=1)
        hi = y_max if y_max is not None else max(positive, default=10)
    else:
        lo = y_min if y_min is not None else min([0, *ys])
        hi = y_max if y_max is not None else max(ys, default=1)
        hi = hi if hi > lo else lo + 1
    entries = [(s.color, s.dash, s.shape, s.label) for s in series]
    top = 16 + 14 * legend_lines(entries, 56, width - 16)
    frame = Frame(width, height + top - 30, x_lo, x_hi, lo, hi, log_y=log_y, top=top)
    height = frame.height
    parts, _ = _open(width, height, title, desc)
    ticks = (
        x_ticks if x_ticks is not None else [(t, _label(t)) for t in _nice_ticks(frame.x_lo, frame.x_hi, 8)]
    )
    _axes(parts, frame, [(v, t) for v, t in ticks if frame.x_lo <= v <= frame.x_hi], x_label, y_label)
    for x, text in vlines:
        if frame.x_lo <= x <= frame.x_hi:
            px = frame.x(x)
            parts.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{frame.top}" y2="{frame.bottom}" stroke="#888" '
                'stroke-dasharray="3 3"/>'
            )
            parts.append(
                f'<text x="{px + 3:.1f}" y="{frame.top + 10}" {FONT} fill="#555">{escape(text)}</text>'
            )
    floor = 10**frame.y_lo if log_y else None
    for s in series:
        segments, current = [], []
        for x, y in s.points:
            if y is None:
                if current:
                    segments.append(current)
                current = []
                continue
            current.append((x, y))
        if current:
            segments.append(current)
        for segment in segments:
            coords = []
            for k, (x, y) in enumerate(segment):
                if s.step and k:
                    coords.append(f"{frame.x(x):.1f},{frame.y(segment[k - 1][1]):.1f}")
                coords.append(f"{frame.x(x):.1f},{frame.y(y):.1f}")
            dash = f' stroke-dasharray="{s.dash}"' if s.dash else ""
            parts.append(
                f'<polyline points="{" ".join(coords)}" fill="none" stroke="{s.color}" '
                f'stroke-width="2"{dash}/>'
            )
        for x, y in s.points:
            if y is None:
                continue
            below = floor is not None and y <= floor
            parts.append(
                _marker(
                    s.shape,
                    frame.x(x),
                    frame.y(y),
                    s.color,
                    not below,
                    tip=gettext("%(series)s: %(value)s (day %(day)s)")
                    % {"series": s.label, "value": _num(y), "day": _num(x)},
                )
            )
    _legend(parts, entries, frame.left, right=frame.right)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def proportion_plot(title, desc, categories, series, *, y_label, width=640, height=260):
    """Proportions (0-1) per category with their confidence intervals; ``series`` is
    ``[(label, [(p, lower, upper) or None per category])]``."""
    styled = _styled([Series(label, []) for label, _ in series])
    frame = Frame(width, height, -0.5, len(categories) - 0.5, 0, 1)
    parts, _ = _open(width, height, title, desc)
    _axes(parts, frame, list(enumerate(categories)), "", y_label)
    spread = 0.6 / max(len(series), 1)
    for k, ((_label_text, values), style) in enumerate(zip(series, styled, strict=True)):
        offset = (k - (len(series) - 1) / 2) * spread
        for i, value in enumerate(values):
            if value is None:
                continue
            p, lo, hi = value
            x = frame.x(i + offset)
            parts.append(
                f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{frame.y(lo):.1f}" y2="{frame.y(hi):.1f}" '
                f'stroke="{style.color}" stroke-width="1.5"/>'
            )
            for bound in (lo, hi):
                parts.append(
                    f'<line x1="{x - 3:.1f}" x2="{x + 3:.1f}" '
                    f'y1="{frame.y(bound):.1f}" y2="{frame.y(bound):.1f}" '
                    f'stroke="{style.color}" stroke-width="1.5"/>'
                )
            tip = f"{style.label} {categories[i]}: {p:.0%} ({lo:.0%}–{hi:.0%})"
            parts.append(_marker(style.shape, x, frame.y(p), style.color, tip=tip))
    _legend(parts, [(s.color, "", s.shape, s.label) for s in styled], frame.left)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped


def timeline(
    title,
    desc,
    rows,
    *,
    x_min,
    x_max,
    x_label,
    legend=(),
    vlines=(),
    width=720,
    row_height=18,
    label_width=120,
):
    """One horizontal lane per row: bars (an AE from onset to resolution, time on study) and marks (a
    visit and its state)."""
    legend = list(legend)
    top = 30 + 14 * legend_lines(legend, label_width, width - 16)
    height = top + 30 + row_height * max(len(rows), 1)
    frame = Frame(width, height, x_min, x_max, 0, 1, left=label_width, top=top)
    parts, _ = _open(width, height, title, desc)
    ticks = [(t, _label(t)) for t in _nice_ticks(x_min, x_max, 8)]
    f = frame
    for value, text in ticks:
        if x_min <= value <= x_max:
            x = f.x(value)
            parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{f.top}" y2="{f.bottom}" stroke="#eee"/>')
            parts.append(f'<text x="{x:.1f}" y="{f.bottom + 14}" text-anchor="middle" {FONT}>{text}</text>')
    parts.append(f'<line x1="{f.left}" x2="{f.right}" y1="{f.bottom}" y2="{f.bottom}" stroke="#333"/>')
    parts.append(
        f'<text x="{(f.left + f.right) / 2:.0f}" y="{height - 6}" text-anchor="middle" {FONT}>'
        f"{escape(x_label)}</text>"
    )
    for x, text in vlines:
        if x_min <= x <= x_max:
            px = f.x(x)
            parts.append(
                f'<line x1="{px:.1f}" x2="{px:.1f}" y1="{f.top - 4}" y2="{f.bottom}" stroke="#555" '
                'stroke-dasharray="3 3"/>'
            )
            parts.append(f'<text x="{px + 3:.1f}" y="{f.top - 6}" {FONT} fill="#333">{escape(text)}</text>')
    for i, row in enumerate(rows):
        y = f.top + 4 + i * row_height
        mid = y + row_height / 2 - 2
        parts.append(
            f'<text x="{f.left - 6}" y="{mid + 4:.1f}" text-anchor="end" {FONT}>{escape(row.label)}</text>'
        )
        for bar in row.bars:
            x1, x2 = f.x(max(bar.start, x_min)), f.x(min(bar.end, x_max))
            parts.append(
                f'<rect x="{x1:.1f}" y="{y + 2:.1f}" width="{max(x2 - x1, 2):.1f}" height="{row_height - 8}" '
                f'fill="{bar.color}" fill-opacity="0.75" stroke="{bar.color}">'
                f"<title>{escape(bar.text)}</title></rect>"
            )
        for mark in row.marks:
            if x_min <= mark.x <= x_max:
                parts.append(_marker(mark.shape, f.x(mark.x), mid, mark.color, mark.filled, 4, mark.text))
    _legend(parts, legend, f.left, right=f.right)
    parts.append("</svg>")
    return mark_safe("".join(parts))  # every text above is escaped
