"""Measurement and theory: the probes, their tidy frames, histograms on one grid, mean-field predictions."""
