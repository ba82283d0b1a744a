"""Argument checks shared by the public API.

Every public entry point validates its input with these helpers so that a bad
value is met by a ``ValueError``/``TypeError`` naming the argument, never by a
numba traceback or a silent wrong answer.
"""

from __future__ import annotations

import math
import numbers

__all__ = [
    "check_real",
    "check_positive",
    "check_nonnegative",
    "check_probability",
    "check_positive_int",
    "check_nonnegative_int",
    "check_instances",
    "check_at_most",
]


def check_real(name: str, value, *, owner: str = "") -> float:
    """Return ``value`` as a finite float or raise naming ``name``."""
    where = f"{owner}: " if owner else ""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{where}{name} must be a real number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{where}{name} must be finite, got {value!r}")
    return value


def check_positive(name: str, value, *, owner: str = "") -> float:
    value = check_real(name, value, owner=owner)
    if value <= 0.0:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be positive, got {value!r}")
    return value


def check_nonnegative(name: str, value, *, owner: str = "") -> float:
    value = check_real(name, value, owner=owner)
    if value < 0.0:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be non-negative, got {value!r}")
    return value


def check_probability(name: str, value, *, owner: str = "", open_low=False, open_high=False) -> float:
    """A probability in [0, 1] (optionally excluding an end point)."""
    value = check_real(name, value, owner=owner)
    low_bad = value <= 0.0 if open_low else value < 0.0
    high_bad = value >= 1.0 if open_high else value > 1.0
    if low_bad or high_bad:
        where = f"{owner}: " if owner else ""
        interval = ("(" if open_low else "[") + "0, 1" + (")" if open_high else "]")
        raise ValueError(f"{where}{name} must be a probability in {interval}, got {value!r}")
    return value


def _check_int(name: str, value, owner: str, strict: bool) -> int:
    """An int; a whole float such as 10.0 passes too unless ``strict``."""
    where = f"{owner}: " if owner else ""
    if isinstance(value, bool):
        raise TypeError(f"{where}{name} must be an integer, got bool {value!r}")
    if not isinstance(value, numbers.Integral):
        if (
            not strict
            and isinstance(value, numbers.Real)
            and math.isfinite(value)
            and float(value).is_integer()
        ):
            return int(value)
        raise TypeError(f"{where}{name} must be an integer, got {type(value).__name__} {value!r}")
    return int(value)


def check_positive_int(name: str, value, *, owner: str = "", strict: bool = False) -> int:
    value = _check_int(name, value, owner, strict)
    if value <= 0:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be a positive integer, got {value!r}")
    return value


def check_nonnegative_int(name: str, value, *, owner: str = "", strict: bool = False) -> int:
    value = _check_int(name, value, owner, strict)
    if value < 0:
        where = f"{owner}: " if owner else ""
        raise ValueError(f"{where}{name} must be a non-negative integer, got {value!r}")
    return value


def check_instances(name: str, value, cls: type, *, owner: str, what: str, item: str) -> tuple:
    """``value`` (one ``cls`` or a sequence of them) as a tuple, or a TypeError naming ``name``.

    ``what`` names the sequence (``"Segment"``) and ``item`` the elements (``"vbcsim.Segment objects"``)
    in the messages.
    """
    if isinstance(value, cls):
        return (value,)
    try:
        out = tuple(value)
    except TypeError:
        raise TypeError(f"{owner}: {name} must be a sequence of {what}, got {type(value).__name__}") from None
    for v in out:
        if not isinstance(v, cls):
            raise TypeError(f"{owner}: {name} must hold {item}, got {type(v).__name__}")
    return out


def check_at_most(name: str, value, limit, *, owner: str = "", why: str = ""):
    """Return ``value`` (already checked as a number) unless it exceeds ``limit``; else a ValueError.

    ``why`` (optional) says where the limit comes from and is appended to the message.
    """
    if value > limit:
        where = f"{owner}: " if owner else ""
        reason = f" ({why})" if why else ""
        raise ValueError(f"{where}{name} must be at most {limit!r}{reason}, got {value!r}")
    return value
