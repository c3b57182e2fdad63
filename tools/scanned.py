"""Render text as scanned pages: the OCR tests and ``tools.ocr_bench`` make their own scans.

A page is A4 at a chosen dpi, black text in a CJK-capable font, wrapped to the page width,
with a first-line indent per paragraph. ``Scan`` adds what a real scan has: a slight rotation,
noise, and a red seal-like stamp over some text. Everything is seeded, so a page renders the
same every time.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PIL import Image, ImageDraw, ImageFont

# Debian's fonts-wqy-microhei (scripts/test.sh installs it as root); the Noto CJK fonts also work.
FONT_PATHS = (
    Path("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"),
    Path("/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc"),
    Path("/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc"),
)
A4_INCHES = (8.27, 11.69)


def cjk_font() -> Path | None:
    """A font that draws Chinese, or None when the machine has none."""
    return next((p for p in FONT_PATHS if p.exists()), None)


@dataclass(frozen=True)
class Scan:
    dpi: int = 200
    rotation: float = 0.0  # degrees
    noise: float = 0.0  # share of pixels flipped to a random grey
    stamp: bool = False  # a red seal over the text near the end of the page
    seed: int = 0


def _wrap(text: str, font: ImageFont.FreeTypeFont, width: float) -> list[str]:
    """Lines of at most ``width`` pixels: Chinese breaks between any two characters, Latin
    between words."""
    lines: list[str] = []
    for paragraph in text.split("\n"):
        paragraph = paragraph.strip()
        if not paragraph:
            continue
        line = "\u3000\u3000" if not paragraph.isascii() else "    "
        for token in _tokens(paragraph):
            if font.getlength(line + token) > width and line.strip():
                lines.append(line.rstrip())
                line = token.lstrip()
            else:
                line += token
        lines.append(line.rstrip())
    return lines


def _tokens(paragraph: str) -> list[str]:
    out: list[str] = []
    word = ""
    for ch in paragraph:
        if ch.isascii() and not ch.isspace():
            word += ch
            continue
        if word:
            out.append(word)
            word = ""
        out.append(ch)
    if word:
        out.append(word)
    return out


def render_pages(text: str, scan: Scan, font_path: Path) -> list[Image.Image]:
    """``text`` laid out on as many A4 pages as it needs, each scanned as ``scan`` says."""
    from PIL import Image, ImageDraw, ImageFont

    width, height = (round(side * scan.dpi) for side in A4_INCHES)
    margin = round(scan.dpi * 0.9)
    font = ImageFont.truetype(str(font_path), size=round(scan.dpi * 12 / 72))  # 12 pt
    line_height = round(font.size * 1.7)
    lines = _wrap(text, font, width - 2 * margin)
    per_page = (height - 2 * margin) // line_height
    rng = random.Random(scan.seed)
    pages: list[Image.Image] = []
    for first in range(0, len(lines), per_page):
        page = Image.new("RGB", (width, height), "white")
        draw = ImageDraw.Draw(page)
        y = margin
        for line in lines[first : first + per_page]:
            draw.text((margin, y), line, fill=(20, 20, 20), font=font)
            y += line_height
        if scan.stamp:
            _stamp(draw, width - margin - scan.dpi, y - 2 * line_height, scan.dpi, font_path)
        pages.append(_degrade(page, scan, rng))
    return pages


def _stamp(draw: ImageDraw.ImageDraw, x: int, y: int, dpi: int, font_path: Path) -> None:
    """A red ring with a star and a line of text: the shape of an official seal."""
    from PIL import ImageFont

    r = round(dpi * 0.8)
    red = (220, 30, 35)
    draw.ellipse((x - r, y - r, x + r, y + r), outline=red, width=max(3, dpi // 40))
    star = [(x + r * 0.3 * dx, y + r * 0.3 * dy) for dx, dy in _STAR]
    draw.polygon(star, fill=red)
    font = ImageFont.truetype(str(font_path), size=dpi // 6)
    draw.text((x - r * 0.6, y + r * 0.35), "示例市人民政府", fill=red, font=font)


_STAR = [
    (0.0, -1.0),
    (0.22, -0.31),
    (0.95, -0.31),
    (0.36, 0.12),
    (0.59, 0.81),
    (0.0, 0.38),
    (-0.59, 0.81),
    (-0.36, 0.12),
    (-0.95, -0.31),
    (-0.22, -0.31),
]


def _degrade(page: Image.Image, scan: Scan, rng: random.Random) -> Image.Image:
    import numpy as np
    from PIL import Image

    if scan.rotation:
        page = page.rotate(scan.rotation, expand=False, fillcolor="white")
    if scan.noise:
        pixels = np.asarray(page).copy()
        gen = np.random.default_rng(rng.randrange(2**32))
        mask = gen.random(pixels.shape[:2]) < scan.noise
        pixels[mask] = gen.integers(0, 256, size=(int(mask.sum()), 1), dtype=np.uint8)
        page = Image.fromarray(pixels)
    return page


def char_accuracy(source: str, read: str) -> float:
    """1 - edit distance / length of ``source``, whitespace ignored: how much of the text a
    reading got right."""
    a, b = re.sub(r"\s+", "", source), re.sub(r"\s+", "", read)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return 1 - previous[-1] / max(len(a), 1)


def save_pdf(pages: list[Image.Image], path: Path, dpi: int) -> None:
    """An image-only PDF (no text layer), one JPEG page per image."""
    pages[0].save(path, "PDF", save_all=True, append_images=pages[1:], resolution=dpi, quality=85)
