"""The Restarts beyond networks page: where each restart of k-means, EM and logistic regression ends (core.restarts'
frames), the expected best of k restarts, the best and the worst fit drawn over the data, and what to notice.

Every chart is one view (no facets), so the page can stretch it to its column's width; tooltips carry the
exact values, axis titles say what is measured and in which unit.
"""
from __future__ import annotations


import altair as alt
import numpy as np
import pandas as pd

from core.formatting import number_text
from core.i18n import _, clauses
from core.restarts import (GMM_TOL, MAX_ITER, METHODS, SYMMETRIC_TOL, em_iterations, RestartResults, restarts_for,
                           symmetric_em)
from core.views.charts import PANEL_HEIGHT, titled_panel
from core.views.colours import INIT_COLOURS, OKABE_ITO


HEIGHT = PANEL_HEIGHT


def init_color(inits) -> alt.Color:
    inits = list(inits)
    return alt.Color("init:N", sort=inits, title=_("init"),
                     scale=alt.Scale(domain=inits, range=[INIT_COLOURS[i] for i in inits]),
                     # one entry a row: three charts share a row, and a second column of labels as long as
                     # "random_from_data" runs past a chart a third of the page wide, where Vega clips it
                     legend=alt.Legend(orient="bottom", symbolOpacity=1, columns=1, labelLimit=0))


def _domain(values, floor: float) -> list[float]:
    """An axis range holding ``values``, at least ``floor`` wide: a spread of rounding noise must not fill the
    whole axis."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    lo, hi = float(v.min()), float(v.max())
    width = max(hi - lo, floor)
    mid = (lo + hi) / 2
    return [mid - 0.55 * width, mid + 0.55 * width]


def outcomes_chart(runs: pd.DataFrame, method: str) -> alt.LayerChart:
    """One dot per restart of k-means or EM: its final objective against the iterations it took, coloured by
    init; the dashed line is the best found."""
    m = METHODS[method]
    data = runs[runs["method"] == method][["init", "restart", "objective", "iterations", "converged", "gap",
                                           "near_best"]]
    best = data["objective"].min() if m.better == "lower" else data["objective"].max()
    y_title = _(m.axis)
    y = alt.Y("objective:Q", title=y_title,
              scale=alt.Scale(domain=_domain(data["objective"], 0.02 * abs(best) + 1e-9), zero=False))
    # restarts that end identically would hide each other: spread them a little along x (the tooltip keeps
    # the exact iteration count)
    dots = alt.Chart(data).transform_calculate(
        shown="datum.iterations + ((datum.restart % 7) - 3) * 0.08").mark_point(
        filled=True, size=70, opacity=0.75).encode(
        x=alt.X("shown:Q", title=_("iterations until it stopped")), y=y, color=init_color(m.inits),
        tooltip=[alt.Tooltip("init:N", title=_("init")), alt.Tooltip("restart:Q", title=_("restart")),
                 alt.Tooltip("objective:Q", title=_(m.noun), format=".10g"),
                 alt.Tooltip("iterations:Q", title=_("iterations")),
                 alt.Tooltip("converged:N", title=_("converged")),
                 alt.Tooltip("near_best:N", title=_("in the best group"))])
    rule = alt.Chart(pd.DataFrame({"best": [best]})).mark_rule(strokeDash=[5, 4], color="black").encode(
        y=alt.Y("best:Q", title=y_title), tooltip=[alt.Tooltip("best:Q", title=_("best found"), format=".10g")])
    return titled_panel(alt.layer(dots, rule), _(m.title))


def convex_chart(runs: pd.DataFrame) -> alt.LayerChart:
    """Logistic regression: every restart's starting and final log-loss, one restart per column."""
    data = runs[runs["method"] == "logistic"]
    m = METHODS["logistic"]
    long = pd.concat([
        pd.DataFrame({"restart": data["restart"], "stage": _("start"), "log_loss": data["start_objective"],
                      "iterations": 0}),
        pd.DataFrame({"restart": data["restart"], "stage": _("end"), "log_loss": data["objective"],
                      "iterations": data["iterations"]})], ignore_index=True)
    stages = [_("start"), _("end")]
    color = alt.Color("stage:N", sort=stages, title=None,
                      scale=alt.Scale(domain=stages, range=[OKABE_ITO["grey"], OKABE_ITO["green"]]),
                      legend=alt.Legend(orient="bottom", symbolOpacity=1))
    base = alt.Chart(long).encode(
        x=alt.X("restart:Q", title=_("restart (its random_state)"),
                  axis=alt.Axis(tickMinStep=1, labelFlush=True)),
        y=alt.Y("log_loss:Q", title=_(m.axis), scale=alt.Scale(zero=True)),
        tooltip=[alt.Tooltip("restart:Q", title=_("restart")), alt.Tooltip("stage:N", title=_("stage")),
                 alt.Tooltip("log_loss:Q", title=_(m.noun), format=".10g"),
                 alt.Tooltip("iterations:Q", title=_("iterations"))])
    links = base.mark_rule(color="#bbbbbb").encode(detail="restart:Q")
    dots = base.mark_point(filled=True, size=70, opacity=0.9).encode(color=color)
    return titled_panel(alt.layer(links, dots), _(m.title))


