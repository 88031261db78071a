"""Files as wholes: atomic writes, temporary names and their clean-up, hashes, TOML.

* :func:`atomic_path` yields a temporary path in the target's folder and renames it over the
  target only when the ``with`` block succeeds, so an interrupted run never leaves a
  half-written result; :func:`write_text` and :func:`write_bytes` use it, :func:`atomic_folder`
  does the same for a folder. Temporary names follow one pattern
  (``.<stem>.<8 hex>.tmp<suffix>``), so :func:`remove_stale_temp` can clear what a killed
  process left behind.
* :func:`sha256_file` hashes a file; :func:`read_toml` reads a TOML file (BOM accepted),
  :func:`parse_toml` parses TOML text and :func:`toml_value` writes a TOML value.
* ``_check_file`` and ``_read_bytes``: the one wording of "file not found" / "this is a folder"
  for the planner's input files (:mod:`coverage.io.tables`, :mod:`coverage.io.geo`).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import sys
import uuid
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from ..errors import ConfigError, InputError, Problem

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

__all__ = [
    "atomic_folder",
    "atomic_path",
    "parse_toml",
    "read_toml",
    "remove_path",
    "remove_stale_temp",
    "replace_folder",
    "sha256_file",
    "temp_path",
    "toml_value",
    "write_bytes",
    "write_text",
]

log = logging.getLogger(__name__)


# --- the planner's input files ------------------------------------------------------------


def _fail(file: str, problem: str, fix: str, *, row: int | None = None,
          field: str | None = None) -> InputError:
    return InputError([Problem(file, row, field, problem, fix)])


def _check_file(path: Path, file: str) -> None:
    """An :class:`InputError` unless ``path`` exists and is not a folder."""
    if not path.exists():
        raise _fail(file, "file not found", "check the path in the config")
    if path.is_dir():
        raise _fail(file, "this is a folder, not a file", "name the file inside it in the config")


def _read_bytes(path: Path, file: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise _fail(file, "file not found", "check the path in the config") from None
    except IsADirectoryError:
        raise _fail(file, "this is a folder, not a file",
                    "name the file inside it in the config") from None
    except OSError as exc:
        raise _fail(file, f"cannot read the file ({exc.strerror})",
                    "check the path and its permissions") from None


# --- atomic writers -----------------------------------------------------------------------

_TMP_MARK = ".tmp"
_SQLITE_SIDE_FILES = ("-journal", "-wal", "-shm")
# `.<stem>.<8 hex>.tmp<suffix>` plus SQLite's side files: what atomic_path (and a killed
# process) leaves; never a name a planner would choose.
_TEMP_NAME = re.compile(r"^\..*\.[0-9a-f]{8}\.tmp(\.[^./]*)?(-journal|-wal|-shm)?$")


def temp_path(path: str | Path) -> Path:
    """A fresh temporary name next to ``path``, keeping its suffix (see :func:`atomic_path`)."""
    path = Path(path)
    return path.with_name(f".{path.stem}.{uuid.uuid4().hex[:8]}{_TMP_MARK}{path.suffix}")


def remove_path(path: Path) -> None:
    """Remove a file or a folder tree; a missing path is fine."""
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def remove_stale_temp(folder: str | Path, *, stem: str | None = None) -> list[Path]:
    """Remove the temporary files and folders a killed process left in ``folder``.

    Only names of the form :func:`temp_path` makes (and their SQLite ``-journal``/``-wal``/
    ``-shm`` files) are touched. Call it while holding the folder's lock (see
    :mod:`coverage.outputs`), so another process's temporary files are never removed.

    Parameters
    ----------
    folder : str or Path
    stem : str, optional
        Only temporary files of this target stem (e.g. ``huitian_coverage`` in a shared
        ``maps/`` folder).

    Returns
    -------
    list of Path
        What was removed.
    """
    folder = Path(folder)
    if not folder.is_dir():
        return []
    gone = []
    own = None if stem is None else re.compile(rf"^\.{re.escape(stem)}\.[0-9a-f]{{8}}\.tmp")
    for p in sorted(folder.iterdir()):
        if _TEMP_NAME.match(p.name) and (own is None or own.match(p.name)):
            remove_path(p)
            gone.append(p)
    if gone:
        log.info("removed %d temporary files left in %s by an interrupted run", len(gone),
                 folder)
    return gone


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path next to ``path``; move it onto ``path`` if the block succeeds.

    The temporary file keeps ``path``'s suffix (so format drivers recognise it) and lives in
    the same folder (so :func:`os.replace` is an atomic rename). On an exception (also
    ``KeyboardInterrupt`` and the CLI's termination signal) the temporary file is removed and
    ``path`` is left untouched.

    Parameters
    ----------
    path : str or Path
        Final destination. Its folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        for p in (tmp, *(tmp.with_name(tmp.name + s) for s in _SQLITE_SIDE_FILES)):
            remove_path(p)
        raise


def replace_folder(src: Path, dest: Path) -> None:
    """Put the folder (or file) ``src`` in place of ``dest``, replacing what is there.

    A folder is swapped in by two renames in the same parent folder (``dest`` moved aside to a
    temporary name, ``src`` renamed to ``dest``, the old one removed), so ``dest`` is never
    half old, half new; a process killed between the renames leaves the old folder under a
    temporary name, which :func:`remove_stale_temp` clears.
    """
    if src.is_dir() and dest.exists():
        old = temp_path(dest)
        os.replace(dest, old)
        os.replace(src, dest)
        remove_path(old)
    else:
        os.replace(src, dest)


@contextlib.contextmanager
def atomic_folder(path: str | Path) -> Iterator[Path]:
    """Yield a temporary folder next to ``path``; put it in place of ``path`` if the block
    succeeds (see :func:`replace_folder`), remove it otherwise.

    Temporary folders that a killed process left beside ``path`` are removed first.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temp(path.parent, stem=path.name)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}{_TMP_MARK}")  # a folder: no suffix
    tmp.mkdir()
    try:
        yield tmp
        replace_folder(tmp, path)
    except BaseException:
        remove_path(tmp)
        raise


