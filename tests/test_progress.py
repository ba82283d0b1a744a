"""Progress bars: one tqdm convention for every long call (``vbcsim._progress``)."""

from __future__ import annotations

import ast
import sys
from pathlib import Path

import pytest

import vbcsim
from vbcsim import _progress

PACKAGE = Path(vbcsim.__file__).parent


def test_false_is_silent_and_a_callable_is_called():
    assert _progress.as_callback(False, "x") is None
    calls = []
    pop = vbcsim.Population([vbcsim.Segment("a", 100, vbcsim.Gamma(2.0, 1_000.0))])
    vbcsim.simulate(pop, n_scenarios=20, seed=1, progress=lambda done, total: calls.append((done, total)))
    assert calls and calls[-1][0] == calls[-1][1]


def test_none_is_silent_without_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    assert _progress.as_callback(None, "x") is None
    pop = vbcsim.Population([vbcsim.Segment("a", 100, vbcsim.Gamma(2.0, 1_000.0))])
    vbcsim.simulate(pop, n_scenarios=20, seed=1)
    assert capsys.readouterr().err == ""


def test_true_draws_a_tqdm_bar(monkeypatch, capsys):
    monkeypatch.setattr(_progress, "DELAY", 0.0)
    bar = _progress.as_callback(True, "simulate")
    assert isinstance(bar, _progress._Bar)
    pop = vbcsim.Population([vbcsim.Segment("a", 100, vbcsim.Gamma(2.0, 1_000.0))])
    vbcsim.simulate(pop, n_scenarios=20, seed=1, progress=True)
    err = capsys.readouterr().err
    assert "simulate" in err and "100%" in err


def test_a_notebook_kernel_without_widgets_stays_silent(monkeypatch):
    # nbmake runs notebooks in a kernel without ipywidgets: no bar, no tqdm warning
    monkeypatch.setitem(sys.modules, "ipykernel", object())
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails
    assert _progress.as_callback(None, "x") is None


@pytest.mark.parametrize("bad", [1, "yes", 0.5])
def test_bad_progress_is_a_type_error(bad):
    pop = vbcsim.Population([vbcsim.Segment("a", 10, vbcsim.Gamma(2.0, 1_000.0))])
    with pytest.raises(TypeError, match="progress must be None, True, False or a callable"):
        vbcsim.simulate(pop, n_scenarios=2, seed=1, progress=bad)


def test_long_calls_take_progress():
    import inspect

    from vbcsim import credibility

    for func in (
        vbcsim.simulate,
        vbcsim.compare,
        vbcsim.solve,
        credibility.chance_settlement,
        credibility.minimum_panel_size,
        credibility.msr_for_confidence,
        vbcsim.sensitivity,
        vbcsim.sensitivity_indices,
    ):
        params = inspect.signature(func).parameters
        assert "progress" in params or any(p.kind is p.VAR_KEYWORD for p in params.values()), func


def test_no_hand_written_progress_bar_is_left():
    # every bar is tqdm's: no module writes carriage-return bars of its own
    for path in PACKAGE.rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                assert not node.value.startswith("\r"), f"{path}: a hand-written progress line"
