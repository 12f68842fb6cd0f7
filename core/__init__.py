"""initlab core: pure computation (NumPy, pandas, scikit-learn, Altair); no Streamlit.

Its folders, one per concern (the shape of scikit-learn's ``neural_network/``):

- ``nn``: the network and its training (layers, activations, initializers, optimizers, the trainer)
- ``measure``: measurement and theory (probes, tidy frames, densities, mean-field predictions)
- ``sweeps``: one experiment over a grid of two axes, trained or measured at initialization; their CLI
- ``runtime``: running work on a machine (the worker pool, stop/pause control, the budget, BLAS, memory)
- ``views``: what each page draws and says (Altair charts and sentences), one module per page
- ``compat``: the loky internals the worker pool relies on, each checked by tests/test_compat.py

and, beside them, what every part shares: ``config`` (the experiment and its link), ``experiment`` (``run``,
``at_initialization``), ``datasets``, ``restarts`` (k-means, EM and best of k), ``export``, ``i18n``,
``formatting``, ``numbers``.

The names below load on first use, so that importing one module (the training
workers import ``core.nn.trainer`` only) does not load pandas, scikit-learn and
Altair as well: a worker's memory goes from 187 MB to about a third of that.
"""
import importlib

_LAZY = {"ExperimentConfig": "config", "Results": "experiment", "run": "experiment", "at_initialization": "experiment"}
__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
