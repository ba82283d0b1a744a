"""Progress bars for long calls: ``progress=None | True | False | callable`` everywhere.

One convention for :func:`vbcsim.simulate`, :func:`vbcsim.compare`, :func:`vbcsim.solve`, the
credibility analyses and the sensitivity analyses:

- ``None`` (the default): a ``tqdm.auto`` bar when someone is watching — a terminal on stderr, or
  a Jupyter kernel with ``ipywidgets`` (a widget) — shown only once the call has run two seconds;
  silent otherwise (pipes, CI logs, notebooks executed as tests);
- ``True``: always a bar; ``False``: never;
- a callable: called as ``progress(done, total)`` after each step (as before tqdm).
"""

from __future__ import annotations

import sys

__all__ = ["as_callback", "check_progress"]

#: seconds a call runs before its bar appears (short calls stay silent)
DELAY = 2.0


def check_progress(progress, name: str = "progress"):
    """``progress`` if it is None, a bool or callable; else a TypeError naming ``name``."""
    if progress is None or isinstance(progress, bool) or callable(progress):
        return progress
    raise TypeError(
        f"{name} must be None, True, False or a callable(done, total), got {type(progress).__name__}"
    )


def _watched() -> bool:
    """Whether a person can see a bar: stderr is a terminal, or a Jupyter kernel can draw a widget."""
    if "ipykernel" in sys.modules:
        try:
            import ipywidgets  # noqa: F401
        except ImportError:
            return False
        return True
    stream = sys.stderr
    return bool(getattr(stream, "isatty", None) and stream.isatty())


class _Bar:
    """A ``progress(done, total)`` callable drawing a tqdm bar, opened on the first call."""

    def __init__(self, desc: str, unit: str):
        self.desc, self.unit, self.bar = desc, unit, None

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            from tqdm.auto import tqdm

            self.bar = tqdm(total=total, desc=self.desc, unit=self.unit, delay=DELAY)
        self.bar.update(done - self.bar.n)
        if done >= total:
            self.close()

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def as_callback(progress, desc: str, unit: str = "block"):
    """The ``progress(done, total)`` callable for a call's ``progress`` argument, or None for none."""
    check_progress(progress)
    if progress is False or (progress is None and not _watched()):
        return None
    if progress is True or progress is None:
        return _Bar(desc, unit)
    return progress
