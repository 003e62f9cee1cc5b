"""What the charts measure before they draw: text in the font the PDF embeds, and round ticks for a scale.

Text is measured with the metrics of DejaVu Sans (tracker/static/fonts), the font of the PDF. It is wider than
the usual screen fonts, so what fits in print fits on screen too.
"""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from decimal import ROUND_CEILING, Decimal
from pathlib import Path

from fontTools.ttLib import TTFont

FONTS = Path(__file__).parent / "static" / "fonts"
ELLIPSIS = "…"


# --- text ------------------------------------------------------------------------------------------------------------

@functools.cache
def _metrics(bold: bool) -> tuple[dict[int, int], int, int]:
    font = TTFont(FONTS / ("DejaVuSans-Bold.ttf" if bold else "DejaVuSans.ttf"), lazy=True)
    advances = font["hmtx"].metrics
    widths = {code: advances[glyph][0] for code, glyph in font.getBestCmap().items()}
    return widths, font["head"].unitsPerEm, widths[ord("n")]


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` in DejaVu Sans at ``size`` (no kerning: a little wide, which is the safe side)."""
    widths, per_em, fallback = _metrics(bold)
    return sum(widths.get(ord(c), fallback) for c in text) * size / per_em


def clip(text: str, size: float, width: float, bold: bool = False) -> str:
    """``text``, or as much of it as fits in ``width`` followed by an ellipsis (at a space if one is near)."""
    if text_width(text, size, bold) <= width:
        return text
    room = width - text_width(ELLIPSIS, size, bold)
    cut = 0
    while cut < len(text) and text_width(text[:cut + 1], size, bold) <= room:
        cut += 1
    space = text.rfind(" ", 0, cut + 1)
    if space > cut * 0.6:
        cut = space
    return text[:cut].rstrip(" ,;:·-–") + ELLIPSIS


def wrap(text: str, size: float, widths: Sequence[float], bold: bool = False) -> list[str]:
    """``text`` broken at spaces into at most ``len(widths)`` lines, line *i* no wider than ``widths[i]``; what
    does not fit in the last line is clipped with an ellipsis. No-break spaces stay (French "Source :")."""
    words, lines = [word for word in text.split(" ") if word], []
    for i, width in enumerate(widths):
        if not words:
            break
        if i == len(widths) - 1:
            lines.append(clip(" ".join(words), size, width, bold))
            break
        taken = 1
        while taken < len(words) and text_width(" ".join(words[:taken + 1]), size, bold) <= width:
            taken += 1
        line, words = " ".join(words[:taken]), words[taken:]
        lines.append(clip(line, size, width, bold))
    return lines


# --- scales ----------------------------------------------------------------------------------------------------------

def nice_ticks(peak: Decimal, fits: Callable[[list[Decimal]], bool] = lambda ticks: True,
               most: int = 5) -> list[Decimal]:
    """Ticks from 0 to the first round number at or above ``peak``: at most ``most`` intervals of 1, 2, 2.5 or 5
    times a power of ten, the smallest such step whose labels ``fits`` accepts. ``[0]`` when ``peak`` is not
    above 0."""
    if peak <= 0:
        return [Decimal(0)]
    steps = [Decimal(m).scaleb(e) for e in range(0, 16) for m in ("1", "2", "2.5", "5") if e or m != "2.5"]
    for step in steps:
        count = int((peak / step).to_integral_value(rounding=ROUND_CEILING))
        if count > most:
            continue
        ticks = [step * i for i in range(count + 1)]
        if fits(ticks):
            return ticks
    return [Decimal(0), peak]
