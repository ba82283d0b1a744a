"""Writing result cubes to disk, atomically.

A run writes to a temporary file beside the target and renames it into place
only when the write has succeeded, so a failed or interrupted run leaves any
earlier result intact and never a half-written file.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import xarray as xr

__all__ = ["write_netcdf"]


def write_netcdf(ds: xr.Dataset, path) -> Path:
    """Write ``ds`` to ``path`` (netCDF) atomically; return the path."""
    path = Path(path)
    if path.suffix not in (".nc", ".nc4", ".cdf"):
        raise ValueError(f"out must be a netCDF file name ending in .nc, got {str(path)!r}")
    if not path.parent.exists():
        raise ValueError(f"out: directory {str(path.parent)!r} does not exist")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        ds.to_netcdf(tmp, engine="scipy")
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path
