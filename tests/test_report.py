"""The HTML report: one self-contained file, every section, tables that match the summary, the CLI.

The tests marked ``browser`` open the report in headless Chromium (``--dump-dom`` and
``--screenshot``); they are skipped where no Chromium is installed.
"""

from __future__ import annotations

import base64
import io as _bytes_io
import json
import math
import re
import shutil
import subprocess
import sys
import warnings
from html.parser import HTMLParser

import numpy as np
import pytest
import xarray as xr

import vbcsim
from vbcsim.frontends import cli, plot
from vbcsim.frontends import report as rep
from vbcsim.partnerships import MODEL_KEYS

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
needs_browser = pytest.mark.skipif(
    shutil.which("chromium") is None and shutil.which("chromium-browser") is None,
    reason="needs headless Chromium (chromium or chromium-browser on PATH)",
)
SECTIONS = ("question", "assumptions", "comparison", "risk-return", "distributions", "risk-shares")
LEVEL = 0.99


# --------------------------------------------------------------------------------------------- helpers


class _Page(HTMLParser):
    """What the tests read from a page: elements with an id, images, links, the comparison cells."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids: dict[str, str] = {}
        self.images: list[dict] = []
        self.urls: list[str] = []
        self.styles: list[str] = []
        self.scripts: list[dict] = []
        self.pres: list[str] = []
        self.cells: dict[str, list[dict]] = {}  # table id -> cells
        self._table = None
        self._row: dict = {}
        self._cell = None
        self._in_se = False
        self._in = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "id" in a:
            self.ids[a["id"]] = tag
        for key in ("src", "href", "action", "poster", "data"):
            if key in a and a[key] is not None:
                self.urls.append(a[key])
        if tag == "img":
            self.images.append(a)
        if tag == "script":
            self.scripts.append(a)
        if tag in ("style", "pre"):
            self._in, self._text = tag, []
        if tag == "table":
            self._table = a.get("id")
            self.cells.setdefault(self._table, [])
        if tag == "tr":
            self._row = a
        if tag == "td" and a.get("data-metric"):
            self._cell = {
                **a,
                **{k: v for k, v in self._row.items() if k.startswith("data-")},
                "text": "",
                "se": "",
            }
            self._cell["data-metric"] = a["data-metric"]
        if tag == "span" and a.get("class") == "se":
            self._in_se = True

    def handle_endtag(self, tag):
        if tag == self._in:
            (self.styles if tag == "style" else self.pres).append("".join(self._text))
            self._in = None
        if tag == "span":
            self._in_se = False
        if tag == "td" and self._cell is not None:
            self.cells[self._table].append(self._cell)
            self._cell = None
        if tag == "table":
            self._table = None

    def handle_data(self, data):
        if self._in:
            self._text.append(data)
        if self._cell is not None:
            self._cell["se" if self._in_se else "text"] += data


def _page(html: str) -> _Page:
    page = _Page()
    page.feed(html)
    return page


def _compare(n_scenarios=300, seed=1, members=2_000):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the value program's MSR below 5,000 members
        return vbcsim.compare(vbcsim.defaults.provider_panel(members), n_scenarios=n_scenarios, seed=seed)


def _expected(summary, metric: str, model, party) -> tuple[float, float | None]:
    at = {"model": model, "party": party}
    value = summary[metric]
    se = summary.get(f"{metric}_standard_error")
    if "level" in value.dims:
        value = value.sel(level=LEVEL)
        se = se.sel(level=LEVEL) if se is not None else None
    return float(value.sel(at)), (float(se.sel(at)) if se is not None else None)


_FORMATS = {
    "mean": rep.money,
    "std": rep.money,
    "value_at_risk": rep.money,
    "tail_value_at_risk": rep.money,
    "capital": rep.money,
    "mean_unpaired_standard_error": rep.money,
    "prob_loss": rep.percent,
    "return_on_capital": rep.percent,
    "risk_share": rep.share,
}


def _fake_summary(ds) -> xr.Dataset:
    """A summary built by hand (the shape of vbcsim.summarize's) with values the run cannot give."""
    models, parties = ds["model"].values, ds["party"].values
    shape = (len(models), len(parties))
    coords = {"model": models, "party": parties, "level": [0.95, 0.99]}
    mp, lmp = ("model", "party"), ("level", "model", "party")
    base = np.arange(1, shape[0] * shape[1] + 1, dtype=float).reshape(shape) * 1_111.0
    data = {
        "mean": (mp, base),
        "std": (mp, base / 2),
        "value_at_risk": (lmp, np.stack([base * 3, base * 4])),
        "tail_value_at_risk": (lmp, np.stack([base * 5, base * 6])),
        "prob_loss": (mp, np.full(shape, 0.125)),
        "risk_share": (mp, np.full(shape, 0.25)),
        "capital": (mp, base * 7),
        "return_on_capital": (mp, np.full(shape, 0.5)),
    }
    for name in list(data):
        dims, values = data[name]
        data[f"{name}_standard_error"] = (dims, np.asarray(values) / 100)
    out = xr.Dataset(data, coords=coords)
    out.attrs.update(capital_level=0.99, baseline="none")
    return out


@pytest.fixture(scope="module")
def cube():
    return _compare()


@pytest.fixture(scope="module")
def built(cube, tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    path = rep.report(cube, folder / "report.html")
    return path, path.read_text(encoding="utf-8")


def _chromium(*args, timeout=60) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args],
        capture_output=True,
        timeout=timeout,
        check=False,
    )


