"""Offline OCR for scanned pages: RapidOCR (PP-OCRv4 Chinese/English, ONNX models inside the
``rapidocr-onnxruntime`` wheel) run on onnxruntime, and a layout step that turns its text boxes
into lines and paragraphs the chunker can read.

Chinese layout rules: no space between two CJK characters when boxes or lines are joined; a
line that wraps (reaches the right margin) continues its paragraph; a line that is indented,
ends short of the margin, follows a wide gap or opens with a structure marker (第X条, 一、,
（一）) starts a new one. A red seal is removed before recognition: its ring and text are
read as words otherwise, and the black text under it is kept.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from statistics import median
from typing import TYPE_CHECKING, Any

from index_store.numbering import marker_level

if TYPE_CHECKING:
    import numpy as np
    from PIL import Image

# The longest side the detector sees; larger pages are scaled down to it (the recogniser still
# reads the full-size lines). Chosen on the scans of tools/real_files_bench.py: about as
# accurate as 2000 at well under half the time.
DETECT_MAX_SIDE = 1400
# Boxes the recogniser is less sure of than this are dropped (specks, stamp fragments).
MIN_SCORE = 0.5
_CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
# A 文号's year brackets, which OCR reads as 【】, [] or a mix: 示政办〔2026〕3号.
_DOC_NUMBER_BRACKETS = re.compile(r"[【\[（(〔](\d{4})[】\]）)〕](?=\d{1,4}号)")
# A heading marker run into its title ("第三条房租减免"): typeset with a space between them.
_RUN_ON_MARKER = re.compile(
    r"^(第[一二三四五六七八九十百零〇两\d]+[章节条])(?=[\u4e00-\u9fff])", re.MULTILINE
)


@dataclass(frozen=True)
class Box:
    """One recognised text box, in page pixels."""

    text: str
    x0: float
    y0: float
    x1: float
    y1: float

    @property
    def height(self) -> float:
        return self.y1 - self.y0

    @property
    def middle(self) -> float:
        return (self.y0 + self.y1) / 2


@dataclass
class _Line:
    boxes: list[Box]

    @property
    def x0(self) -> float:
        return min(b.x0 for b in self.boxes)

    @property
    def x1(self) -> float:
        return max(b.x1 for b in self.boxes)

    @property
    def y0(self) -> float:
        return min(b.y0 for b in self.boxes)

    @property
    def y1(self) -> float:
        return max(b.y1 for b in self.boxes)

    @property
    def height(self) -> float:
        return median(b.height for b in self.boxes)

    def text(self) -> str:
        ordered = sorted(self.boxes, key=lambda b: b.x0)
        out = ordered[0].text
        for box in ordered[1:]:
            out = join_pieces(out, box.text)
        return out


def join_pieces(left: str, right: str) -> str:
    """``left`` and ``right`` joined as one run of text: nothing between two CJK characters
    (or CJK punctuation), a space between Latin words, a hyphenated word rejoined."""
    if not left or not right:
        return left + right
    if _CJK.match(left[-1]) or _CJK.match(right[0]):
        return left + right
    if left.endswith("-") and left[-2:-1].isalpha() and right[0].islower():
        return left[:-1] + right
    return f"{left} {right}"


def _lines(boxes: list[Box]) -> list[_Line]:
    """Boxes grouped into lines: a box joins the line whose middle it shares, top to bottom."""
    lines: list[_Line] = []
    for box in sorted(boxes, key=lambda b: (b.middle, b.x0)):
        for line in reversed(lines[-3:]):
            if abs(box.middle - (line.y0 + line.y1) / 2) <= 0.5 * min(box.height, line.height):
                line.boxes.append(box)
                break
        else:
            lines.append(_Line([box]))
    return sorted(lines, key=lambda line: line.y0)


def layout(boxes: list[Box]) -> str:
    """The page's text: lines in reading order, joined into paragraphs (one per text line)."""
    lines = _lines([b for b in boxes if b.text.strip()])
    if not lines:
        return ""
    left = min(line.x0 for line in lines)
    right = max(line.x1 for line in lines)
    paragraphs: list[str] = []
    previous: _Line | None = None
    for line in lines:
        text = english_spaces(line.text().strip())
        h = line.height
        starts_new = (
            previous is None
            or line.x0 - left > 1.2 * h  # indented: a first line, or a centred title
            or right - previous.x1 > 2.0 * h  # the line before ended short: its paragraph did
            or line.y0 - previous.y1 > 1.5 * h  # a gap wider than the line spacing
            or marker_level(text) is not None
        )
        if starts_new:
            paragraphs.append(text)
        else:
            paragraphs[-1] = join_pieces(paragraphs[-1], text)
        previous = line
    return fix_text("\n".join(paragraphs))


