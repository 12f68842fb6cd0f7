"""Sweeps: one experiment over a grid of two axes, trained (locally, on loky or Dask) or measured at initialization; and their command line."""
