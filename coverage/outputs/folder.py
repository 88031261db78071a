"""The output folder before a run writes to it: checks before any work, and the lock.

:func:`check_out_dir` and :func:`check_map_path` refuse unusable paths before any work is done.
One process at a time writes to an output folder: :func:`lock_output` takes an exclusive lock on
``OUT/.circle15.lock`` (released by the operating system when the process ends, also on
``kill -9``); a second run fails at once with :class:`OutputInUseError` naming the lock.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import errno
import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

from ..errors import InputError, Problem

if sys.platform == "win32":  # pragma: no cover - planners' Windows machines
    import msvcrt
else:
    import fcntl

__all__ = ["LOCK_NAME", "OutputInUseError", "check_map_path", "check_out_dir", "lock_output"]

LOCK_NAME = ".circle15.lock"
"""The lock file in the output folder."""


# --- checks before any work ------------------------------------------------------------------


def _problem(path: Path, problem: str, fix: str, field_: str | None = None) -> InputError:
    return InputError(Problem(str(path), None, field_, problem, fix))


def _read_only(path: Path) -> bool:
    """True when ``path`` may not be written: no write permission, or no write bit at all
    (a folder a planner marked read-only is respected even when running as root)."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return not os.access(path, os.W_OK) or not mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)


def _nearest_existing(path: Path) -> Path:
    path = path.absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_out_dir(out_dir: str | Path, *, option: str = "--out") -> Path:
    """Check that ``out_dir`` can be the output folder, before any work is done.

    Raises
    ------
    InputError
        It is a file, a read-only folder, or inside a folder that cannot be written.
    """
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise _problem(out, "this is a file, not a folder", f"give {option} a folder "
                       "(it is created if missing)", option)
    base = out if out.is_dir() else _nearest_existing(out)
    if not base.is_dir():
        raise _problem(out, f"{base} is a file, so the folder cannot be created",
                       f"give {option} a path inside a folder", option)
    if _read_only(base):
        raise _problem(out, f"the folder {base} is read-only", f"make it writable, or give "
                       f"{option} a folder you can write to", option)
    return out


def check_map_path(map_path: str | Path, *, option: str = "--map") -> Path:
    """Check that the map can be written to ``map_path``, before any work is done.

    Raises
    ------
    InputError
        It is a folder, or its folder cannot be created or written.
    """
    path = Path(map_path)
    if path.is_dir():
        raise _problem(path, "this is a folder, not a file",
                       f"give {option} a file name, e.g. {path / 'map.html'}", option)
    base = _nearest_existing(path.parent)
    if not base.is_dir():
        raise _problem(path, f"{base} is a file, so the map's folder cannot be created",
                       f"give {option} a path inside a folder", option)
    if _read_only(base) or (path.exists() and _read_only(path)):
        raise _problem(path, "the map's folder or file is read-only",
                       f"make it writable, or give {option} another file", option)
    return path


# --- the lock ----------------------------------------------------------------------------------


class OutputInUseError(InputError):
    """Another process is writing to the output folder (CLI exit code 2)."""


_held: dict[Path, tuple[int, int]] = {}  # folder -> (file descriptor, depth): re-entrant


@contextlib.contextmanager
def lock_output(out_dir: str | Path, *, command: str = "") -> Iterator[Path]:
    """Hold the exclusive lock of an output folder for the block (created if missing).

    Re-entrant within one process. The lock is an ``flock`` on ``OUT/.circle15.lock``; the
    operating system releases it when the process ends, however it ends.

    Raises
    ------
    OutputInUseError
        Another process holds the lock (the message names it and its holder).
    """
    out = Path(out_dir)
    key = out.resolve()
    if key in _held:
        fd, depth = _held[key]
        _held[key] = (fd, depth + 1)
        try:
            yield out
        finally:
            _held[key] = (fd, _held[key][1] - 1)
        return
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    try:
        fd = _acquire(out / LOCK_NAME, out)
    except BaseException:
        _remove_if_empty(out, created)
        raise
    try:
        started = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        note = f"pid {os.getpid()}, started {started}" + (f", {command}" if command else "")
        _write_note(fd, note)
        _held[key] = (fd, 1)
        yield out
    finally:
        _held.pop(key, None)
        # Unlink before unlocking: a process that opened the old file then finds, after
        # locking it, that the path no longer names it, and tries again (see _acquire).
        with contextlib.suppress(OSError):
            (out / LOCK_NAME).unlink()
        _unlock(fd)
        os.close(fd)
        _remove_if_empty(out, created)


def _remove_if_empty(out: Path, created: bool) -> None:
    """A folder the lock created and nothing was written to is removed again (a run that failed
    leaves no empty output folder behind)."""
    if created:
        with contextlib.suppress(OSError):
            out.rmdir()  # only succeeds when empty


def _acquire(lock: Path, out: Path) -> int:
    """Open and ``flock`` the lock file; the file must still be at its path once locked."""
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        if not _try_lock(fd):
            holder = _read_note(fd)
            os.close(fd)
            raise OutputInUseError(Problem(
                str(lock), None, None,
                f"another circle15 process is writing to {out} ({holder or 'holder unknown'})",
                "wait for it to finish, or give another --out folder"))
        try:
            same = os.stat(lock).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fd
        os.close(fd)  # the holder removed it as we locked it: take the new one


def _try_lock(fd: int) -> bool:
    """Lock the open file without waiting; False when another process holds it."""
    try:
        if sys.platform == "win32":  # pragma: no cover
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES, errno.EDEADLK):
            return False
        raise
    return True


def _unlock(fd: int) -> None:
    with contextlib.suppress(OSError):
        if sys.platform == "win32":  # pragma: no cover
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)
        else:
            fcntl.flock(fd, fcntl.LOCK_UN)


def _read_note(fd: int) -> str:
    """Who holds the lock, as its holder wrote it ("" when unreadable)."""
    try:
        os.lseek(fd, 0, os.SEEK_SET)
        return os.read(fd, 4096).decode("utf-8", "replace").strip()
    except OSError:  # Windows: the holder's locked byte cannot be read
        return ""


def _write_note(fd: int, note: str) -> None:
    os.ftruncate(fd, 0)
    os.lseek(fd, 0, os.SEEK_SET)
    os.write(fd, note.encode("utf-8") + b"\n")

