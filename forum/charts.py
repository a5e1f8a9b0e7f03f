"""Small accessible SVG charts drawn on the server: no script, no chart library, readable without the picture.

Every chart carries role="img", a <title> and a <desc> it is labelled by, and is meant to sit next to a
text summary saying the same thing in words. Colours come from CSS classes (site.css), so dark mode and
the CSP (no inline style) both hold.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from markupsafe import Markup, escape

WIDTH, HEIGHT = 400, 200
LEFT, RIGHT, TOP, BOTTOM = 28, 10, 10, 28


@dataclass(frozen=True)
class DayPoint:
    day: date
    value: int
    marked: bool = False


def _fmt(number: float) -> str:
    return f"{number:.1f}".rstrip("0").rstrip(".")


def _label(day: date) -> str:
    return f"{day.day} {day:%b}"


class _Frame:
    """Maps days and values onto the drawing area."""

    def __init__(self, start: date, end: date, low: int, high: int) -> None:
        self.start, self.end, self.low, self.high = start, end, low, high
        self.span_days = max((end - start).days, 1)
        self.plot_w = WIDTH - LEFT - RIGHT
        self.plot_h = HEIGHT - TOP - BOTTOM

    def x(self, day: date) -> float:
        return LEFT + (day - self.start).days * self.plot_w / self.span_days

    def y(self, value: float) -> float:
        return TOP + (self.high - value) * self.plot_h / (self.high - self.low)


def daily_line_chart(
    chart_id: str,
    *,
    title: str,
    desc: str,
    start: date,
    end: date,
    points: list[DayPoint],
    low: int = 1,
    high: int = 10,
    point_label: str = "{day}: {value}",
) -> Markup:
    """One value per day between start and end; a missing day breaks the line rather than inventing a value."""
    frame = _Frame(start, end, low, high)
    title_id, desc_id = f"{chart_id}-title", f"{chart_id}-desc"
    parts = [
        f'<svg class="chart" id="{escape(chart_id)}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-labelledby="{escape(title_id)} {escape(desc_id)}" preserveAspectRatio="xMidYMid meet" '
        f'xmlns="http://www.w3.org/2000/svg">',
        f'<title id="{escape(title_id)}">{escape(title)}</title>',
        f'<desc id="{escape(desc_id)}">{escape(desc)}</desc>',
        *_grid(frame),
        *_lines(frame, points),
        *_dots(frame, points, point_label),
        "</svg>",
    ]
    return Markup("\n".join(parts))  # noqa: S704  (every piece of text above is escaped)


def _grid(frame: _Frame) -> list[str]:
    out = ['<g class="chart-grid" aria-hidden="true">']
    for value in sorted({frame.low, (frame.low + frame.high) // 2, frame.high}):
        y = _fmt(frame.y(value))
        out.append(f'<line x1="{LEFT}" y1="{y}" x2="{WIDTH - RIGHT}" y2="{y}"/>')
        out.append(f'<text class="chart-axis" x="{LEFT - 6}" y="{y}" text-anchor="end" dy="0.35em">{value}</text>')
    middle = frame.start + timedelta(days=frame.span_days // 2)
    for day, anchor in ((frame.start, "start"), (middle, "middle"), (frame.end, "end")):
        x = _fmt(frame.x(day))
        out.append(
            f'<text class="chart-axis" x="{x}" y="{HEIGHT - 8}" text-anchor="{anchor}">{escape(_label(day))}</text>'
        )
    out.append("</g>")
    return out


def _runs(points: list[DayPoint]) -> list[list[DayPoint]]:
    """Consecutive days together; a gap starts a new run."""
    runs: list[list[DayPoint]] = []
    for point in sorted(points, key=lambda p: p.day):
        if runs and (point.day - runs[-1][-1].day).days == 1:
            runs[-1].append(point)
        else:
            runs.append([point])
    return runs


def _lines(frame: _Frame, points: list[DayPoint]) -> list[str]:
    out = ['<g class="chart-line" aria-hidden="true">']
    for run in _runs(points):
        if len(run) > 1:
            coords = " ".join(f"{_fmt(frame.x(p.day))},{_fmt(frame.y(p.value))}" for p in run)
            out.append(f'<polyline points="{coords}"/>')
    out.append("</g>")
    return out


def _dots(frame: _Frame, points: list[DayPoint], point_label: str) -> list[str]:
    out = ['<g class="chart-points">']
    for point in sorted(points, key=lambda p: p.day):
        css = "chart-point marked" if point.marked else "chart-point"
        label = point_label.format(day=_label(point.day), value=point.value)
        out.append(
            f'<circle class="{css}" cx="{_fmt(frame.x(point.day))}" cy="{_fmt(frame.y(point.value))}" r="4">'
            f"<title>{escape(label)}</title></circle>"
        )
    out.append("</g>")
    return out
