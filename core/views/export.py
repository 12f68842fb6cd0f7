"""The Export page's sentences."""
from __future__ import annotations

import pandas as pd

from core.formatting import number_text
from core.i18n import _, ngettext
from core.views.phrases import seeds_words


def notices(frames: dict[str, pd.DataFrame], n_schemes: int, seeds: int) -> list[str]:
    rows = {name: len(df) for name, df in frames.items()}
    largest = max(rows, key=rows.get)
    epochs = frames["layer_stats"]["epoch"].nunique() if "layer_stats" in frames else 0
    return [_("This run: {models} models ({schemes} × {seeds}), {epochs} recorded epochs.").format(
                models=n_schemes * seeds, schemes=ngettext("{n} scheme", "{n} schemes", n_schemes).format(n=n_schemes),
                seeds=seeds_words(seeds), epochs=epochs),
            _("{frames} frames, {rows} rows in all; the largest is {name} ({largest} rows).").format(
                frames=len(rows), rows=number_text(sum(rows.values()), ","), name=largest,
                largest=number_text(rows[largest], ","))]
