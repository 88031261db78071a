"""circle15: which homes are not within a 15-minute walk of the services they need.

The import package is ``coverage``; the distribution and command are ``circle15``.
"""

from importlib.metadata import PackageNotFoundError, version

from . import config, coords, errors

try:
    __version__ = version("circle15")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0+unknown"

__all__ = ["__version__", "config", "coords", "errors"]