# --------------------------------------------------------------------------------------------- the file


def test_one_self_contained_file(built):
    path, html = built
    assert sorted(p.name for p in path.parent.iterdir()) == ["report.html"]  # no temporaries, no assets
    page = _page(html)
    assert page.urls, "the images are src attributes"
    for url in page.urls:
        assert url.startswith("data:"), url  # nothing loaded from a file or the network
    assert not page.scripts
    assert "<link" not in html
    for css in page.styles:
        assert "url(" not in css and "@import" not in css and "@font-face" not in css
    assert not re.search(r"""(src|href)\s*=\s*["']?\s*(https?:)?//""", html, re.I)


def test_every_section_and_its_figure(built):
    _, html = built
    page = _page(html)
    for section in SECTIONS:
        assert page.ids.get(section) == "section", section
    assert "sensitivity" not in page.ids and "cumulative" not in page.ids  # no sensitivity, no years
    for table in ("headline-table", "population-table", "terms-table", "change-table", "absolute-table"):
        assert page.ids.get(table) == "table", table
    assert len(page.images) == 3  # risk-return, distributions, risk shares
    for img in page.images:
        assert img["alt"]
        kind, payload = img["src"].split(",", 1)
        assert kind == "data:image/png;base64"
        from PIL import Image

        image = Image.open(_bytes_io.BytesIO(base64.b64decode(payload)))
        assert image.format == "PNG" and image.size[0] > 800
    assert "$ a year" in html and "PMPM" in html


def test_tables_match_the_summaries(cube, built):
    _, html = built
    page = _page(html)
    change = vbcsim.summarize(cube, baseline="fee_for_service")
    absolute = vbcsim.summarize(cube)
    for table, summary in (("change-table", change), ("absolute-table", absolute)):
        cells = page.cells[table]
        assert cells
        rows = {(c["data-model"], c["data-party"]) for c in cells}
        active = {
            (str(m), str(p))
            for m in cube["model"].values
            for p in cube["party"].values
            if not (
                absolute["mean"].sel(model=m, party=p) == 0 and absolute["std"].sel(model=m, party=p) == 0
            )
        }
        assert rows == active
        for c in cells:
            metric = c["data-metric"]
            value, se = _expected(summary, metric, c["data-model"], c["data-party"])
            fmt = rep.signed_money if (table == "change-table" and metric == "mean") else _FORMATS[metric]
            assert c["text"].strip() == fmt(value), (table, c)
            if math.isfinite(value):
                assert float(c["data-value"]) == pytest.approx(value, rel=1e-12, abs=1e-9)
            if se is not None and math.isfinite(se):
                assert c["se"].strip() == "\N{PLUS-MINUS SIGN} " + _FORMATS[metric](se).lstrip("+")
    # the headline: provider and payer of each model, from the change view
    for c in page.cells["headline-table"]:
        value, _ = _expected(change, c["data-metric"], c["data-model"], c["data-party"])
        assert float(c["data-value"]) == pytest.approx(value, rel=1e-12, abs=1e-9)


def test_assumptions_population_terms_and_full_config(cube, built):
    _, html = built
    page = _page(html)
    assert "children" in html and "adults_45_64" in html and "2,000" in html
    assert "trend multiplier" in html and "2.0%" in html  # the default systematic risk's trend CV
    for model in cube["model"].values:
        assert str(model) in html
    assert "SharedSavings (payer \N{RIGHTWARDS ARROW} provider)" in html
    assert "percent of premium 0.85" in html  # the risk network's capitation
    configs = [json.loads(text) for text in page.pres]
    assert json.loads(cube.attrs["config"]) in configs  # the run's resolved configuration, in full


