"""The Decision boundaries page: each model's class probabilities over the input plane, and what to notice in them.
"""
from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from core.formatting import number_text
from core.i18n import _
from core.views.charts import NUM, PANEL_HEIGHT, gradient_legend, lines, scheme_tip, sized, tip
from core.views.phrases import diverged_by, finished_models, percent, seeds_words


def boundary_data(bnd: pd.DataFrame, epoch: int, seed: int) -> pd.DataFrame:
    """The decision-boundary grid at one epoch and seed, as the rects a panel draws (``boundary_runs``)."""
    data = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == seed)]
    x1, x2 = data["x1"].to_numpy(), data["x2"].to_numpy()
    xs, ys = np.unique(x1), np.unique(x2)
    dx = (xs[1] - xs[0]) if len(xs) > 1 else 1.0
    dy = (ys[1] - ys[0]) if len(ys) > 1 else 1.0
    cells = pd.DataFrame({"scheme": data["scheme"].to_numpy(), "x1": x1 - dx / 2, "x1_hi": x1 + dx / 2,
                          "x2": x2 - dy / 2, "x2_hi": x2 + dy / 2, "predicted": data["predicted"].to_numpy(),
                          "probability": data["probability"].to_numpy()})
    return boundary_runs(cells)


SHADES = 255  # neighbouring cells whose probabilities round to the same 1/SHADES share a rect


def boundary_runs(cells: pd.DataFrame) -> pd.DataFrame:
    """Along each row of the grid, neighbouring cells that predict the same class with a probability that
    rounds to the same 1/SHADES are drawn as one rect, coloured by their mean probability (a cell differs from
    it by less than 1/SHADES: a step or two of one colour channel); the tooltip gives their exact range,
    ``probability_range``.

    Far from the boundary a trained model is sure of itself and most of a row is one rect: the default
    run's final epoch draws about a quarter as many marks. The marks are what the browser pays for: every one
    is encoded through Vega's expression interpreter (Streamlit's, safe under a strict CSP), and the page's
    switch time grew with the number of cells (bench/RESULTS.md). The CSV keeps every cell."""
    if cells.empty:  # every model of this seed diverged before this epoch
        return cells.assign(probability_range=pd.Series(dtype=str), p_class_1=pd.Series(dtype=float))
    scheme = pd.factorize(cells["scheme"])[0]
    row, x1 = cells["x2"].to_numpy(), cells["x1"].to_numpy()
    order = np.lexsort((x1, row, scheme))  # scheme by scheme, row by row, left to right
    scheme, row = scheme[order], row[order]
    predicted, p = cells["predicted"].to_numpy()[order], cells["probability"].to_numpy()[order]
    shade = np.round(p * SHADES)
    same = np.zeros(len(p), bool)
    same[1:] = ((scheme[1:] == scheme[:-1]) & (row[1:] == row[:-1]) & (predicted[1:] == predicted[:-1])
                & (shade[1:] == shade[:-1]))
    first = np.flatnonzero(~same)  # each rect's first cell
    last = np.append(first[1:], len(p)) - 1
    low, high = np.minimum.reduceat(p, first), np.maximum.reduceat(p, first)
    mean = np.add.reduceat(p, first) / (last - first + 1)
    pick = order[first]
    return pd.DataFrame({
        "scheme": cells["scheme"].to_numpy()[pick], "x1": x1[pick], "x1_hi": cells["x1_hi"].to_numpy()[order[last]],
        "x2": row[first], "x2_hi": cells["x2_hi"].to_numpy()[pick], "predicted": predicted[first],
        "probability": mean,
        "probability_range": [f"{lo:.6g}" if lo == hi or np.isnan(hi) else f"{lo:.6g} – {hi:.6g}"
                              for lo, hi in zip(low, high)],
        "p_class_1": np.where(predicted[first] == 1, mean, 1 - mean)})


