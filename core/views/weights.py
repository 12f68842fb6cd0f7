"""The Weight distances page: how far apart a layer's units are, how far weights moved from their start, and what to
notice in them.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.i18n import _
from core.views.charts import (NUM, PANEL_HEIGHT, epoch_axis, finite_rows, gradient_legend, int_axis, lines,
                               scheme_tip, scrub_step, seed_band, sized, tip, with_cell_bounds)
from core.views.phrases import number, percent, with_divergence


def unit_distance_panel(ud: pd.DataFrame, scheme: str, index: int, domain_max: float) -> alt.Chart:
    """Distances between every pair of units of one layer, one scheme, each pair once: the lower triangle
    with the diagonal (the matrix is symmetric, and every mark costs the browser: see ``boundary_runs``). The
    colour scale runs from 0 to the largest distance of any scheme shown, so identical units (0) look the
    same everywhere."""
    one = ud[(ud["scheme"] == scheme) & (ud["unit_j"] <= ud["unit_i"])]
    data = with_cell_bounds(with_cell_bounds(one[["scheme", "unit_i", "unit_j", "distance"]], "unit_i"), "unit_j")
    n = int(ud["unit_i"].max()) if len(ud) else 1
    scale = alt.Scale(domain=[0.5, n + 0.5], nice=False, zero=False)
    return sized(alt.Chart(data).mark_rect().encode(
        x=alt.X("unit_j_lo:Q", title=_("unit"), scale=scale, axis=int_axis()), x2=alt.X2("unit_j_hi:Q"),
        y=alt.Y("unit_i_lo:Q", title=_("unit"), scale=alt.Scale(domain=[n + 0.5, 0.5], nice=False, zero=False),
                axis=int_axis()),
        y2=alt.Y2("unit_i_hi:Q"),
        color=alt.Color("distance:Q", title=_("distance between two units"),
                        scale=alt.Scale(scheme="viridis", domain=[0, max(domain_max, 1e-12)]),
                        legend=gradient_legend(_("distance between two units"), max(domain_max, 1e-12))),
        tooltip=[scheme_tip(), tip("unit_i:Q", _("unit")), tip("unit_j:Q", _("other unit")),
                 tip("distance:Q", _("distance (Euclidean, incoming weights and bias)"), NUM)],
    ), PANEL_HEIGHT + 40)


def init_distance_data(init_d: pd.DataFrame, relative: bool) -> pd.DataFrame:
    value = "relative_distance" if relative else "distance"
    return finite_rows(seed_band(init_d, ["scheme", "layer", "epoch"], value), ["mean"])


def init_distance_panel(data: pd.DataFrame, scheme: str, index: int, relative: bool, epochs,
                        domain_max: float) -> alt.Chart:
    """How far one scheme's weights moved from their initial values, layer × epoch (seed mean)."""
    title = _("distance from the initial weights, relative to their norm") if relative else \
        _("distance from the initial weights (Frobenius norm)")
    half = scrub_step(epochs) / 2 if len(epochs) > 1 else 0.5
    d = with_cell_bounds(with_cell_bounds(data[data["scheme"] == scheme], "epoch", half), "layer")
    layers = data["layer"]
    return sized(alt.Chart(d).mark_rect().encode(
        x=alt.X("epoch_lo:Q", title=_("training epoch"), axis=epoch_axis(epochs),
                scale=alt.Scale(domain=[min(epochs) - half, max(epochs) + half], nice=False, zero=False)),
        x2=alt.X2("epoch_hi:Q"),
        y=alt.Y("layer_lo:Q", title=lines(_("layer (last = output layer)")), axis=int_axis(),
                scale=alt.Scale(domain=[layers.max() + 0.5, layers.min() - 0.5], nice=False, zero=False)),
        y2=alt.Y2("layer_hi:Q"),
        color=alt.Color("mean:Q", scale=alt.Scale(scheme="magma", reverse=True, domain=[0, max(domain_max, 1e-12)]),
                        legend=gradient_legend(lines(title, 24), max(domain_max, 1e-12), ".3~g")),
        tooltip=[scheme_tip(), tip("layer:Q", _("layer")), tip("epoch:Q", _("epoch")),
                 tip("mean:Q", _("mean over seeds"), NUM), tip("seeds:Q", _("seeds"))],
    ), PANEL_HEIGHT)


def notices(unit_distances: pd.DataFrame, init_distances: pd.DataFrame, schemes, epoch: int, seed: int,
            layer: int, summary: pd.DataFrame | None = None) -> list[str]:
    out = []
    ud = unit_distances[(unit_distances["epoch"] == epoch) & (unit_distances["seed"] == seed)
                        & (unit_distances["layer"] == layer)]
    far = ud.groupby("scheme")["distance"].max()
    copies = [s for s in schemes if s in far.index and far[s] == 0]
    if copies:
        out.append(_("{schemes}: every pair of units in layer {layer} is at distance 0 at epoch {epoch} "
                     "(seed {seed}): the units are copies of one another.").format(
            schemes=", ".join(copies), layer=layer, epoch=epoch, seed=seed))
    near = ud[ud["unit_i"] != ud["unit_j"]].groupby("scheme")["distance"].min()
    spread = [s for s in schemes if s in near.index and near[s] > 0]
    if spread:
        s = near[spread]
        out.append(_("Closest pair of distinct units in layer {layer}: {scheme}, {value} apart.").format(
            layer=layer, scheme=s.idxmin(), value=number(s.min())))
    last = init_distances["epoch"].max()
    moved = init_distances[init_distances["epoch"] == last].groupby("scheme")["relative_distance"].mean()
    moved = moved.reindex([s for s in schemes if s in moved.index]).dropna()
    moved = moved[np.isfinite(moved)]
    if len(moved) >= 1:
        hi, lo = moved.idxmax(), moved.idxmin()
        if hi == lo:
            out.append(_("By epoch {epoch}, training moved {scheme}'s weights by {value} of their initial norm "
                         "(mean over layers and seeds).").format(epoch=last, scheme=hi, value=percent(moved[hi])))
        else:
            out.append(_("By epoch {epoch}, training moved {high}'s weights furthest, {high_value} of their initial "
                         "norm, and {low}'s least, {low_value} (mean over layers and seeds).").format(
                epoch=last, high=hi, high_value=percent(moved[hi]), low=lo, low_value=percent(moved[lo])))
    return with_divergence(out, summary, schemes, epoch)