def test_given_config_and_summary_are_used(cube, tmp_path):
    fake = _fake_summary(cube)
    given = {"simulation": {"n_scenarios": 300, "seed": 1}, "population": {"scale": 0.02}}
    path = rep.report(cube, tmp_path / "r.html", summary=fake, config=given, title="Test & title")
    page = _page(path.read_text(encoding="utf-8"))
    assert given in [json.loads(text) for text in page.pres]
    cells = page.cells["absolute-table"]
    for c in cells:
        value, se = _expected(fake, c["data-metric"], c["data-model"], c["data-party"])
        assert c["text"].strip() == _FORMATS[c["data-metric"]](value)
        assert c["se"].strip() == "\N{PLUS-MINUS SIGN} " + _FORMATS[c["data-metric"]](se)
    # the change view was not given: computed from the cube
    assert page.cells["change-table"]
    assert "<title>Test &amp; title</title>" in path.read_text(encoding="utf-8")


def test_without_status_quo_the_absolute_view_leads(cube, tmp_path):
    ds = cube.drop_vars("status_quo_net")
    path = rep.report(ds, tmp_path / "r.html")
    page = _page(path.read_text(encoding="utf-8"))
    assert "change-missing" in page.ids and "change-table" not in page.ids
    assert page.cells["absolute-table"]
    assert all(c["data-metric"] in ("mean", "prob_loss") for c in page.cells["headline-table"])


def test_years_add_a_fan_chart(cube, tmp_path):
    years = xr.concat([cube, _compare(seed=2)], dim=xr.DataArray([2026, 2027], dims="year", name="year"))
    for name in ("members", "premium"):  # the same in every year
        years[name] = cube[name]
    path = rep.report(years, tmp_path / "r.html")
    html = path.read_text(encoding="utf-8")
    page = _page(html)
    assert page.ids.get("cumulative") == "section"
    assert len(page.images) == 4
    assert "2 years" in html and "average annual result" in html


def _sensitivity_function():
    found = getattr(vbcsim, "sensitivity", None)
    if found is None:  # not yet exported from the package: its module
        from vbcsim.analysis.sensitivity import sensitivity as found
    return found


@pytest.fixture(scope="module")
def sens():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return _sensitivity_function()(
            vbcsim.defaults.provider_panel(2_000),
            ["efficiency", "sharing_rate"],
            n_scenarios=200,
            seed=1,
            progress=False,
        )


def test_tornado_section(cube, sens, tmp_path):
    path = rep.report(cube, tmp_path / "r.html", sensitivity=sens)
    html = path.read_text(encoding="utf-8")
    page = _page(html)
    assert page.ids.get("sensitivity") == "section"
    assert len(page.images) == 3 + cube.sizes["model"]  # provider and payer of each model, side by side
    assert all(img["src"].startswith("data:image/png;base64,") for img in page.images)
    assert "200 simulated years a run" in html


def test_tornado_missing_says_so(cube, sens, tmp_path, monkeypatch):
    monkeypatch.delattr(plot, "tornado")
    path = rep.report(cube, tmp_path / "r.html", sensitivity=sens)
    html = path.read_text(encoding="utf-8")
    assert _page(html).ids.get("sensitivity") == "section"
    assert "no vbcsim.plot.tornado" in html and len(_page(html).images) == 3


def test_bad_arguments(cube, tmp_path):
    with pytest.raises(ValueError, match="HTML file"):
        rep.report(cube, tmp_path / "r.txt")
    with pytest.raises(ValueError, match="does not exist"):
        rep.report(cube, tmp_path / "missing" / "r.html")
    (tmp_path / "d.html").mkdir()
    with pytest.raises(ValueError, match="is a directory"):
        rep.report(cube, tmp_path / "d.html")
    with pytest.raises(TypeError, match="ds must be"):
        rep.report(cube["net"], tmp_path / "r.html")
    with pytest.raises(TypeError, match="summary"):
        rep.report(cube, tmp_path / "r.html", summary=42)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.html"]


def test_formatting():
    assert rep.money(1234567.4) == "$1,234,567"
    assert rep.money(-56.0) == "\N{MINUS SIGN}$56"
    assert rep.money(-0.2) == "$0" and rep.money(float("nan")) == "n/a"
    assert rep.signed_money(1234.0) == "+$1,234" and rep.signed_money(-3.0) == "\N{MINUS SIGN}$3"
    assert rep.percent(0.1234) == "12.3%" and rep.share(-0.05) == "\N{MINUS SIGN}0.050"
    assert rep.pmpm(512.345) == "$512.35"


def test_lazy_export():
    assert "report" in vbcsim.__all__
    assert vbcsim.report is rep.report
    code = "import sys, vbcsim; assert 'jinja2' not in sys.modules; assert 'vbcsim.frontends.report' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


