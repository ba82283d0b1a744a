"""The Monte Carlo engine: numba kernels (``_kernels``) and the block driver (``driver``)."""
