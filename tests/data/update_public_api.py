"""Add the new public names and parameters to ``public_api.json``; refuse anything else.

    python tests/data/update_public_api.py          # show what would change
    python tests/data/update_public_api.py --write  # write it

The snapshot is the public API users' notebooks depend on: a release may add names, methods and
parameters with defaults, never rename or remove them or change a default.  This script checks
exactly that for every entry it updates and stops with the offending entry otherwise.
"""

from __future__ import annotations

import importlib
import inspect
import json
import re
import sys
from pathlib import Path

PATH = Path(__file__).with_name("public_api.json")


def _signature(obj) -> str | None:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None
    return re.sub(r"<object object at 0x[0-9a-f]+>", "<object>", text)


def _params(obj) -> dict:
    return dict(inspect.signature(obj).parameters)


def _old_params(signature: str) -> dict:
    """The parameters of a signature as the snapshot wrote it, by compiling a function with it."""
    import numpy as np

    import vbcsim

    params = signature.rsplit(" -> ", 1)[0] if " -> " in signature else signature
    namespace = {**vars(vbcsim), **vars(vbcsim.contracts), "np": np, "inf": float("inf"), "nan": float("nan")}
    exec(f"def _f{params.replace('<object>', 'None').replace('<factory>', 'None')}: pass", namespace)  # noqa: S102
    return dict(inspect.signature(namespace["_f"]).parameters)


def _only_added(old_signature: str, new_obj, where: str) -> None:
    """The old signature's parameters are all still there, same kind and default; new ones default."""
    new = _params(new_obj)
    old = _old_params(old_signature)
    for name, p in old.items():
        if name not in new:
            raise SystemExit(f"{where}: parameter {name!r} was removed")
        if new[name].kind != p.kind:
            raise SystemExit(f"{where}: parameter {name!r} changed kind")
        shown = repr(new[name].default)
        if shown != repr(p.default) and "<object" not in shown and shown != "<factory>":
            raise SystemExit(
                f"{where}: the default of {name!r} changed from {p.default!r} to {new[name].default!r}"
            )
    positional = [n for n, p in old.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    new_positional = [n for n, p in new.items() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    if new_positional[: len(positional)] != positional:
        raise SystemExit(f"{where}: positional parameters reordered")
    for name, p in new.items():
        if name not in old and p.default is p.empty and p.kind not in (p.VAR_KEYWORD, p.VAR_POSITIONAL):
            raise SystemExit(f"{where}: new parameter {name!r} has no default")


def _entry(obj) -> str:
    if inspect.ismodule(obj):
        return "module"
    if callable(obj):
        return _signature(obj)
    return type(obj).__name__


def _methods(cls) -> dict:
    return {
        name: _signature(getattr(cls, name))
        for name, value in vars(cls).items()
        if not name.startswith("_") and inspect.isfunction(value)
    }


def main(write: bool) -> int:
    snapshot = json.loads(PATH.read_text())
    changes = []
    for module, entries in snapshot.items():
        mod = importlib.import_module(module)
        names = set(entries)
        if hasattr(mod, "__all__") and module in ("vbcsim", "vbcsim.contracts"):
            names |= {n for n in mod.__all__ if n != "__version__"}
        for key in sorted(names):
            if key.endswith(".methods"):
                continue
            obj = getattr(mod, key)
            new = _entry(obj)
            old = entries.get(key)
            if old is not None and old != new:
                if old in ("module",) or not callable(obj):
                    raise SystemExit(f"{module}.{key}: {old} became {new}")
                _only_added(old, obj, f"{module}.{key}")
            if old != new:
                changes.append(f"{module}.{key}: {old} -> {new}")
                entries[key] = new
            if inspect.isclass(obj):
                methods = entries.get(f"{key}.methods", {})
                for name, sig in _methods(obj).items():
                    if methods.get(name) != sig:
                        if name in methods:
                            _only_added(methods[name], getattr(obj, name), f"{module}.{key}.{name}")
                        changes.append(f"{module}.{key}.{name}: {methods.get(name)} -> {sig}")
                        methods[name] = sig
                if methods:
                    entries[f"{key}.methods"] = dict(sorted(methods.items()))
        snapshot[module] = dict(sorted(entries.items()))
    print("\n".join(changes) or "no changes")
    if write and changes:
        PATH.write_text(json.dumps(snapshot, indent=1, ensure_ascii=False) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main("--write" in sys.argv))
