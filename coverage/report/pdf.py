"""``report.pdf``: the report's print HTML laid out on A4 by WeasyPrint.

WeasyPrint (PyPI, BSD) is a real HTML/CSS-to-PDF engine; it needs Pango from the system (Debian:
``libpango-1.0-0``, ``libpangoft2-1.0-0``, installed by ``make system-deps``) and embeds the
fonts it uses: Chinese text needs a CJK font such as Debian's ``fonts-noto-cjk``. The PDF has
no creation date (same inputs, same bytes) unless ``SOURCE_DATE_EPOCH`` asks for one.
"""

from __future__ import annotations

import logging
from pathlib import Path

from ..errors import Circle15Error
from ..io import atomic_path
from ..results import source_date

__all__ = ["PdfUnavailable", "write_pdf"]

log = logging.getLogger(__name__)

_FIX = ("install WeasyPrint's system libraries and a Chinese font: `make system-deps` (as root), "
        "or `apt-get install libpango-1.0-0 libpangoft2-1.0-0 fonts-noto-cjk`")


class PdfUnavailable(Circle15Error):
    """WeasyPrint or its system libraries are missing."""


def _weasyprint():  # type: ignore[no-untyped-def]
    try:
        import weasyprint
    except (ImportError, OSError) as exc:  # OSError: Pango not found by cffi
        raise PdfUnavailable(f"cannot write the PDF: WeasyPrint is not usable here ({exc}). "
                             f"Fix: {_FIX}") from exc
    return weasyprint


def _dated(html_text: str) -> str:
    """Add the PDF creation date only when the date rule gives one
    (:func:`coverage.results.source_date`: ``SOURCE_DATE_EPOCH``)."""
    day = source_date()
    if day is None:
        return html_text
    when = f"{day}T00:00:00Z"
    return html_text.replace("<head>", f'<head><meta name="dcterms.created" content="{when}">',
                             1)


def write_pdf(html_text: str, path: str | Path) -> Path:
    """Lay out ``html_text`` (the report's print HTML) as an A4 PDF at ``path`` (atomically).

    Raises
    ------
    PdfUnavailable
        When WeasyPrint or Pango is missing (the message says what to install).
    """
    weasyprint = _weasyprint()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    logging.getLogger("fontTools").setLevel(logging.ERROR)
    doc = weasyprint.HTML(string=_dated(html_text)).render()
    path = Path(path)
    with atomic_path(path) as tmp:
        doc.write_pdf(tmp, pdf_identifier=False)
    log.info("PDF written: %s (%d pages)", path, len(doc.pages))
    return path