def best_of_k_chart(best_of_k: pd.DataFrame, runs: pd.DataFrame, method: str) -> alt.LayerChart:
    """The expected best objective of k restarts (exact, drawn without replacement from the N run), per init;
    the dashed line is the best found."""
    m = METHODS[method]
    data = best_of_k[best_of_k["method"] == method]
    found = runs[runs["method"] == method]["objective"]
    best = found.min() if m.better == "lower" else found.max()
    y_title = [_("expected best of k"), _(m.axis)]
    y = alt.Y("expected_best:Q", title=y_title,
              scale=alt.Scale(domain=_domain(np.r_[data["expected_best"], best], 0.02 * abs(best) + 1e-9),
                              zero=False))
    lines = alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("k:Q", title=_("restarts kept (k): the best of k is used"),
                  axis=alt.Axis(tickMinStep=1, labelFlush=True)),
        y=y, color=init_color(m.inits),
        tooltip=[alt.Tooltip("init:N", title=_("init")), alt.Tooltip("k:Q", title=_("restarts")),
                 alt.Tooltip("expected_best:Q", title=_("expected best"), format=".10g"),
                 alt.Tooltip("chance_near_best:Q", title=_("chance of one in the best group"), format=".1%")])
    rule = alt.Chart(pd.DataFrame({"best": [best]})).mark_rule(strokeDash=[5, 4], color="black").encode(
        y=alt.Y("best:Q", title=y_title), tooltip=[alt.Tooltip("best:Q", title=_("best found"), format=".10g")])
    return titled_panel(alt.layer(lines, rule), _(m.title))


def centres_chart(points: pd.DataFrame, centres: pd.DataFrame, ellipses: pd.DataFrame, runs: pd.DataFrame,
                  method: str, init: str, which: str) -> alt.LayerChart:
    """The data (first two features) with the centres of one restart, and for EM its Gaussians' ellipses
    (2 standard deviations: the Mahalanobis radius holding 86% of a 2-D Gaussian)."""
    m = METHODS[method]
    c = centres[(centres["method"] == method) & (centres["init"] == init) & (centres["which"] == which)]
    restart = int(c["restart"].iloc[0])
    objective = runs[(runs["method"] == method) & (runs["init"] == init) & (runs["restart"] == restart)]
    objective = float(objective["objective"].iloc[0])
    title = (_("best restart ({restart}): {objective} {value}") if which == "best" else
             _("worst restart ({restart}): {objective} {value}")).format(
        restart=restart, objective=_(m.noun), value=number_text(objective, ".6g"))
    x = alt.X("x1:Q", title=_("feature 1 (standardized)"), scale=alt.Scale(zero=False))
    y = alt.Y("x2:Q", title=_("feature 2 (standardized)"), scale=alt.Scale(zero=False))
    layers = [alt.Chart(points).mark_circle(size=14, color="#9a9a9a", opacity=0.45).encode(
        x=x, y=y, tooltip=[alt.Tooltip("x1:Q", title=_("feature 1"), format=".4g"),
                           alt.Tooltip("x2:Q", title=_("feature 2"), format=".4g"),
                           alt.Tooltip("label:N", title=_("label"))])]
    e = ellipses[(ellipses["method"] == method) & (ellipses["init"] == init) & (ellipses["which"] == which)]
    if len(e):
        layers.append(alt.Chart(e).mark_line(color=INIT_COLOURS[init], strokeWidth=2).encode(
            x=x, y=y, detail="cluster:N", order="point:Q",
            tooltip=[alt.Tooltip("cluster:N", title=_("component"))]))
    layers.append(alt.Chart(c).mark_point(shape="cross", size=220, filled=True, color="black", opacity=1).encode(
        x=x, y=y,
        tooltip=[alt.Tooltip("cluster:N", title=_("cluster")), alt.Tooltip("x1:Q", title=_("feature 1"), format=".6g"),
                 alt.Tooltip("x2:Q", title=_("feature 2"), format=".6g"), alt.Tooltip("weight:Q", title=_("weight"), format=".4f")]))
    return titled_panel(alt.layer(*layers), title, HEIGHT + 40)