# --------------------------------------------------------------------------------------------- the CLI

SMALL = """
[simulation]
n_scenarios = 200
seed = 5

[population]
scale = 0.02
"""


def test_cli_report(tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    out = tmp_path / "report.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert cli.main(["report", str(config), "-o", str(out), "--no-sensitivity", "--threads", "2"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    page = _page(out.read_text(encoding="utf-8"))
    for section in SECTIONS:
        assert page.ids.get(section) == "section"
    assert {"simulation": {"n_scenarios": 200, "seed": 5}, "population": {"scale": 0.02}} in [
        json.loads(t) for t in page.pres
    ]
    assert "200 simulated years" in out.read_text(encoding="utf-8")
    assert "sensitivity" not in page.ids


def test_cli_report_with_sensitivity(tmp_path, capsys):
    config = tmp_path / "small.toml"
    config.write_text(SMALL)
    out = tmp_path / "report.html"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        assert cli.main(["report", str(config), "-o", str(out), "--scenarios", "50"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out}"
    html = out.read_text(encoding="utf-8")
    page = _page(html)
    assert page.ids.get("sensitivity") == "section"
    assert len(page.images) == 3 + len(MODEL_KEYS)
    assert "50 simulated years a run" in html


@pytest.mark.parametrize(
    "output, message",
    [("missing/report.html", "does not exist"), ("report.txt", "HTML file")],
)
def test_cli_report_bad_output_exits_2(output, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ran = []
    monkeypatch.setattr(vbcsim, "compare", lambda *a, **k: ran.append(1))
    assert cli.main(["report", "-o", output, "--scenarios", "50"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("vbcsim report: error: --output") and message in err
    assert err.count("\n") == 1
    assert not ran and not list(tmp_path.iterdir())  # checked before the run; nothing written


# --------------------------------------------------------------------------------------------- in a browser


@pytest.mark.browser
@needs_browser
def test_browser_dom(built, tmp_path):
    path, html = built
    probe = tmp_path / "probe.html"  # a copy that records each image's decoded width on load
    probe.write_text(
        html.replace(
            "</body>",
            '<script>addEventListener("load", () => { for (const i of document.images) '
            "i.dataset.naturalWidth = i.naturalWidth; });</script></body>",
        ),
        encoding="utf-8",
    )
    done = _chromium("--dump-dom", probe.as_uri())
    assert done.returncode == 0, done.stderr.decode(errors="replace")[-2000:]
    page = _page(done.stdout.decode("utf-8"))
    for section in SECTIONS:
        assert page.ids.get(section) == "section"
    source = _page(html)
    assert len(page.cells["change-table"]) == len(source.cells["change-table"])
    assert len(page.cells["absolute-table"]) == len(source.cells["absolute-table"])
    assert len(page.images) == 3
    for img in page.images:
        assert int(img.get("data-natural-width", 0)) > 800  # decoded


@pytest.mark.browser
@needs_browser
def test_browser_screenshot(built, tmp_path):
    from PIL import Image

    path, _ = built
    shot = tmp_path / "shot.png"
    done = _chromium(f"--screenshot={shot}", "--window-size=1280,1600", path.as_uri())
    assert done.returncode == 0 and shot.exists(), done.stderr.decode(errors="replace")[-2000:]
    image = np.asarray(Image.open(shot).convert("L"))
    assert image.shape == (1600, 1280)
    column = image[:, 340:940]  # the page's column of text
    assert (column < 100).mean() > 0.01  # text drawn
    assert (column > 240).mean() > 0.5  # on a white page


def test_a_party_with_a_constant_result_but_a_change_is_shown(tmp_path):
    # capitation at 90% of premium with 10% admin leaves the payer exactly 0 every year, yet it
    # gives up its whole fee-for-service margin: the change view must show it
    pop = vbcsim.defaults.provider_panel(2_000)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        models = vbcsim.partnership_models(pop, risk_network={"percent_of_premium": 0.9})
        ds = vbcsim.compare(pop, models, n_scenarios=200, seed=3, threads=1)
    model = [m for m in ds.model.values.tolist() if "network" in m][0]
    assert float(abs(ds.net.sel(model=model, party="payer")).max()) == 0
    page = _page(rep.report(ds, tmp_path / "r.html").read_text(encoding="utf-8"))
    change_rows = {(c["data-model"], c["data-party"]) for c in page.cells["change-table"]}
    assert (model, "payer") in change_rows
    headline = {(c["data-model"], c["data-party"]) for c in page.cells["headline-table"]}
    assert (model, "payer") in headline
