"""Small per-minute charts drawn on a Tk canvas (the Status window's last hour).

Vector drawing in pixel units scaled by the dialog's UI scale, so 200 % is as sharp as
100 % (a bitmap would blur). Every series differs by shape as well as colour (bars, a solid
line with round markers, a dashed line with square markers) and carries a text legend and
its latest value, so the charts read the same to someone who cannot tell the colours apart.
Colours are the Okabe-Ito palette, tuned per theme for at least 3:1 contrast against the
chart's background (WCAG's bar for graphics); text uses the theme's foreground.

What was drawn is kept in ``Chart.drawn`` (series name -> values) and every data item is
tagged on the canvas (``data``, ``bar``/``point``, ``series:<name>``), so tests and
screenshots read back what the user sees.
"""

from __future__ import annotations

import tkinter as tk
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

Kind = Literal["bar", "line"]
Marker = Literal["circle", "square", "none"]


@dataclass(frozen=True)
class Palette:
    background: str
    foreground: str
    muted: str
    grid: str
    requests: str
    p50: str
    p95: str
    errors: str


LIGHT = Palette(
    background="#FFFFFF",
    foreground="#1F1F1F",
    muted="#555555",
    grid="#DADADA",
    requests="#0072B2",  # blue
    p50="#007A5A",  # bluish green, darkened for contrast on white
    p95="#B34700",  # vermillion, darkened
    errors="#B3261E",
)
DARK = Palette(
    background="#1E1F22",
    foreground="#E8E8E8",
    muted="#A8A8A8",
    grid="#3A3C40",
    requests="#56B4E9",  # sky blue
    p50="#3DD6A4",
    p95="#F0A030",
    errors="#FF8A80",
)


@dataclass(frozen=True)
class Series:
    name: str  # legend text, e.g. "p95"
    values: Sequence[float | None]  # one per minute, oldest first; None: no data
    kind: Kind
    color: str
    marker: Marker = "none"
    dash: tuple[int, ...] | None = None
    # The legend's figure; None: the last point (the current, partial minute).
    latest: float | None = None


