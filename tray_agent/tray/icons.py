"""Tray icon pictures drawn with Pillow from ``icons/spec.json``: the mark plus a state badge."""

from __future__ import annotations

import json
import sys
from functools import cache
from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

STATES = ("running", "starting", "stopped", "error", "token-expiring", "token-expired")
SUPERSAMPLE = 4

_DEFAULT_SPEC: dict[str, Any] = {
    "mark": {"fill": "#2B5B84", "fill_inactive": "#7A8088", "deck": "#FFFFFF"},
    "states": {
        "running": {"badge": "check", "color": "#2E9E44", "label": "Running"},
        "starting": {"badge": "dots", "color": "#2F7FD1", "label": "Starting"},
        "stopped": {"badge": "square", "color": "#5F6670", "label": "Stopped", "inactive": True},
        "error": {"badge": "triangle", "color": "#D23A2E", "label": "Error"},
        "token-expiring": {"badge": "clock", "color": "#E39A12", "label": "Token expiring"},
        "token-expired": {"badge": "key-slash", "color": "#C2371F", "label": "Token expired"},
    },
    "sizes": {"linux": [16, 22, 24, 32, 48, 64], "windows": [16, 20, 24, 32, 40, 48, 64, 256]},
}


def spec_dirs() -> list[Path]:
    dirs = []
    bundle = getattr(sys, "_MEIPASS", None)
    if bundle:
        dirs.append(Path(bundle) / "icons")
    dirs.append(Path(__file__).resolve().parents[2] / "icons")
    dirs.append(Path(sys.prefix) / "share" / "litellm-bridge" / "icons")
    return dirs


@cache
def load_spec() -> dict[str, Any]:
    """The drawing spec; the built-in copy when ``icons/`` is not shipped."""
    for d in spec_dirs():
        path = d / "spec.json"
        if path.is_file():
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            if isinstance(data, dict) and set(STATES) <= set(data.get("states", {})):
                return data
    return _DEFAULT_SPEC


