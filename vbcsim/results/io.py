"""Writing result cubes and figures to disk, atomically.

A run writes to a temporary file (or, for zarr, a temporary directory) beside
the target and renames it into place only when the write has succeeded, so a
failed or interrupted run leaves any earlier result intact and never a
half-written file.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import shutil
import tempfile
from pathlib import Path

import xarray as xr

__all__ = ["write_netcdf", "write_zarr", "write_results", "check_output_path", "write_figure"]

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
        for another suffix, a missing directory, or ``.zarr`` without the zarr package.
    """
    path = Path(path)
    if path.suffix not in NETCDF_SUFFIXES + ZARR_SUFFIXES:
        raise ValueError(
            f"{name} must be a netCDF file ending in .nc or a zarr store ending in .zarr, got {str(path)!r}"
        )
    if not path.parent.is_dir():
        raise ValueError(f"{name}: directory {str(path.parent)!r} does not exist")
    if path.suffix in ZARR_SUFFIXES and importlib.util.find_spec("zarr") is None:
        raise ValueError(f"{name}: writing a .zarr store needs the zarr package: pip install zarr")
    return path


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
    return _write_atomically(path, lambda tmp: ds.to_netcdf(tmp, engine="scipy"))


def _write_atomically(path: Path, write) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it to ``path``.

    A failure removes the temporary file and leaves whatever ``path`` held intact.
    """
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
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
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
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
    old = Path(tempfile.mkdtemp(prefix=f".{dst.name}.", suffix=".old", dir=dst.parent))
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
