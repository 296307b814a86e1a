"""The application icon, drawn at build time when the project ships none in ``icons/``."""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw

SIZES = (48, 128, 256)


def draw(size: int) -> Image.Image:
    """A rounded square with two linked nodes: the bridge between a tool and the API."""
    scale = 4  # draw large, then downsample for smooth edges
    n = size * scale
    img = Image.new("RGBA", (n, n), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, n - 1, n - 1), radius=n // 5, fill=(28, 92, 168, 255))
    r = n // 9
    left, right, mid = (n * 3 // 10, n // 2), (n * 7 // 10, n // 2), n // 2
    d.line((left, right), fill=(255, 255, 255, 255), width=max(scale, n // 18))
    d.arc(
        (n // 5, n // 5, n * 4 // 5, n * 4 // 5), 200, 340, fill=(255, 255, 255, 255), width=n // 24
    )
    for cx, cy in (left, right):
        d.ellipse((cx - r, cy - r, cx + r, cy + r), fill=(255, 255, 255, 255))
    d.ellipse((mid - r // 3, mid - r // 3, mid + r // 3, mid + r // 3), fill=(28, 92, 168, 255))
    return img.resize((size, size), Image.Resampling.LANCZOS)


def icon_png(size: int, out: Path, source_dir: Path) -> Path:
    """``icons/litellm-bridge.png`` resized when present, else the drawn icon."""
    shipped = source_dir / "litellm-bridge.png"
    img = (
        Image.open(shipped).convert("RGBA").resize((size, size))
        if shipped.is_file()
        else draw(size)
    )
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out)
    return out


def icon_ico(out: Path, source_dir: Path) -> Path:
    """A Windows .ico with the usual sizes."""
    shipped = source_dir / "litellm-bridge.png"
    img = Image.open(shipped).convert("RGBA") if shipped.is_file() else draw(256)
    out.parent.mkdir(parents=True, exist_ok=True)
    img.save(out, sizes=[(16, 16), (32, 32), (48, 48), (256, 256)])
    return out