def _mark(d: ImageDraw.ImageDraw, s: int, fill: str, deck: str) -> None:
    """Rounded square with a bridge: a deck line and an arch with two pillars."""
    m = s * 0.04
    d.rounded_rectangle((m, m, s - m, s - m), radius=s * 0.2, fill=fill)
    w = max(1, round(s * 0.075))
    # deck
    d.line((s * 0.16, s * 0.36, s * 0.84, s * 0.36), fill=deck, width=w)
    # arch
    d.arc((s * 0.2, s * 0.36, s * 0.8, s * 0.98), start=180, end=360, fill=deck, width=w)
    # pillars
    for x in (0.26, 0.74):
        d.line((s * x, s * 0.36, s * x, s * 0.8), fill=deck, width=w)
    # hangers
    for x in (0.38, 0.5, 0.62):
        d.line((s * x, s * 0.36, s * x, s * 0.52), fill=deck, width=max(1, w // 2))


def _badge(d: ImageDraw.ImageDraw, s: int, kind: str, color: str) -> None:
    # Badge area: lower-right 58 % of the icon, with a white outline so it reads on any mark.
    x0, y0, x1, y1 = s * 0.42, s * 0.42, s * 1.0, s * 1.0
    cx, cy, r = (x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2
    white = "#FFFFFF"
    ow = max(1, round(s * 0.05))
    lw = max(1, round(s * 0.07))
    if kind == "triangle":
        pts = [(cx, y0), (x1, y1 - s * 0.02), (x0, y1 - s * 0.02)]
        d.polygon(pts, fill=color, outline=white, width=ow)
        d.line((cx, y0 + r * 0.55, cx, cy + r * 0.35), fill=white, width=lw)
        d.ellipse(
            (cx - lw * 0.6, cy + r * 0.55, cx + lw * 0.6, cy + r * 0.55 + lw * 1.2), fill=white
        )
        return
    if kind == "square":
        inset = r * 0.15
        d.rounded_rectangle(
            (x0 + inset, y0 + inset, x1 - inset, y1 - inset),
            radius=r * 0.2,
            fill=color,
            outline=white,
            width=ow,
        )
        q = r * 0.35
        d.rectangle((cx - q, cy - q, cx + q, cy + q), fill=white)
        return
    d.ellipse((x0, y0, x1, y1), fill=color, outline=white, width=ow)
    if kind == "check":
        d.line(
            [(cx - r * 0.5, cy), (cx - r * 0.12, cy + r * 0.4), (cx + r * 0.52, cy - r * 0.4)],
            fill=white,
            width=lw,
            joint="curve",
        )
    elif kind == "dots":
        dr = r * 0.16
        for dx in (-0.5, 0.0, 0.5):
            px = cx + dx * r
            d.ellipse((px - dr, cy - dr, px + dr, cy + dr), fill=white)
    elif kind == "clock":
        d.line((cx, cy, cx, cy - r * 0.62), fill=white, width=lw)
        d.line((cx, cy, cx + r * 0.45, cy + r * 0.2), fill=white, width=lw)
    elif kind == "key-slash":
        # key: ring + shaft + bit, then a slash across
        kr = r * 0.28
        kx, ky = cx - r * 0.3, cy - r * 0.05
        d.ellipse((kx - kr, ky - kr, kx + kr, ky + kr), outline=white, width=max(1, lw // 2 + 1))
        d.line((kx + kr, ky, cx + r * 0.6, ky), fill=white, width=max(1, lw // 2 + 1))
        d.line((cx + r * 0.42, ky, cx + r * 0.42, ky + r * 0.25), fill=white, width=max(1, lw // 2))
        d.line((cx - r * 0.6, cy + r * 0.6, cx + r * 0.6, cy - r * 0.6), fill=white, width=lw)


def draw(state: str, size: int = 64) -> Image.Image:
    """The icon for ``state`` (one of STATES) as an RGBA image of ``size`` x ``size``."""
    spec = load_spec()
    st = spec["states"].get(state) or spec["states"]["error"]
    big = size * SUPERSAMPLE
    img = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    mark = spec["mark"]
    _mark(d, big, mark["fill_inactive"] if st.get("inactive") else mark["fill"], mark["deck"])
    _badge(d, big, st["badge"], st["color"])
    return img.resize((size, size), Image.Resampling.LANCZOS)


def label(state: str) -> str:
    return str(load_spec()["states"].get(state, {}).get("label", state))


def sheet(size: int = 64, states: tuple[str, ...] = STATES) -> Image.Image:
    """Every state side by side on a light and a dark strip (docs and review)."""
    pad = size // 4
    w = len(states) * (size + pad) + pad
    out = Image.new("RGBA", (w, 2 * (size + pad) + pad), "#F2F2F2")
    dark = Image.new("RGBA", (w, size + 2 * pad), "#202124")
    out.paste(dark, (0, size + pad))
    for i, st in enumerate(states):
        im = draw(st, size)
        x = pad + i * (size + pad)
        out.alpha_composite(im, (x, pad))
        out.alpha_composite(im, (x, size + 2 * pad))
    return out


def build(outdir: Path) -> list[Path]:
    """Write PNGs at every platform size and one ICO per state (packaging)."""
    outdir.mkdir(parents=True, exist_ok=True)
    sizes = load_spec()["sizes"]
    written = []
    for st in STATES:
        for sz in sorted(set(sizes.get("linux", [])) | {256}):
            p = outdir / f"{st}-{sz}.png"
            draw(st, sz).save(p)
            written.append(p)
        ico = outdir / f"{st}.ico"
        win = sizes.get("windows", [16, 32, 48, 256])
        draw(st, 256).save(ico, sizes=[(s, s) for s in win])
        written.append(ico)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1] if len(sys.argv) > 1 else "build/icons")
    for p in build(target):
        print(p)
