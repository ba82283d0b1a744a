"""Render the README figures: ``python docs/figures/render.py`` from the repository root."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import vbcsim  # noqa: E402
from vbcsim import plot  # noqa: E402

HERE = Path(__file__).parent


def main() -> None:
    ds = vbcsim.compare(n_scenarios=5000, seed=0)
    fig = plot.risk_return(ds, level=0.99)
    fig.savefig(HERE / "risk_return.png", dpi=100, metadata={"Software": None})


if __name__ == "__main__":
    main()