# English OCR by the PP-OCR Chinese model often drops the space between words
# ("isavailableMonday toFriday"): runs of letters are split back into dictionary words.
_LATIN_RUN = re.compile(r"[A-Za-z]+")
_ACRONYM = re.compile(r"[A-Z]{2}")
_SHORT_WORDS = frozenset({"a", "i", "of", "to", "in", "on", "at", "by", "or", "an", "as", "is"})
# A number run into a word ("to18:00in", "below99.9%,the"), a sentence run into the next.
_GLUED = re.compile(
    r"(?<=[a-z]{2})(?=\d)|(?<=\d)(?=[A-Za-z]{2,})|(?<=[%,;])(?=[A-Za-z])|(?<=[a-z%]\.)(?=[A-Z])"
    r"|(?<=[a-z],)(?=\d)|(?<=\d\.)(?=[a-z]{2})"
)


def _split_run(run: str) -> str:
    import wordninja

    if len(run) < 6 or _ACRONYM.search(run):
        return run
    if run.lower() in wordninja.DEFAULT_LANGUAGE_MODEL._wordcost:  # a word as it stands
        return run
    words = wordninja.split(run)
    known = all(len(w) > 1 or w.lower() in _SHORT_WORDS for w in words)
    if len(words) < 2 or not known or len(run) / len(words) < 2.5:
        return run
    return " ".join(words)


def english_spaces(line: str) -> str:
    """``line`` with the spaces OCR dropped between English words put back (a line mostly in
    Latin script only: Chinese text has no spaces to restore)."""
    letters = [c for c in line if c.isalpha()]
    if not letters or sum(c.isascii() for c in letters) < 0.6 * len(letters):
        return line
    line = _LATIN_RUN.sub(lambda m: _split_run(m.group()), line)
    return _GLUED.sub(" ", line)


def fix_text(text: str) -> str:
    """Corrections for what OCR loses in policy text: a 文号's 〔〕 brackets, and the space
    between 第X条 and what follows it (the chunker's label reads up to that space)."""
    return _RUN_ON_MARKER.sub(r"\1 ", _DOC_NUMBER_BRACKETS.sub(r"〔\1〕", text))


def remove_red(pixels: np.ndarray) -> np.ndarray:
    """An RGB page with its red (a seal, a signature stamp) turned white."""
    import numpy as np

    wide = pixels.astype(np.int16)
    r, g, b = wide[..., 0], wide[..., 1], wide[..., 2]
    red = (r > 120) & (r - g > 50) & (r - b > 50)
    out = pixels.copy()
    out[red] = 255
    return out


@lru_cache(maxsize=1)
def _engine() -> Any:
    """The OCR engine, made once per process (the parsing child keeps it between pages)."""
    from rapidocr_onnxruntime import RapidOCR

    return RapidOCR(max_side_len=DETECT_MAX_SIDE, use_cls=False, text_score=MIN_SCORE)


def recognise(image: Image.Image) -> str:
    """The text of one page image, laid out as paragraphs ("" for a blank page)."""
    import numpy as np

    pixels = remove_red(np.asarray(image if image.mode == "RGB" else image.convert("RGB")))
    result, _ = _engine()(pixels)
    boxes = []
    for points, text, _score in result or []:
        xs = [p[0] for p in points]
        ys = [p[1] for p in points]
        boxes.append(Box(str(text), min(xs), min(ys), max(xs), max(ys)))
    return layout(boxes)
