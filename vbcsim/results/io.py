"""Writing result cubes and figures to disk, atomically.

A run writes to a temporary file (or, for zarr, a temporary directory) beside
the target and renames it into place only when the write has succeeded, so a
failed or interrupted run leaves any earlier result intact and never a
half-written file.

Safety of the output paths
--------------------------
* :func:`check_output_path` checks, before a run, the suffix, that the parent
  directory exists and that the writer for the format is installed (scipy for
  netCDF, zarr for ``.zarr``); nothing creates missing directories.
* Temporaries are named ``.NAME.PID.XXXXXXXX.tmp`` (``PID`` the writing
  process).  A write of ``NAME`` first removes the stale temporaries of that
  same target: those of a process that no longer runs on this machine, and
  older-style ``.NAME.XXXXXXXX.tmp`` ones last modified before this process
  started (:func:`remove_stale_temporaries`).  Nothing else is touched.
* A zarr store is written under an exclusive lock, ``NAME.lock`` beside it
  (:func:`output_lock`, a ``flock`` held by the writing process, with its
  pid inside): a second writer of the same store gets
  :class:`OutputBusyError` ("another run (pid N) is writing results.zarr")
  instead of a half-replaced store.  The kernel releases the lock of a killed
  process, so a lock file left behind is never mistaken for a live run.
* netCDF files are netCDF3 (scipy): attributes that netCDF3 cannot hold
  (integers outside int32, such as a large ``seed``) are written as decimal
  strings; the cube's ``seed_text`` attribute always holds the exact seed
  (:func:`seed_of` reads it back as an int from any format).
"""

from __future__ import annotations

import contextlib
import importlib.util
import inspect
import numbers
import os
import re
import shutil
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import xarray as xr

try:
    import fcntl
except ImportError:  # not POSIX: the lock falls back to an O_EXCL lock file holding the pid
    fcntl = None

__all__ = [
    "write_netcdf",
    "write_zarr",
    "write_results",
    "check_output_path",
    "write_figure",
    "output_lock",
    "OutputBusyError",
    "remove_stale_temporaries",
    "seed_of",
]

#: when this process started (near enough: when this module was imported); older temporaries are stale
_STARTED = time.time()

NETCDF_SUFFIXES = (".nc", ".nc4", ".cdf")
_UMASK = os.umask(0)  # read the process umask once, so written files get the usual permissions
os.umask(_UMASK)
ZARR_SUFFIXES = (".zarr",)


