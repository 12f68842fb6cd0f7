"""Running work on a machine: the training worker pool, a run's stop/pause control, the budget that admits a configuration, BLAS threads and memory given back."""
