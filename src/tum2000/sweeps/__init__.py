"""Many simulations: the grid of a sweep, running it (Dask), clusters, stored sweeps and the
studies built on them (numerical convergence, the mean-field comparison)."""
