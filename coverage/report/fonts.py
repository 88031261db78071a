"""Fonts for the report's pictures: a CJK font when one is installed, never tofu boxes.

Matplotlib draws a missing glyph as an empty box ("tofu"). With no CJK font installed, every
picture therefore replaces Chinese text by something ASCII: category keys for categories, ``U1``,
``U2``... for units, candidate ids for sites, and English for the report's own words; the HTML
lists which id is which unit. One warning says so.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CJK_FONTS", "ChartText", "chart_text", "find_cjk_font", "font_context"]

log = logging.getLogger(__name__)

#: Font families tried, in order, for Chinese text in charts and maps.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK JP", "Noto Serif CJK SC",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "sourcehan", "simhei", "msyh", "pingfang")


def find_cjk_font(*, warn: bool = True) -> str | None:
    """Name of an installed font family that can draw Chinese, or None (then a warning).

    Looks in matplotlib's font list first; if that cache predates the font's installation,
    registers CJK font files found on the system and looks again.
    """
    from matplotlib import font_manager as fm

    def known() -> str | None:
        names = {f.name for f in fm.fontManager.ttflist}
        return next((n for n in CJK_FONTS if n in names), None)

    name = known()
    if name is None:
        for path in fm.findSystemFonts():
            if any(h in Path(path).name.lower() for h in _CJK_FILE_HINTS):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # pragma: no cover - broken file
                    continue
        name = known()
    if name is None and warn:
        log.warning("no CJK font found (install fonts-noto-cjk, see `make system-deps`): the "
                    "report's charts and maps show ids and English instead of Chinese text")
    return name


def _is_ascii(text: str) -> bool:
    return all(ord(ch) < 128 for ch in text)


@dataclass
class ChartText:
    """Turns report text into text a chart can draw with the fonts at hand.

    Attributes
    ----------
    font : str or None
        The CJK font family, or None when there is none.
    lang : {"zh", "en"}
        The report's language; with no CJK font, the charts' own words are English.
    unit_ids : dict of str -> str
        Units given an ASCII id because their name cannot be drawn (filled as they are met).
    """

    font: str | None
    lang: str
    unit_ids: dict[str, str] = field(default_factory=dict)

    @property
    def cjk(self) -> bool:
        return self.font is not None

    @property
    def words_lang(self) -> str:
        """Language of the charts' own words."""
        return self.lang if self.cjk else "en"

    def safe(self, text: object, fallback: str) -> str:
        """``text`` if it can be drawn, else ``fallback``; ``$`` escaped (no mathtext)."""
        s = str(text)
        if not self.cjk and not _is_ascii(s):
            s = fallback
        return s.replace("$", r"\$")

    def unit(self, name: object) -> str:
        """A unit's name, or a stable ASCII id (``U1``...) when it cannot be drawn."""
        s = str(name)
        if self.cjk or _is_ascii(s):
            return s.replace("$", r"\$")
        return self.unit_ids.setdefault(s, f"U{len(self.unit_ids) + 1}")


def chart_text(lang: str) -> ChartText:
    """The :class:`ChartText` of this machine's fonts (warns once when there is no CJK font)."""
    return ChartText(find_cjk_font(), lang)


@contextlib.contextmanager
def font_context(text: ChartText) -> Iterator[None]:
    """matplotlib settings for the report's pictures: the CJK font first, then DejaVu Sans."""
    import matplotlib

    families = [text.font, "DejaVu Sans"] if text.font else ["DejaVu Sans"]
    with matplotlib.rc_context({"font.family": families, "axes.unicode_minus": False,
                                "svg.hashsalt": "circle15", "pdf.fonttype": 42}):
        yield