def check_output_path(path, *, name: str = "out") -> Path:
    """Check, before any work is done, that a result cube can be written to ``path``.

    Parameters
    ----------
    path : str or os.PathLike
        a netCDF file (``.nc``, ``.nc4``, ``.cdf``) or a zarr store (``.zarr``).
    name : str
        what the path is called in error messages.

    Returns
    -------
    pathlib.Path

    Raises
    ------
    ValueError
        for another suffix, a missing directory, ``.nc`` without scipy (the netCDF
        writer) or ``.zarr`` without the zarr package.
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    path = Path(path)
    if path.suffix not in NETCDF_SUFFIXES + ZARR_SUFFIXES:
        raise ValueError(
            f"{name} must be a netCDF file ending in .nc or a zarr store ending in .zarr, got {str(path)!r}"
        )
    if not path.parent.is_dir():
        raise ValueError(f"{name}: directory {str(path.parent)!r} does not exist")
    if path.is_dir() and path.suffix in NETCDF_SUFFIXES:
        raise ValueError(f"{name}: {str(path)!r} is a directory, not a netCDF file")
    if path.exists() and not path.is_dir() and path.suffix in ZARR_SUFFIXES:
        raise ValueError(f"{name}: {str(path)!r} is a file, not a zarr store")
    if path.suffix in NETCDF_SUFFIXES and importlib.util.find_spec("scipy") is None:
        raise ValueError(f"{name}: writing a netCDF file needs scipy (the netCDF3 writer): pip install scipy")
    if path.suffix in ZARR_SUFFIXES and importlib.util.find_spec("zarr") is None:
        raise ValueError(f"{name}: writing a .zarr store needs the zarr package: pip install zarr")
    return path


def seed_of(ds) -> int:
    """The root seed of a result cube read from any format, exactly (``seed_text``, else ``seed``)."""
    text = ds.attrs.get("seed_text")
    return int(text) if text is not None else int(ds.attrs["seed"])


# ---------------------------------------------------------------------------------------------------------
# netCDF3 attributes

_INT32 = (-(2**31), 2**31 - 1)


def _netcdf3_value(value):
    """An attribute value netCDF3 can hold: integers outside int32 (and bools) as decimal strings."""
    if isinstance(value, (bool, np.bool_)):
        return int(value)
    if isinstance(value, numbers.Integral):
        return int(value) if _INT32[0] <= int(value) <= _INT32[1] else str(int(value))
    if isinstance(value, np.ndarray) and value.dtype.kind in "iu" and value.size:
        if value.min() < _INT32[0] or value.max() > _INT32[1]:
            return " ".join(str(int(v)) for v in value.ravel())
    return value


def _netcdf3_safe(ds: xr.Dataset) -> xr.Dataset:
    """``ds`` (a shallow copy) with every attribute in a form the netCDF3 writer accepts."""
    out = ds.copy(deep=False)
    out.attrs = {k: _netcdf3_value(v) for k, v in ds.attrs.items()}
    for name in out.variables:
        out[name].attrs = {k: _netcdf3_value(v) for k, v in ds[name].attrs.items()}
    return out


# ---------------------------------------------------------------------------------------------------------
# stale temporaries


def _pid_alive(pid: int) -> bool:
    if pid <= 0:
        return False
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except (PermissionError, OSError):
        return True  # exists (another user's), or cannot tell: keep its files
    return True


def remove_stale_temporaries(path) -> list[Path]:
    """Remove the stale temporaries of the target ``path`` left by interrupted writes; return them.

    Only names this module's writers use for this very target are candidates:
    ``.NAME.PID.XXXXXXXX.tmp`` (and ``.old``) whose process ``PID`` no longer runs (on this
    machine; a temporary of a live process, or of one that may be, is kept),
    ``.NAME.XXXXXXXX.tmp`` (the form of earlier releases) last modified before
    this process started, and ``.NAME.XXXXXXXX.old`` (an earlier store moved
    aside by an interrupted replacement) likewise.
    """
    path = Path(path)
    removed = []
    name = re.escape(path.name)
    with_pid = re.compile(rf"^\.{name}\.(\d+)\.[A-Za-z0-9_]{{8}}\.(tmp|old)$")
    legacy = re.compile(rf"^\.{name}\.[A-Za-z0-9_]{{8}}\.(tmp|old)$")
    try:
        entries = list(os.scandir(path.parent))
    except OSError:
        return removed
    for entry in entries:
        m = with_pid.match(entry.name)
        try:
            if m:
                stale = not _pid_alive(int(m.group(1)))
            elif legacy.match(entry.name):
                stale = entry.stat(follow_symlinks=False).st_mtime < _STARTED
            else:
                continue
            if not stale:
                continue
            if entry.is_dir(follow_symlinks=False):
                shutil.rmtree(entry.path)
            else:
                os.unlink(entry.path)
        except OSError:
            continue  # gone already, or not ours to remove
        removed.append(Path(entry.path))
    return removed


def _temp_prefix(path: Path) -> str:
    return f".{path.name}.{os.getpid()}."


# ---------------------------------------------------------------------------------------------------------
# the output lock


class OutputBusyError(RuntimeError):
    """Another run is writing the same output (it holds the output's lock file)."""


_held: dict[str, int] = {}  # lock file -> how many times this process holds it
_held_guard = threading.Lock()


def _lock_path(path: Path) -> Path:
    return path.with_name(path.name + ".lock")


def _read_pid(fd_or_path) -> str:
    try:
        if isinstance(fd_or_path, int):
            os.lseek(fd_or_path, 0, os.SEEK_SET)
            text = os.read(fd_or_path, 64).decode("ascii", "replace")
        else:
            text = Path(fd_or_path).read_text("ascii", "replace")
    except OSError:
        return "?"
    text = text.strip()
    return text if text.isdigit() else "?"


def _busy(path: Path, pid: str) -> OutputBusyError:
    return OutputBusyError(
        f"out: another run (pid {pid}) is writing {path.name} (lock file {str(_lock_path(path))!r}); "
        "wait for it to finish or write elsewhere"
    )


def _acquire(path: Path) -> int:
    """Take the lock of ``path``; return the lock file's descriptor (or -1 for the O_EXCL form)."""
    lock = _lock_path(path)
    for _ in range(100):
        if fcntl is None:  # O_EXCL with the pid inside; a lock of a dead process is broken
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
            except FileExistsError:
                pid = _read_pid(lock)
                if pid != "?" and not _pid_alive(int(pid)):
                    with contextlib.suppress(OSError):
                        os.unlink(lock)
                    continue
                raise _busy(path, pid) from None
            os.write(fd, str(os.getpid()).encode())
            os.close(fd)
            return -1
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            pid = _read_pid(fd)
            os.close(fd)
            raise _busy(path, pid) from None
        try:  # the file may have been unlinked by its previous holder after we opened it: retry
            same = os.path.samestat(os.fstat(fd), os.stat(lock))
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            continue
        os.ftruncate(fd, 0)
        os.lseek(fd, 0, os.SEEK_SET)
        os.write(fd, str(os.getpid()).encode())
        return fd
    raise _busy(path, "?")


@contextlib.contextmanager
def output_lock(path):
    """Hold the exclusive lock of the output ``path`` (``NAME.lock`` beside it) for the block.

    Raises :class:`OutputBusyError` naming the holder's pid if another process
    holds it.  The lock is re-entrant within a process; the lock file is
    removed on release.  A process killed while holding it releases it (a
    ``flock``), so the next run takes it over.
    """
    path = Path(path)
    key = str(_lock_path(path).absolute())
    with _held_guard:
        if key in _held:
            _held[key] += 1
            fd = None
        else:
            fd = _acquire(path)
            _held[key] = 1
    try:
        yield path
    finally:
        with _held_guard:
            _held[key] -= 1
            if not _held[key]:
                del _held[key]
                with contextlib.suppress(OSError):
                    os.unlink(key)  # first unlink, then unlock: a waiter that opened it retries
                if fd is not None and fd >= 0:
                    os.close(fd)


def write_results(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to ``path`` atomically, as netCDF or zarr by the suffix; return the path."""
    path = check_output_path(path)
    return write_zarr(ds, path) if path.suffix in ZARR_SUFFIXES else write_netcdf(ds, path)


def write_netcdf(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to ``path`` (netCDF) atomically; return the path."""
    path = Path(path)
    if path.suffix not in NETCDF_SUFFIXES:
        raise ValueError(f"out must be a netCDF file name ending in .nc, got {str(path)!r}")
    if not path.parent.exists():
        raise ValueError(f"out: directory {str(path.parent)!r} does not exist")
    safe = _netcdf3_safe(ds)
    return _write_atomically(path, lambda tmp: safe.to_netcdf(tmp, engine="scipy"))


def _write_atomically(path: Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure removes the temporary file and leaves whatever ``path`` held intact; the stale
    temporaries of ``path`` (of interrupted earlier writes) are removed first.
    """
    remove_stale_temporaries(path)
    fd, tmp = tempfile.mkstemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(tmp)
        os.chmod(tmp, 0o666 & ~_UMASK)  # mkstemp makes the file private
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def write_zarr(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to the zarr store ``path`` atomically; return the path.

    The store is written to a temporary directory beside ``path`` and renamed
    into place when complete; an existing store at ``path`` is replaced only
    then.  The store uses zarr format 2 with consolidated metadata, which every
    zarr implementation reads (``xarray.open_zarr(path)``).

    Raises
    ------
    ValueError
        if ``path`` does not end in ``.zarr``, its directory is missing or the
        zarr package is not installed.
    """
    path = check_output_path(path)
    if path.suffix not in ZARR_SUFFIXES:
        raise ValueError(f"out must be a zarr store name ending in .zarr, got {str(path)!r}")
    options = {"zarr_format": 2} if "zarr_format" in inspect.signature(ds.to_zarr).parameters else {}
    with output_lock(path):
        remove_stale_temporaries(path)
        tmp = Path(tempfile.mkdtemp(prefix=_temp_prefix(path), suffix=".tmp", dir=path.parent))
        try:
            ds.to_zarr(tmp, mode="w", consolidated=True, **options)
            os.chmod(tmp, 0o777 & ~_UMASK)  # mkdtemp makes the directory private
            _replace_tree(tmp, path)
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
    return path


def _replace_tree(src: Path, dst: Path) -> None:
    """Rename the directory ``src`` to ``dst``, replacing whatever ``dst`` is only once that succeeds."""
    if not os.path.lexists(dst):
        os.rename(src, dst)
        return
    old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.{os.getpid()}.", suffix=".old", dir=dst.parent))
    os.rmdir(old)  # keep the unique name; the old store moves there
    os.rename(dst, old)
    try:
        os.rename(src, dst)
    except BaseException:
        os.rename(old, dst)  # put the earlier result back
        raise
    if old.is_dir() and not old.is_symlink():
        shutil.rmtree(old, ignore_errors=True)
    else:
        old.unlink()


def write_figure(fig, path, *, dpi: int = 150) -> Path:
    """Save a matplotlib figure as PNG at ``path`` atomically; return the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"plots: directory {str(path.parent)!r} does not exist")
    return _write_atomically(path, lambda tmp: fig.savefig(tmp, format="png", dpi=dpi, bbox_inches="tight"))


def check_text_path(path, suffixes: tuple[str, ...], *, name: str = "out") -> Path:
    """A text output's path (``.csv``, ``.json``, ``.html`` ...), checked before any work is done."""
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"{name} must be a path (str or os.PathLike), got {type(path).__name__}")
    path = Path(path)
    if path.suffix.lower() not in suffixes:
        kind = "an HTML file" if ".html" in suffixes else "a file"
        raise ValueError(f"{name} must be {kind} ending in {' or '.join(suffixes)}, got {str(path)!r}")
    if not path.parent.is_dir():
        raise ValueError(f"{name}: directory {str(path.parent)!r} does not exist")
    if path.is_dir():
        raise ValueError(f"{name}: {str(path)!r} is a directory, not a file")
    return path


def write_text(text: str, path) -> Path:
    """Write ``text`` (UTF-8) to ``path`` atomically; return the path."""
    path = Path(path)
    if not path.parent.is_dir():
        raise ValueError(f"out: directory {str(path.parent)!r} does not exist")
    return _write_atomically(path, lambda tmp: Path(tmp).write_text(text, encoding="utf-8"))