def boundary_panel(cells: pd.DataFrame, points: pd.DataFrame, scheme: str, index: int, n_classes: int) -> alt.LayerChart:
    """One scheme's predicted class over the input plane, with the training points."""
    pts = points[points["split"] == "train"]
    lo1, hi1 = float(cells["x1"].min()), float(cells["x1_hi"].max())
    lo2, hi2 = float(cells["x2"].min()), float(cells["x2_hi"].max())
    # a label within 10 px of the axis's end flush with it: the last one ("2.5") ran past a phone's panel
    x = alt.X("x1:Q", scale=alt.Scale(domain=[lo1, hi1], nice=False, zero=False),
              title=_("input feature 1 (standardized)"), axis=alt.Axis(labelFlush=10))
    y = alt.Y("x2:Q", scale=alt.Scale(domain=[lo2, hi2], nice=False, zero=False),
              title=lines(_("input feature 2 (standardized)"), 22))  # one line ran past a 1280 px panel's top
    if n_classes == 2:
        fill = alt.Color("p_class_1:Q", scale=alt.Scale(scheme="redblue", domain=[0, 1]),
                         # shorter than other gradients, its title in short lines: the true class's legend
                         # shares the row under the plot (in French, a third of a row at 1280 px cut it)
                         legend=gradient_legend(lines(_("predicted probability of class 1"), 14), 1.0,
                                                values=[0, 0.5, 1], length=90))
        opacity = alt.OpacityValue(0.75)
        point_scale = alt.Scale(domain=[0, 1], range=["#b2182b", "#2166ac"])  # the probability scale's ends
    else:
        fill = alt.Color("predicted:N", scale=alt.Scale(scheme="category10", domain=list(range(n_classes))),
                         title=_("predicted class"), legend=alt.Legend(orient="bottom", symbolOpacity=1))
        opacity = alt.Opacity("probability:Q", scale=alt.Scale(domain=[0, 1]), legend=None)
        point_scale = alt.Scale(scheme="category10", domain=list(range(n_classes)))
    heat = alt.Chart(cells[cells["scheme"] == scheme]).mark_rect().encode(
        x=x, x2=alt.X2("x1_hi:Q"), y=y, y2=alt.Y2("x2_hi:Q"), color=fill, opacity=opacity,
        tooltip=[scheme_tip(), tip("predicted:N", _("predicted class")),
                 tip("probability_range:N", _("probability of that class"))])
    dots = alt.Chart(pts).mark_circle(size=18, stroke="white", strokeWidth=0.6, opacity=1).encode(
        x=x, y=y, fill=alt.Fill("label:N", scale=point_scale, title=_("true class"),
                                # two classes: one a row, else they run past a narrow panel's edge beside the
                                # gradient, cut short; more classes stay in a row (a column would take the plot's height)
                                legend=alt.Legend(orient="bottom", symbolOpacity=1,
                                                  direction="vertical" if n_classes == 2 else "horizontal")),
        tooltip=[tip("label:N", _("true class")), tip("x1:Q", _("feature 1"), NUM), tip("x2:Q", _("feature 2"), NUM)])
    return sized(alt.LayerChart(layer=[heat, dots]), PANEL_HEIGHT + 40)


UNDECIDED = 0.01  # a model whose top class probability stays within this of 1 / classes everywhere predicts no class


def undecided(bnd: pd.DataFrame, schemes, epoch: int, seed: int, n_classes: int) -> dict[str, tuple[float, float]]:
    """Schemes whose predicted probability (of the top class) stays within UNDECIDED of 1 / n_classes over the
    whole plane at (epoch, seed): their predicted class is a near-tie everywhere, the panel shows no boundary.
    Scheme -> (lowest, highest) probability."""
    b = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == seed)]
    out = {}
    for scheme in schemes:
        p = b[b["scheme"] == scheme]["probability"]
        if len(p) and p.max() <= 1 / n_classes + UNDECIDED:
            out[scheme] = (float(p.min()), float(p.max()))
    return out


def notices(bnd: pd.DataFrame, summary: pd.DataFrame, schemes, epoch: int, seed: int,
               n_classes: int = 2) -> list[str]:
    out = []
    b = bnd[(bnd["epoch"] == epoch) & (bnd["seed"] == seed)]
    flat_models = undecided(bnd, schemes, epoch, seed, n_classes)
    if flat_models:
        out.append(_("At epoch {epoch} (seed {seed}), {schemes}: the top class gets only {lo} to {hi} over the whole "
                     "plane, nearly 1/{classes} for every class everywhere. A constant prediction (the class prior "
                     "when the classes are balanced), with no boundary to see.").format(
            epoch=epoch, seed=seed, schemes=", ".join(flat_models), classes=n_classes,
            lo=number_text(min(v[0] for v in flat_models.values()), ".3f"),
            hi=number_text(max(v[1] for v in flat_models.values()), ".3f")))
    flat = []
    for scheme in schemes:
        p = b[b["scheme"] == scheme]["predicted"]
        if len(p) and p.nunique() == 1 and scheme not in flat_models:
            flat.append(_("{scheme} (class {label})").format(scheme=scheme, label=int(p.iloc[0])))
    if flat:
        out.append(_("At epoch {epoch} (seed {seed}), one class everywhere on the plane: {schemes}.").format(
            epoch=epoch, seed=seed, schemes=", ".join(flat)))
    gone = diverged_by(summary, schemes, epoch)
    if gone:
        out.append(gone)
    finished = finished_models(summary)
    acc = finished.groupby("scheme", sort=False)["final_test_accuracy"].mean().reindex(list(schemes)).dropna()
    if len(acc):
        best = acc.idxmax()
        seeds = int((finished["scheme"] == best).sum())  # the seeds behind the mean
        out.append(_("Best final test accuracy: {scheme}, {value} (mean of {seeds}).").format(
            scheme=best, value=percent(acc[best]), seeds=seeds_words(seeds)))
    first = bnd[(bnd["epoch"] == bnd["epoch"].min()) & (bnd["seed"] == seed)]
    merged = first.merge(b, on=["scheme", "x1", "x2"], suffixes=("_0", ""))
    changed = (merged["predicted_0"] != merged["predicted"]).groupby(merged["scheme"]).mean()
    # an undecided model's class flips between near-ties: its changes say nothing
    changed = changed.reindex([s for s in schemes if s in changed.index and s not in flat_models])
    if len(merged) and epoch != first["epoch"].min() and len(changed):
        out.append(_("Since epoch 0, the predicted class changed on {high} of the plane for {most}, {low} for "
                     "{least}.").format(high=percent(changed.max()), most=changed.idxmax(),
                                        low=percent(changed.min()), least=changed.idxmin()))
    return out[:3]
