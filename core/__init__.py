"""initlab core: pure computation (NumPy, pandas, scikit-learn, Altair); no Streamlit.

The names below load on first use, so that importing one module (the training
workers import ``core.trainer`` only) does not load pandas, scikit-learn and
Altair as well: a worker's memory goes from 187 MB to about a third of that.
"""
import importlib

_LAZY = {"ExperimentConfig": "config", "Results": "experiment", "run": "experiment"}
__all__ = list(_LAZY)


def __getattr__(name):
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
