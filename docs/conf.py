"""Sphinx configuration of the vbcsim documentation site.

Build it from the repository root (CI runs the same command through ``.ci/run``)::

    python -m pip install ".[docs]"
    python -m sphinx -W --keep-going -b html docs docs/_build/html

Warnings are errors: a docstring numpydoc cannot parse, a page outside every toctree, a
notebook cell that raises, or a public name missing from the API reference fails the build.

What the site is made of:

- ``index.md``: the front page and its toctrees;
- the user guide: every top-level ``docs/*.md`` page (a ``:glob:`` toctree, so a new page
  is picked up without editing ``index.md``);
- ``models/``: one page per partnership model and one for the fee-for-service status quo;
- ``api/index.rst``: the public API, autosummary lists whose stubs are generated into
  ``api/generated/`` (gitignored) at every build;
- the notebooks of ``notebooks/``, executed during the build (below).

How the notebooks are included
------------------------------
myst-nb reads only documents inside the source directory (``docs/``), and the notebooks
live in ``notebooks/`` at the repository root, where the test suite runs them (nbmake).
Rather than a symlink (lost or copied as text on some checkouts and archives) or the
repository root as source directory (a different build command and every stray ``.md`` a
candidate page), this file copies them into ``docs/_notebooks/`` (gitignored) each time
Sphinx reads it: only notebooks whose bytes changed are copied, so an incremental build and
the execution cache stay valid, and copies whose original is gone are removed.  They are
stored without outputs and executed during the build; with ``nb_execution_mode = "cache"``
jupyter-cache (``docs/_build/.jupyter_cache``) executes a notebook again only when its code
changes, and a cell that raises fails the build.

Nothing here reaches the network at build time: no intersphinx; mathematics is rendered by
MathJax, which the pages load from its CDN when they are viewed.
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
ROOT = DOCS.parent
# the package is normally installed (pip install ".[docs]"); this finds it in a bare checkout too
sys.path.insert(0, str(ROOT))

import vbcsim  # noqa: E402

# -- the notebooks, copied into the source directory ---------------------------------------------

NOTEBOOKS_SOURCE = ROOT / "notebooks"
NOTEBOOKS_COPY = DOCS / "_notebooks"


def _copy_notebooks() -> None:
    NOTEBOOKS_COPY.mkdir(exist_ok=True)
    originals = {p.name: p for p in sorted(NOTEBOOKS_SOURCE.glob("*.ipynb"))}
    for stale in NOTEBOOKS_COPY.glob("*.ipynb"):
        if stale.name not in originals:
            stale.unlink()
    for name, original in originals.items():
        copy = NOTEBOOKS_COPY / name
        if not copy.exists() or copy.read_bytes() != original.read_bytes():
            shutil.copyfile(original, copy)


_copy_notebooks()

# -- project -------------------------------------------------------------------------------------

project = "vbcsim"
author = "The vbcsim developers"
copyright = "the vbcsim developers"
release = vbcsim.__version__
version = ".".join(release.split(".")[:2])

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.mathjax",
    "numpydoc",
    "myst_nb",
]

exclude_patterns = [
    "_build",
    "figures/render.py",
    "**/.ipynb_checkpoints",
    "jupyter_execute",
    "Thumbs.db",
    ".DS_Store",
]
templates_path = ["_templates"]

# -- MyST and myst-nb ----------------------------------------------------------------------------

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence"]
# $...$ is mathematics only when no space follows the opening $ or precedes the closing one and
# no digit follows the closing one: "$4 PMPM and $200,000" stays money, "$\delta\,s\,C$" is maths
myst_dmath_allow_space = False
myst_dmath_allow_digits = False
myst_heading_anchors = 3

nb_execution_mode = "cache"
nb_execution_timeout = 600
nb_execution_raise_on_error = True
nb_execution_show_tb = True
nb_merge_streams = True

# -- autodoc, autosummary, numpydoc --------------------------------------------------------------

autosummary_generate = True
autodoc_member_order = "bysource"
autodoc_typehints = "none"  # numpydoc's Parameters sections give the types
autodoc_default_options = {"members": True, "show-inheritance": True}

numpydoc_show_class_members = False
numpydoc_class_members_toctree = False
numpydoc_validation_checks: set[str] = set()

# -- HTML ----------------------------------------------------------------------------------------

html_theme = "furo"
html_title = f"vbcsim {release}"
html_static_path: list[str] = []

# -- every public name in the API reference ------------------------------------------------------

# reStructuredText, not MyST: autosummary generates stubs only for the ``.. autosummary::``
# directives it finds in reST syntax
API_PAGE = DOCS / "api" / "index.rst"
_ENTRY = re.compile(r"^ {3}~?vbcsim\.(\w+)\s*$", re.M)


def _api_names() -> set[str]:
    """The ``vbcsim.<name>`` entries of the API page's autosummary lists, without the prefix."""
    return set(_ENTRY.findall(API_PAGE.read_text(encoding="utf-8")))


def _check_api_page(app) -> None:
    """A name of ``vbcsim.__all__`` absent from ``docs/api/index.rst`` is a warning (so -W fails)."""
    from sphinx.util import logging

    logger = logging.getLogger("vbcsim.docs")
    missing = sorted(set(vbcsim.__all__) - {"__version__"} - _api_names())
    for name in missing:
        logger.warning(
            "vbcsim.%s is public (vbcsim.__all__) but not in the API reference: add the line "
            "'   vbcsim.%s' to the fitting autosummary list of docs/api/index.rst",
            name,
            name,
            location="api/index",
        )


def setup(app):
    app.connect("builder-inited", _check_api_page)