def write_text(path: str | Path, text: str, *, encoding: str = "utf-8") -> Path:
    """Write ``text`` to ``path`` atomically (``\n`` line ends on every platform); return it."""
    return write_bytes(path, text.encode(encoding))


def write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically; return the path."""
    path = Path(path)
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return path


# --- hashing and TOML ---------------------------------------------------------------------


def sha256_file(path: str | Path) -> str:
    """Hex SHA-256 of a file's bytes (read in 1 MiB blocks)."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def parse_toml(text: str, *, file: str) -> dict[str, Any]:
    """Parse TOML text (the one place with Python 3.10's ``tomli`` fallback).

    Raises
    ------
    ConfigError
        Not valid TOML (naming ``file`` and the position).
    """
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(Problem(file, None, None, f"not valid TOML ({exc})",
                                  "fix the TOML syntax at the position given")) from None


def read_toml(path: str | Path, *, file: str | None = None,
              what: str = "file") -> dict[str, Any]:
    """Read a TOML file (UTF-8, a byte-order mark is accepted).

    Parameters
    ----------
    path : str or Path
    file : str, optional
        Name used for the file in error messages (default: ``path``).
    what : str
        What the file is, for messages ("config file not found").

    Raises
    ------
    ConfigError
        Missing file, a folder, unreadable, not UTF-8, or not valid TOML (with the position).
    """
    path = Path(path)
    file = file or str(path)

    def fail(problem: str, fix: str) -> ConfigError:
        return ConfigError(Problem(file, None, None, problem, fix))

    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise fail(f"{what} not found", "check the path") from None
    except IsADirectoryError:
        raise fail("this is a folder, not a file", f"give the path of the {what} in it") from None
    except OSError as exc:
        raise fail(f"cannot read the {what} ({exc.strerror or exc})",
                   "check the path and its permissions") from None
    try:
        text = raw.decode("utf-8-sig")  # a BOM (Windows Notepad) is fine
    except UnicodeDecodeError:
        raise fail("the file is not UTF-8 text", "save it as UTF-8") from None
    return parse_toml(text, file=file)


def toml_value(value: object, *, float_digits: int | None = None) -> str:
    """A Python value as a TOML value (strings, numbers, booleans, lists, inline tables).

    Parameters
    ----------
    value : object
    float_digits : int, optional
        Round floats to this many decimals (default: exact ``repr``).
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return repr(value if float_digits is None else round(value, float_digits))
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(x, float_digits=float_digits) for x in value) + "]"
    if isinstance(value, Mapping):
        items = (f"{_toml_key(str(k))} = {toml_value(x, float_digits=float_digits)}"
                 for k, x in value.items())
        return "{ " + ", ".join(items) + " }"
    raise TypeError(f"cannot write {type(value).__name__} to TOML")


def _toml_key(key: str) -> str:
    return key if re.fullmatch(r"[A-Za-z0-9_-]+", key) else json.dumps(key, ensure_ascii=False)
