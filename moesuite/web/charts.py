"""Geometry for the console's inline SVG charts (no JavaScript, no chart library).

Each chart carries its numbers as text too (bar values, axis labels), so a reader never depends
on colour or on seeing the picture.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

# Small enough that 12-unit text stays readable when a card shrinks the chart to ~360 px.
WIDTH = 420
HEIGHT = 200
_PAD_LEFT, _PAD_RIGHT, _PAD_TOP, _PAD_BOTTOM = 44, 12, 26, 36


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    label: str
    value: str
    tone: str = "neutral"


@dataclass(frozen=True)
class BarChart:
    title: str
    bars: list[Bar]
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - _PAD_BOTTOM


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    tones: Sequence[str] | None = None,
    fmt: str = "{:g}",
) -> BarChart:
    """Vertical bars, one per label, scaled to the largest value (an empty chart stays flat)."""
    top = max([*values, 0]) or 1
    inner_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    slot = inner_w / max(len(values), 1)
    bars = []
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        height = inner_h * value / top
        bars.append(
            Bar(
                x=_PAD_LEFT + i * slot + slot * 0.15,
                y=HEIGHT - _PAD_BOTTOM - height,
                width=slot * 0.7,
                height=height,
                label=label,
                value=fmt.format(value),
                tone=tones[i] if tones else "neutral",
            )
        )
    return BarChart(title=title, bars=bars)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    label: str
    flagged: bool


@dataclass(frozen=True)
class Timeline:
    title: str
    points: list[Point]
    y_max: str
    x_first: str
    x_last: str
    width: int = WIDTH
    height: int = HEIGHT
    baseline: float = HEIGHT - _PAD_BOTTOM
    left: float = _PAD_LEFT


def timeline(
    title: str, moments: Sequence[datetime], amounts: Sequence[float], flagged_index: int | None
) -> Timeline:
    """Amounts over time as points; the flagged transaction drawn as a larger diamond."""
    if not moments:
        return Timeline(title, [], "0", "", "")
    t0, t1 = min(moments), max(moments)
    span = (t1 - t0).total_seconds() or 1.0
    top = max([*amounts, 0]) or 1
    inner_w = WIDTH - _PAD_LEFT - _PAD_RIGHT
    inner_h = HEIGHT - _PAD_TOP - _PAD_BOTTOM
    points = [
        Point(
            x=_PAD_LEFT + inner_w * (m - t0).total_seconds() / span,
            y=HEIGHT - _PAD_BOTTOM - inner_h * a / top,
            label=f"{m:%Y-%m-%d %H:%M}: {a:,.2f}",
            flagged=i == flagged_index,
        )
        for i, (m, a) in enumerate(zip(moments, amounts, strict=True))
    ]
    return Timeline(title, points, f"{top:,.0f}", f"{t0:%Y-%m-%d}", f"{t1:%Y-%m-%d}")