def luminance(color: str) -> float:
    """WCAG relative luminance of ``#RRGGBB``."""
    r, g, b = (int(color[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def lin(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    return 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b)


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def palette_for(widget: tk.Misc) -> Palette:
    """The dark palette on a dark window background, else the light one."""
    try:
        bg = widget.winfo_toplevel().cget("background")
        r, g, b = (v / 65535 for v in widget.winfo_rgb(bg))
    except tk.TclError:
        return LIGHT
    return DARK if 0.2126 * r + 0.7152 * g + 0.0722 * b < 0.4 else LIGHT


def nice_max(value: float) -> float:
    """The smallest 1, 2, 5 x 10^n at or above ``value`` (an axis top that reads well)."""
    if value <= 0:
        return 1.0
    step = 1.0
    while step * 10 <= value:
        step *= 10
    while step > value * 10:
        step /= 10
    for m in (1, 2, 5, 10):
        if m * step >= value:
            return m * step
    return 10 * step


def short(value: float, unit: str = "") -> str:
    if value >= 10_000:
        text = f"{value / 1000:.0f}k"
    elif value >= 1000:
        text = f"{value / 1000:.1f}k"
    elif value < 10 and value != int(value):
        text = f"{value:.1f}"
    else:
        text = f"{value:.0f}"
    return text + unit


class Chart:
    """One titled chart: a y-axis from 0 to a rounded top, minutes along x, now at the right."""

    def __init__(
        self,
        parent: tk.Misc,
        title: str,
        unit: str = "",
        *,
        scale: float = 1.0,
        width: int = 236,
        height: int = 120,
        palette: Palette | None = None,
    ) -> None:
        self.title, self.unit, self.scale = title, unit, scale
        self.palette = palette or palette_for(parent)
        self.width, self.height = round(width * scale), round(height * scale)
        self.canvas = tk.Canvas(
            parent,
            width=self.width,
            height=self.height,
            background=self.palette.background,
            highlightthickness=0,
            takefocus=0,
        )
        self.drawn: dict[str, list[float | None]] = {}
        self._last: tuple[object, ...] | None = None
        self.draw([])

    def px(self, n: float) -> float:
        return n * self.scale

    def texts(self) -> list[str]:
        """Every text on the chart (title, axis labels, legend, caption)."""
        c = self.canvas
        return [c.itemcget(i, "text") for i in c.find_all() if c.type(i) == "text"]

    def draw(self, series: Sequence[Series], caption: str = "") -> None:
        key = (tuple((s.name, s.latest, tuple(s.values)) for s in series), caption)
        if key == self._last:
            return  # polled every second: redraw only what changed (no flicker)
        self._last = key
        c, p, px = self.canvas, self.palette, self.px
        c.delete("all")
        self.drawn = {s.name: list(s.values) for s in series}
        font = ("TkDefaultFont", 9)
        small = ("TkDefaultFont", 8)
        c.create_text(px(6), px(4), text=self.title, anchor="nw", fill=p.foreground, font=font)
        left, right = px(34), self.width - px(6)
        top, bottom = px(36), self.height - px(16)
        points = max((len(s.values) for s in series), default=0) or 60
        peak = max((v for s in series for v in s.values if v is not None), default=0.0)
        top_value = nice_max(peak)
        for frac in (0.0, 0.5, 1.0):  # gridlines with their values: the scale is readable
            y = bottom - (bottom - top) * frac
            c.create_line(left, y, right, y, fill=p.grid, width=max(1, round(px(1))))
            label = short(top_value * frac)
            c.create_text(left - px(3), y, text=label, anchor="e", fill=p.muted, font=small)
        c.create_text(left, bottom + px(2), text="-60 min", anchor="nw", fill=p.muted, font=small)
        c.create_text(right, bottom + px(2), text="now", anchor="ne", fill=p.muted, font=small)
        if caption:
            c.create_text(right, px(4), text=caption, anchor="ne", fill=p.muted, font=small)
        self._legend(series, px(22))
        slot = (right - left) / points
        bars = [s for s in series if s.kind == "bar"]
        for b_index, s in enumerate(bars):
            width = slot / max(1, len(bars))
            for i, v in enumerate(s.values):
                if not v:
                    continue
                x0 = left + i * slot + b_index * width
                y0 = bottom - (bottom - top) * min(1.0, v / top_value)
                c.create_rectangle(
                    x0 + px(0.5),
                    y0,
                    x0 + max(px(1.5), width - px(0.5)),
                    bottom,
                    fill=s.color,
                    outline="",
                    tags=("data", "bar", f"series:{s.name}"),
                )
        for s in series:
            if s.kind == "line":
                self._line(s, left, top, bottom, slot, top_value)

    def _legend(self, series: Sequence[Series], y: float) -> None:
        c, p, px = self.canvas, self.palette, self.px
        x = px(8)
        for s in series:
            latest = s.latest
            if latest is None:
                latest = next((v for v in reversed(s.values) if v is not None), None)
            self._marker(s, x + px(5), y, legend=True)
            text = f"{s.name} {short(latest, self.unit) if latest is not None else '-'}"
            item = c.create_text(
                x + px(13), y, text=text, anchor="w", fill=p.foreground, font=("TkDefaultFont", 8)
            )
            bbox = c.bbox(item)
            x = (bbox[2] if bbox else x + px(60)) + px(10)

    def _marker(self, s: Series, x: float, y: float, legend: bool = False) -> None:
        c, px = self.canvas, self.px
        tags = () if legend else ("data", "point", f"series:{s.name}")
        r = px(3)
        if s.kind == "bar" and legend:
            c.create_rectangle(x - r, y - r, x + r, y + r, fill=s.color, outline="")
        elif s.marker == "square":
            c.create_rectangle(x - r, y - r, x + r, y + r, fill=s.color, outline="", tags=tags)
        elif s.marker == "circle":
            c.create_oval(x - r, y - r, x + r, y + r, fill=s.color, outline="", tags=tags)
        if legend and s.kind == "line":
            c.create_line(x - px(6), y, x + px(6), y, fill=s.color, width=px(2), dash=s.dash or "")

    def _line(
        self, s: Series, left: float, top: float, bottom: float, slot: float, top_value: float
    ) -> None:
        run: list[float] = []
        width = max(1.0, self.px(2))
        present = [i for i, v in enumerate(s.values) if v is not None]
        # Markers on every point would merge into a band on a busy hour: then every sixth
        # and the latest carry one (a lone minute always does, or it would not show).
        dense = len(present) > 15
        for i, v in enumerate([*s.values, None]):
            if v is None:  # a minute without requests breaks the line: no data is not zero
                if len(run) >= 4:
                    self.canvas.create_line(*run, fill=s.color, width=width, dash=s.dash or "")
                run = []
                continue
            x = left + (i + 0.5) * slot
            y = bottom - (bottom - top) * min(1.0, v / top_value)
            run += [x, y]
            alone = (i == 0 or s.values[i - 1] is None) and (
                i + 1 >= len(s.values) or s.values[i + 1] is None
            )
            if not dense or alone or i % 6 == 5 or i == present[-1]:
                self._marker(s, x, y)