# ------------------------------------------------------------------ sentences
def _fmt(value: float, digits: int = 4) -> str:
    return number_text(value, f".{digits}g")


def short_exp(value: float) -> str:
    """A power of ten as people write it: 1e-7, not Python's 1e-07."""
    return f"{value:.0e}".replace("e-0", "e-").replace("e+0", "e")


def notices(results: RestartResults) -> list[str]:
    """Sentences read off the results, each stating only what the frames show."""
    runs = results.frames["restart_runs"]
    n = results.settings.restarts
    out = []
    for m in results.methods():
        g = runs[runs["method"] == m.name]
        best = g["objective"].min() if m.better == "lower" else g["objective"].max()
        if m.sizes_from:
            far = [(init, int((~g[g["init"] == init]["near_best"]).sum())) for init in m.inits]
            if m.relative:
                away = _("more than {pct}% above the best {objective} found ({best})").format(
                    pct=number_text(100 * m.near, "g"), objective=_(m.noun), best=_fmt(best))
            else:
                away = _("more than {tol} nats per sample below the best {objective} found ({best})").format(
                    tol=number_text(m.near, "g"), objective=_(m.noun), best=_fmt(best))
            first, rest = far[0], far[1:]
            sentence = _("{method}, init {init}: {far} of {n} restarts end {away}").format(
                method=_(m.title), init=first[0], far=first[1], n=n, away=away)
            others = clauses(_("init {init}: {far} of {n}").format(init=i, far=f, n=n) for i, f in rest)
            out.append(clauses([sentence, others] if others else [sentence]) + ".")
        else:
            start = g["start_objective"]
            stopped = int((~g["converged"]).sum())
            if not stopped:
                out.append(_("{method}: the {n} restarts start with {objective} between {lo} and {hi} and all end "
                             "at {end} (spread {spread}): the loss is convex, so every start reaches the same "
                             "minimum and a restart cannot help.").format(
                    method=_(m.title), objective=_(m.noun), lo=_fmt(start.min(), 3), hi=_fmt(start.max(), 3),
                    n=n, end=number_text(best, ".6f"), spread=number_text(np.ptp(g['objective']), ".1e")))
            else:  # not at the minimum yet: say how close the starts came to each other, and that they stopped
                out.append(_("{method}: the {n} restarts start with {objective} between {lo} and {hi}; {stopped} of "
                             "them stopped at the cap of {cap} iterations before converging, all ending within "
                             "{spread} of {end}. The loss is convex, so every start heads for the same minimum and "
                             "a restart cannot help.").format(
                    method=_(m.title), objective=_(m.noun), lo=_fmt(start.min(), 3), hi=_fmt(start.max(), 3),
                    n=n, stopped=stopped, cap=MAX_ITER[m.name], end=number_text(best, ".6f"),
                    spread=number_text(np.ptp(g['objective']), ".1e")))
    out += _em_start(results)
    return out


