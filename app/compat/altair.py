"""Altair internals (pinned: requirements.txt); tests/test_compat.py checks them against the installed
Altair."""
from __future__ import annotations


def unchecked():
    """A context in which Altair does not validate each chart object as it is made (``debug_mode(False)`` of
    ``altair.utils.schemapi``). Altair has no public switch for it: ``alt.data_transformers`` and
    ``to_dict(validate=False)`` skip only the final check of the whole spec, not the check of every object as
    it is built (app/widgets.py: tests/test_charts.py validates each builder's spec instead)."""
    from altair.utils.schemapi import debug_mode
    return debug_mode(False)
