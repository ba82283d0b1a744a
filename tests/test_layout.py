"""The package layout follows the data flow, and the public API stays as it was.

- Every module belongs to one stage of the flow (``docs/architecture.md``); it may import
  only its own stage, the stages before it, and the shared leaf modules.  This holds for
  imports inside functions too, so a lazy import cannot hide an import back up the flow.
- The graph of module-level imports has no circle.  The one circle through a lazy import
  (``Compound``'s distribution function uses the FFT oracle that models it) stays inside
  one stage and is listed below with its reason.
- No module is longer than 800 lines.
- Every public name of the release before the layout change still imports, with the same
  signature (``tests/data/public_api.json``), and so do the module paths of that release.
"""

from __future__ import annotations

import ast
import importlib
import inspect
import json
import re
from pathlib import Path

import pytest

import vbcsim
from vbcsim import _aliases

PACKAGE = Path(vbcsim.__file__).parent
ROOT = PACKAGE.parent

#: the stages of the flow, in order: a module may import its own stage and those before it
STAGES = ("population", "engine", "contracts", "results", "partnerships", "analysis", "frontends")
#: shared helpers every stage may import; they import nothing of the package
LEAVES = ("vbcsim._validation", "vbcsim._version", "vbcsim._figures", "vbcsim._progress")
#: the package's front door and its helpers: they may import anything, nothing imports them
TOP = ("vbcsim", "vbcsim.__main__", "vbcsim._aliases")
#: circles through an import inside a function, each inside one stage, with the reason
LAZY_CIRCLES = {
    # Compound.cdf/ppf/limited_mean come from the FFT oracle, which models every distribution
    ("vbcsim.population.distributions", "vbcsim.population.exact"),
    # vbcsim.plot re-exports the multi-year figures and the decomposition figure, which draw with
    # vbcsim.plot's helpers: both lazy imports close one circle through vbcsim.plot
    ("vbcsim.frontends.plot", "vbcsim.frontends.plot_risk", "vbcsim.frontends.plot_years"),
}
MAX_LINES = 800


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(name: str) -> str:
    """The module a dotted name refers to (``vbcsim.population.exact``, not an attribute of it)."""
    while name not in MODULES and "." in name:
        name = name.rpartition(".")[0]
    return name


def _imports(module: str) -> list[tuple[str, bool]]:
    """(imported module, at module level) for every import of the package in ``module``."""
    tree = ast.parse(MODULES[module].read_text())
    top = {id(node) for node in tree.body}
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert node.level == 0, f"{module}: relative import"
            base = node.module or ""
            names = [f"{base}.{a.name}" if f"{base}.{a.name}" in MODULES else base for a in node.names]
        else:
            continue
        for name in names:
            if name == "vbcsim" or name.startswith("vbcsim."):
                out.append((_resolve(name), id(node) in top))
    return out


GRAPH = {m: _imports(m) for m in MODULES}


def _stage(module: str) -> int | None:
    parts = module.split(".")
    if len(parts) >= 2 and parts[1] in STAGES:
        return STAGES.index(parts[1])
    return None


def test_every_module_has_a_place():
    for module in MODULES:
        assert module in LEAVES or module in TOP or _stage(module) is not None, (
            f"{module} sits at the package root: put it in a stage ({', '.join(STAGES)})"
        )


def test_stage_folders_are_the_documented_ones():
    folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").exists()}
    assert folders == set(STAGES)
    doc = (ROOT / "docs" / "architecture.md").read_text()
    for stage in STAGES:
        assert f"`vbcsim/{stage}/`" in doc, f"docs/architecture.md does not describe vbcsim/{stage}/"


def test_imports_run_down_the_flow():
    bad = []
    for module, imports in GRAPH.items():
        if module in TOP:
            continue
        for target, _ in imports:
            if module in LEAVES:
                bad.append(f"{module} -> {target} (a leaf imports nothing of the package)")
            elif target in LEAVES:
                continue
            elif target in TOP:
                if _stage(module) != STAGES.index("frontends"):
                    bad.append(f"{module} -> {target} (only front ends use the package's front door)")
            elif target.split(".")[1] in _aliases.MOVED:
                bad.append(f"{module} -> {target} (an old path: import the module where it is now)")
            elif _stage(target) > _stage(module):
                bad.append(f"{module} -> {target} (back up the flow)")
    assert not bad, "\n".join(bad)


