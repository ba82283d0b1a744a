"""The result cube: running the engine and settling into an ``xarray.Dataset``, the registry of
its variables, its files (netCDF, zarr, streamed zarr stores) and the metrics read from it.

- :mod:`~vbcsim.results.variables`: the documented list of the cube's variables, dims and units;
- :mod:`~vbcsim.results.simulation`: :func:`simulate`, which runs the engine, settles the contracts
  and assembles the cube;
- :mod:`~vbcsim.results.store`: streaming a run block by block into a resumable zarr store;
- :mod:`~vbcsim.results.io`: atomic writers for netCDF, zarr and figures;
- :mod:`~vbcsim.results.metrics`: :func:`summarize` and the risk metrics.
"""
