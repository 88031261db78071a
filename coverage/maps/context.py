"""What every layer builder of the area map needs: the results, the language, labels, colours."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Any

from .._i18n import cat_label, check_lang, tr
from ..config import Category
from ..results import Results
from ..style import category_colour

__all__ = ["MapContext"]


@dataclass(frozen=True)
class MapContext:
    """One area map being built: the :class:`~coverage.results.Results` and the language.

    Layer builders read everything from here (never from a folder), so the map is a pure
    function of the results.
    """

    results: Results
    lang: str = "zh"

    def __post_init__(self) -> None:
        check_lang(self.lang)

    @property
    def config(self) -> Any:
        return self.results.config

    @property
    def cats(self) -> tuple[Category, ...]:
        return tuple(self.results.config.categories)

    @property
    def crs(self) -> Any:
        return self.results.config.crs

    def t(self, key: str, **fmt: object) -> str:
        """The project's word ``key`` in the map's language."""
        return str(tr(key, self.lang, **fmt))

    @cached_property
    def labels(self) -> dict[str, str]:
        """Category key -> display name."""
        return {c.key: cat_label(c, self.lang) for c in self.cats}

    @cached_property
    def colours(self) -> dict[str, str]:
        """Category key -> colour (config order, :func:`coverage.style.category_colour`)."""
        return {c.key: category_colour(i) for i, c in enumerate(self.cats)}

    @cached_property
    def index(self) -> dict[str, int]:
        """Category key -> position in config order."""
        return {c.key: i for i, c in enumerate(self.cats)}

    @cached_property
    def shown_categories(self) -> frozenset[str]:
        """Categories whose facilities are on at first: those being sited, else the first."""
        sited = {c.key for c in self.cats if c.new_sites}
        return frozenset(sited or ({self.cats[0].key} if self.cats else set()))