def _circles(edges: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on.add(v)
        for w in edges.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in edges:
        if v not in index:
            visit(v)
    return out


def _edges(module_level_only: bool) -> dict[str, set[str]]:
    # the front door imports everything; leaving it out keeps circles through it from hiding others
    return {
        m: {t for t, top in imports if t != m and t not in TOP and (top or not module_level_only)}
        for m, imports in GRAPH.items()
        if m not in TOP
    }


def test_no_import_circle_at_module_level():
    assert _circles(_edges(module_level_only=True)) == []


def test_lazy_imports_close_only_the_listed_circles():
    circles = _circles(_edges(module_level_only=False))
    allowed = [sorted(pair) for pair in LAZY_CIRCLES]
    assert sorted(circles) == sorted(allowed)


def test_the_circle_finder_finds_a_circle():
    assert _circles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _circles({"a": {"b"}, "b": set()}) == []


def test_no_module_over_800_lines():
    long = {m: n for m, p in MODULES.items() if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not long, f"modules over {MAX_LINES} lines: {long}"


# ---------------------------------------------------------------------------- the public API

SNAPSHOT = json.loads((Path(__file__).parent / "data" / "public_api.json").read_text())


def _signature(obj) -> str | None:
    try:
        text = str(inspect.signature(obj))
    except (TypeError, ValueError):
        return None
    return re.sub(r"<object object at 0x[0-9a-f]+>", "<object>", text)


@pytest.mark.parametrize("module", sorted(SNAPSHOT))
def test_public_names_import_with_their_signatures(module):
    mod = importlib.import_module(module)
    for key, expected in SNAPSHOT[module].items():
        if key.endswith(".methods"):
            cls = getattr(mod, key.removesuffix(".methods"))
            for method, sig in expected.items():
                assert _signature(getattr(cls, method)) == sig, f"{module}.{cls.__name__}.{method}"
            continue
        obj = getattr(mod, key)
        if expected == "module":
            assert inspect.ismodule(obj), f"{module}.{key}"
        elif callable(obj):
            assert _signature(obj) == expected, f"{module}.{key}"
        else:
            assert type(obj).__name__ == expected, f"{module}.{key}"


def _names(module: str) -> set[str]:
    return {k for k in SNAPSHOT[module] if not k.endswith(".methods")}


def test_all_names_are_in_the_snapshot():
    assert set(vbcsim.__all__) - {"__version__"} == _names("vbcsim")
    assert set(vbcsim.contracts.__all__) == _names("vbcsim.contracts")


@pytest.mark.parametrize("old", sorted(_aliases.MOVED))
def test_old_module_paths_are_the_new_modules(old):
    module = importlib.import_module(f"vbcsim.{old}")
    assert module is importlib.import_module(_aliases.MOVED[old])
    assert module.__spec__.name == _aliases.MOVED[old]


def test_old_paths_do_not_shadow_public_functions():
    import vbcsim.solve  # noqa: F401  (the module's old path)

    assert callable(vbcsim.solve) and not inspect.ismodule(vbcsim.solve)
    from vbcsim.solve import Target

    assert Target is vbcsim.Target


def test_notebook_imports_work():
    # the imports the shipped notebooks and docs use, unchanged
    import vbcsim.plot
    from vbcsim.calibrate import describe, fit, from_summary  # noqa: F401
    from vbcsim.defaults import provider_panel  # noqa: F401
    from vbcsim.metrics import risk_share  # noqa: F401
    from vbcsim.partnerships import DEFAULT_SCENARIO_RISK, MODEL_KEYS, MODEL_NAMES  # noqa: F401

    assert callable(vbcsim.plot.risk_shares)
