"""Fonts for the report's pictures: a CJK font when one is installed, never tofu boxes.

A picture drawn without a CJK font shows a missing glyph as an empty box ("tofu"). With no CJK
font installed (as fontconfig sees it; matplotlib's font list where there is no fontconfig),
every picture therefore replaces Chinese text by something ASCII: category keys for categories,
``U1``, ``U2``... for units, candidate ids for sites, and English for the report's own words;
the HTML lists which id is which unit. One warning says so.
"""

from __future__ import annotations

import logging
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CJK_FONTS", "ChartText", "chart_text", "find_cjk_font"]

log = logging.getLogger(__name__)

#: Font families tried, in order, for Chinese text in charts and maps.
CJK_FONTS = (
    "Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
    "WenQuanYi Zen Hei", "WenQuanYi Micro Hei", "Microsoft YaHei", "SimHei", "PingFang SC",
    "Heiti SC", "Noto Sans CJK JP", "Noto Serif CJK SC",
)
_CJK_FILE_HINTS = ("cjk", "wqy", "wenquanyi", "sourcehan", "simhei", "msyh", "pingfang")


def _fontconfig_families() -> set[str] | None:
    """Families fontconfig knows that cover Chinese (``fc-list :lang=zh``); None without
    fontconfig. Browsers and WeasyPrint find their fonts through it on Linux."""
    fc_list = shutil.which("fc-list")
    if fc_list is None:
        return None
    try:
        out = subprocess.run([fc_list, "--format", "%{family}\\n", ":lang=zh"],
                             capture_output=True, text=True, timeout=30, check=True).stdout
    except (OSError, subprocess.SubprocessError):  # pragma: no cover - broken fontconfig
        return None
    return {name.strip() for line in out.splitlines() for name in line.split(",")}


def _matplotlib_families() -> set[str]:
    """Font families in matplotlib's list, after registering CJK font files found on the
    system when none of :data:`CJK_FONTS` is in it (its cache may predate their install)."""
    from matplotlib import font_manager as fm

    def names() -> set[str]:
        return {f.name for f in fm.fontManager.ttflist}

    if not names() & set(CJK_FONTS):
        for path in fm.findSystemFonts():
            if any(h in Path(path).name.lower() for h in _CJK_FILE_HINTS):
                try:
                    fm.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # pragma: no cover - broken file
                    continue
    return names()


def find_cjk_font(*, warn: bool = True) -> str | None:
    """Name of an installed font family that can draw Chinese, or None (then a warning).

    Asks fontconfig (what the browser and WeasyPrint draw the report's SVG pictures with);
    where there is no fontconfig, matplotlib's font list.
    """
    names = _fontconfig_families()
    if names is None:
        names = _matplotlib_families()
    name = next((n for n in CJK_FONTS if n in names), None)
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
        """``text`` if it can be drawn, else ``fallback``."""
        s = str(text)
        return fallback if not self.cjk and not _is_ascii(s) else s

    def unit(self, name: object) -> str:
        """A unit's name, or a stable ASCII id (``U1``...) when it cannot be drawn."""
        s = str(name)
        if self.cjk or _is_ascii(s):
            return s
        return self.unit_ids.setdefault(s, f"U{len(self.unit_ids) + 1}")


def chart_text(lang: str) -> ChartText:
    """The :class:`ChartText` of this machine's fonts (warns once when there is no CJK font)."""
    return ChartText(find_cjk_font(), lang)