def _em_start(results: RestartResults) -> list[str]:
    """What EM's near-symmetric start from random responsibilities costs, read off the frames: the restarts that
    stop at one Gaussian's fit, and the iterations the others take against the other inits', and any fit that hit
    the cap."""
    its = em_iterations(results)
    if "random" not in its:
        return []
    n = results.settings.restarts
    runs = results.frames["restart_runs"]
    g = runs[(runs["method"] == "gmm") & (runs["init"] == "random")]
    count, _lo, _hi, ref = symmetric_em(results)
    out = [_("EM, init random: random responsibilities make every component a weighted average of all the data, so "
             "all components start nearly the same.")]
    if count:
        out.append(_("{count} of {n} restarts stop there, within {tol} nats per sample of a single Gaussian's fit "
                     "({ref}): near that symmetric point an iteration gains less than EM's tolerance of {em_tol}, "
                     "so it stops before it has left.").format(count=count, n=n, tol=f"{SYMMETRIC_TOL:g}",
                                                                ref=_fmt(ref), em_tol=short_exp(GMM_TOL)))
    left = g[(g["objective"] - ref).abs() > SYMMETRIC_TOL]
    if len(left):
        median = float(left["iterations"].median())
        others = clauses(_("{median} from init {init}").format(median=_fmt(v), init=i) for i, v in its.items()
                         if i != "random")
        costly = all(median > v for i, v in its.items() if i != "random")
        text = (_("Leaving it costs iterations: the {left} restarts that leave it take a median of {median} to "
                  "converge (until an iteration gains less than {tol} nats per sample), against {others}.")
                if costly else
                _("The {left} restarts that leave it take a median of {median} iterations to converge (until an "
                  "iteration gains less than {tol} nats per sample), against {others}."))
        out.append(text.format(left=len(left), median=_fmt(median), tol=short_exp(GMM_TOL), others=others))
    out = [" ".join(out)]
    capped = int((~runs[runs["method"] == "gmm"]["converged"]).sum())
    if capped:
        out.append(_("EM: {capped} fits stopped at the cap of {cap} iterations before converging.").format(
            capped=capped, cap=MAX_ITER["gmm"]))
    return out


def how_many(results: RestartResults) -> list[str]:
    """For each method with a best group: how many restarts give a 90% chance of reaching it, and the median
    iterations of one restart (the cost of each), per init, read off the frames."""
    runs = results.frames["restart_runs"]
    n = results.settings.restarts
    out = []
    for m in results.methods():
        if not m.sizes_from:
            continue
        g = runs[runs["method"] == m.name]
        need = []
        for init in m.inits:
            k = restarts_for(int(g[g["init"] == init]["near_best"].sum()), n)
            need.append(_("init {init}: {k}").format(init=init, k=k) if k else
                        _("init {init}: none of its {n} restarts got there").format(init=init, n=n))
        its = clauses(_("{init} {median}").format(init=i, median=_fmt(g[g["init"] == i]["iterations"].median()))
                        for i in m.inits)
        out.append(_("{method}: restarts needed for a 90% chance that one of them is in the best group, "
                     "drawn without replacement from these {n}: {need}.").format(
            method=_(m.title), n=n, need=clauses(need))
            + " " + _("{method}: median iterations per restart: {its}.").format(method=_(m.title), its=its))
    return out


def which_init_started_better(results: RestartResults) -> list[str]:
    """For each method with several inits, read off the best-of-k frame: which init's single restart ends best on
    average here (k = 1), and how many restarts each other init needs for its expected best to match that."""
    frame = results.frames["restart_best_of_k"]
    n = results.settings.restarts
    out = []
    for m in results.methods():
        if len(m.inits) < 2:
            continue
        curves = {i: frame[(frame["method"] == m.name) & (frame["init"] == i)].sort_values("k")["expected_best"]
                  .to_numpy() for i in m.inits}
        sign = 1.0 if m.better == "lower" else -1.0  # compare as a loss: lower is better
        lead = min(m.inits, key=lambda i: sign * curves[i][0])
        target = sign * curves[lead][0]
        catch = []
        for i in m.inits:
            if i == lead:
                continue
            reached = np.flatnonzero(sign * curves[i] <= target + 1e-12)
            catch.append(_("init {init} matches it with the best of {k}").format(init=i, k=int(reached[0]) + 1)
                         if reached.size else
                         _("init {init} does not match it with the best of all {n}").format(init=i, n=n))
        out.append(_("{method}: here init {lead} started better (one restart ends at {objective} {value} on "
                     "average); {catch}.").format(method=_(m.title), lead=lead, objective=_(m.noun),
                                                  value=_fmt(curves[lead][0]), catch=clauses(catch)))
    return out
