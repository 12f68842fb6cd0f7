"""What pages place: charts that fail alone, CSV downloads of a chart's data, pickers, scheme badges."""
from __future__ import annotations

import logging
import traceback

import streamlit as st

from core import charts, export
from core.i18n import _

from .context import Context
from .results import frame_for
from .text import literal

LOG = logging.getLogger("initlab")


def show_chart(build, *args, **kwargs) -> None:
    """Draw one chart; if building it fails, say so briefly and let the page go on."""
    try:
        chart = build(*args, **kwargs)
        st.altair_chart(chart, width="content")
    except Exception as e:  # noqa: BLE001 - one broken chart must not take the page down
        LOG.error("chart %s failed:\n%s", getattr(build, "__name__", build), traceback.format_exc())
        st.error(literal(_("This chart could not be drawn ({error}). The rest of the page still works.").format(
            error=f"{type(e).__name__}: {e}")))


def download_csv(label: str, frame_name: str, ctx: Context, key: str | None = None) -> None:
    rows = len(ctx.frames[frame_name])
    config = ctx.config
    # The file is made when clicked, from the shared cache: the button must not hold the frame itself
    # (Streamlit keeps it as long as the session shows the page, past the cache's bound).
    st.download_button(_("⬇ {label} (CSV, {rows} rows)").format(label=label, rows=f"{rows:,}"),
                       data=lambda: export.csv_bytes(frame_for(config, frame_name), config.run_id),
                       file_name=f"initlab_{frame_name}_{ctx.config.run_id}.csv", mime="text/csv",
                       on_click="ignore", key=key or f"dl_{frame_name}")


def downloads(ctx: Context, *items: tuple[str, str]) -> None:
    """A row of CSV download buttons, one per (label, frame name): the data of the page's charts."""
    for col, (label, frame_name) in zip(st.columns(len(items)), items):
        with col:
            download_csv(label, frame_name, ctx)


def epoch_picker(ctx: Context, label: str | None = None, key: str = "epoch", default_last: bool = False) -> int:
    epochs = ctx.epochs
    return st.select_slider(label or _("Epoch"), epochs, value=epochs[-1] if default_last else epochs[0], key=key)


def seed_picker(ctx: Context, key: str = "seed") -> int:
    if ctx.config.seeds == 1:
        return 0
    return st.selectbox(_("Seed"), list(range(ctx.config.seeds)), key=key)


def scheme_badge(i: int, label: str) -> str:
    """Markdown (with HTML) for a scheme's colour swatch and its label; the label is escaped."""
    return f"<span style='color:{charts.PALETTE[i % len(charts.PALETTE)]}'>■</span> **{literal(label)}**"
