""""What to notice": two or three sentences per page, computed from the current results.

Pure functions: frames (and the view the page shows) in, sentences out. Every number in a sentence is read
from the frames here, so the sentences change with the configuration; the tests recompute each number from
the frames their own way. Scheme labels come from the link: the dashboard shows the sentences escaped.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.i18n import N_, _, clauses, ngettext
from core.formatting import number_text, percent_sign

MAX_CLAUSES = 4  # schemes named in one sentence; past it, the extremes only


# ------------------------------------------------------------------ numbers
def number(x: float) -> str:
    """A measured value: three significant digits, scientific notation far from 1."""
    if x is None or not math.isfinite(x):
        return _("not finite")
    if x == 0:
        return "0"
    if 1e-3 <= abs(x) < 1e5:
        return number_text(x, ".3g")
    return number_text(x, ".2e")


def factor(x: float) -> str:
    """A multiplicative factor, '×0.50'."""
    if x is None or not math.isfinite(x):
        return "—"
    if 0.01 <= x < 100:
        return "×" + number_text(x, ".2f")
    return "×" + number_text(x, ".1e")


def percent(x: float) -> str:
    return number_text(100 * x, ".0f" if x >= 0.01 or x == 0 else ".2g") + percent_sign()


def _seeds(n: int) -> str:
    return ngettext("{n} seed", "{n} seeds", n).format(n=n)


def _extremes(values: pd.Series) -> list:
    """Index labels to name: all if few, else the smallest, the largest and the one closest to 1."""
    if len(values) <= MAX_CLAUSES:
        return list(values.index)
    picks = [values.idxmin(), values.idxmax(), (np.log(values.clip(lower=1e-300))).abs().idxmin()]
    return list(dict.fromkeys(picks))


# ------------------------------------------------------------------ shared facts
def depth_factors(layer_stats: pd.DataFrame, prediction: pd.DataFrame, schemes, epoch: int,
                  n_hidden: int) -> pd.DataFrame:
    """Per scheme, the factor by which the second moment of pre-activations is multiplied per layer: the
    geometric mean of the layer-to-layer ratios of the seed mean (that is, (q_last / q_first)^(1/steps)),
    over the hidden layers (over layer 1 to the output layer when there is one hidden layer), measured at
    ``epoch`` and predicted (at epoch 0 only: the prediction holds at initialization). NaN where undefined
    (a zero or non-finite second moment, a model that diverged before ``epoch``)."""
    first, last = (1, n_hidden) if n_hidden >= 2 else (1, n_hidden + 1)
    s = layer_stats[(layer_stats["kind"] == "preactivation") & (layer_stats["epoch"] == epoch)]
    q = s.groupby(["scheme", "layer"])["second_moment"].mean()
    p = prediction.set_index(["scheme", "layer"])["second_moment"] if len(prediction) else pd.Series(dtype=float)
    rows = []
    for scheme in schemes:
        measured = _geometric_step(q, scheme, first, last)
        predicted = _geometric_step(p, scheme, first, last) if epoch == 0 else math.nan
        zero = (scheme, first) in q.index and q[(scheme, first)] == 0
        rows.append((scheme, measured, predicted, zero))
    return pd.DataFrame(rows, columns=["scheme", "measured", "predicted", "all_zero"])


def _geometric_step(q: pd.Series, scheme: str, first: int, last: int) -> float:
    if (scheme, first) not in q.index or (scheme, last) not in q.index or last <= first:
        return math.nan
    a, b = float(q[(scheme, first)]), float(q[(scheme, last)])
    if not (a > 0 and b > 0 and math.isfinite(a) and math.isfinite(b)):
        return math.nan
    return (b / a) ** (1.0 / (last - first))


def finished_models(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary's models that did not diverge. A diverged model's final values are its last finite ones,
    which say nothing about where its start led: the sentences that compare final values leave it out (the
    divergence sentence counts it)."""
    return summary[summary["diverged_epoch"].isna()] if "diverged_epoch" in summary else summary


def divergence_sentence(summary: pd.DataFrame, schemes) -> str | None:
    """'normal:std=1 diverged at epoch 3 for 2 of 3 seeds' for each scheme with a diverged model."""
    parts = []
    for scheme in schemes:
        s = summary[summary["scheme"] == scheme]
        bad = s["diverged_epoch"].dropna().astype(int)
        if bad.empty:
            continue
        lo, hi = int(bad.min()), int(bad.max())
        when = (_("at epoch {epoch}").format(epoch=lo) if lo == hi
                else _("between epochs {first} and {last}").format(first=lo, last=hi))
        parts.append(_("{scheme} diverged {when} for {bad} of {seeds}").format(
            scheme=scheme, when=when, bad=len(bad), seeds=_seeds(len(s))))
    return clauses(parts) + "." if parts else None


def diverged_by(summary: pd.DataFrame, schemes, epoch: int) -> str | None:
    """The divergence sentence for the models that diverged at or before ``epoch``, which a chart of that epoch
    no longer draws, and that it says so."""
    gone = summary[summary["diverged_epoch"].notna() & (summary["diverged_epoch"] <= epoch)]
    sentence = divergence_sentence(gone, schemes)
    return None if sentence is None else sentence + " " + _("The charts of this epoch leave those models out.")


def _collapsed(distinct: pd.DataFrame, column: str, schemes, n_hidden: int) -> list[tuple[str, int, bool]]:
    """Schemes whose every hidden layer has a single distinct unit in every seed at the last recorded epoch:
    (scheme, units of the widest hidden layer, and whether that holds at every recorded epoch too)."""
    hidden = distinct[distinct["layer"] <= n_hidden]
    out = []
    last = hidden["epoch"].max() if len(hidden) else None
    for scheme in schemes:
        d = hidden[hidden["scheme"] == scheme]
        at_last = d[d["epoch"] == last]
        if len(at_last) and (at_last[column] == 1).all():
            out.append((scheme, int(d["units"].max()), bool((d[column] == 1).all())))
    return out


def _unit_words(column: str) -> tuple[str, str]:
    if column.startswith("functional"):
        return _("functional unit"), _("functional units")
    return _("distinct unit"), _("distinct units")


def symmetry_sentence(distinct: pd.DataFrame, schemes, n_hidden: int) -> str | None:
    """'zeros: 1 functional unit out of 32 in every hidden layer, at every recorded epoch'."""
    column = "functional_distinct_units" if "functional_distinct_units" in distinct.columns else "distinct_units"
    parts = []
    for scheme, units, always in _collapsed(distinct, column, schemes, n_hidden):
        one, _many = _unit_words(column)
        when = _("at every recorded epoch") if always else _("at the last recorded epoch")
        parts.append(_("{scheme}: 1 {unit} out of {units} in every hidden layer, {when}").format(
            scheme=scheme, unit=one, units=units, when=when))
    return clauses(parts) + "." if parts else None


# ------------------------------------------------------------------ pages
def overview(frames: dict[str, pd.DataFrame], schemes, n_hidden: int, task: str) -> list[str]:
    summary = frames["summary"]
    out = []
    metric, words = ("final_test_loss", _("final test loss"))
    finished = finished_models(summary)
    mean = finished.groupby("scheme", sort=False)[metric].mean().reindex(list(schemes)).dropna()
    if len(mean) >= 2:
        best, worst = mean.idxmin(), mean.idxmax()
        seeds = int((finished["scheme"] == best).sum())  # the seeds behind the best mean
        out.append(_("{best} reached the lowest {metric}, {low} (mean of {seeds}); {worst} the highest, {high}.").format(
            best=best, metric=words, low=number(mean[best]), seeds=_seeds(seeds), worst=worst,
            high=number(mean[worst])))
    elif len(mean) == 1:
        s = finished[finished["scheme"] == mean.index[0]][metric].dropna()
        out.append(_("{scheme}: {metric} {value} (mean of {seeds}), from {low} to {high}.").format(
            scheme=mean.index[0], metric=words, value=number(mean.iloc[0]), seeds=_seeds(len(s)),
            low=number(s.min()), high=number(s.max())))
    if task == "classification":
        acc = finished.groupby("scheme", sort=False)["final_test_accuracy"].mean().reindex(list(schemes)).dropna()
        if len(acc) >= 2 and acc.max() > acc.min():
            out.append(_("Test accuracy ranges from {low} ({worst}) to {high} ({best}).").format(
                low=percent(acc.min()), worst=acc.idxmin(), high=percent(acc.max()), best=acc.idxmax()))
    extras = [e for e in (divergence_sentence(summary, schemes),
                          symmetry_sentence(frames["distinct_units"], schemes, n_hidden)) if e]
    return (out[:1] + extras + out[1:])[:3]


def activations(layer_stats: pd.DataFrame, prediction: pd.DataFrame, schemes, epoch: int, kind: str,
                n_hidden: int, stat: str = "second_moment", summary: pd.DataFrame | None = None) -> list[str]:
    """The table's factors (the pre-activations' second moment, said so), the most inactive layer, and what the
    chart shows: the selected statistic ``stat`` of the selected quantity ``kind`` from layer 1 to the last."""
    out = []
    f = depth_factors(layer_stats, prediction, schemes, epoch, n_hidden).set_index("scheme")
    span = _("per hidden layer") if n_hidden >= 2 else _("from the hidden to the output layer")
    named = _extremes(f["measured"].dropna()) if f["measured"].notna().any() else []
    parts = []
    for scheme in f.index:
        row = f.loc[scheme]
        if row["all_zero"]:
            parts.append(_("{scheme}: every pre-activation is 0").format(scheme=scheme))
        elif scheme in named:
            if math.isfinite(row["predicted"]):
                parts.append(_("{scheme}: second moment {measured} {span}, predicted {predicted}").format(
                    scheme=scheme, measured=factor(row["measured"]), span=span, predicted=factor(row["predicted"])))
            else:
                parts.append(_("{scheme}: second moment {measured} {span}").format(
                    scheme=scheme, measured=factor(row["measured"]), span=span))
    if parts:
        out.append(_("At epoch {epoch}, the pre-activations' second moment (the table beside the chart): "
                     "{clauses}.").format(epoch=epoch, clauses=clauses(parts)))
    gone = diverged_by(summary, schemes, epoch) if summary is not None else None
    if gone:
        out.append(gone)
    chart = _chart_sentence(layer_stats, schemes, epoch, kind, stat)
    if chart:
        out.append(chart)
    s = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == "activation")]
    dead = s.groupby(["scheme", "layer"])["dead_or_saturated"].mean().dropna()
    if len(dead) and dead.max() > 0:
        scheme, layer = dead.idxmax()
        out.append(_("The most dead or saturated: {scheme}, {share} of layer {layer} (mean over seeds).").format(
            scheme=scheme, share=percent(dead.max()), layer=layer))
    return out[:3]


def _chart_sentence(layer_stats: pd.DataFrame, schemes, epoch: int, kind: str, stat: str) -> str | None:
    """What the signal chart shows (its quantity and statistic, mean over seeds), from layer 1 to the last: the
    smallest and the largest factor for a second moment or a std; the lowest and the highest last-layer value
    for a mean."""
    s = layer_stats[(layer_stats["epoch"] == epoch) & (layer_stats["kind"] == kind)]
    m = s.groupby(["scheme", "layer"])[stat].mean()
    ends = []
    for scheme in schemes:
        if scheme not in m.index.get_level_values(0):
            continue
        q = m[scheme]
        first, last = q.iloc[0], q.iloc[-1]
        if math.isfinite(first) and math.isfinite(last) and (stat == "mean" or (first > 0 and last > 0)):
            ends.append((scheme, last if stat == "mean" else last / first, q.index[-1]))
    if not ends:
        return None
    lo, hi = min(ends, key=lambda e: e[1]), max(ends, key=lambda e: e[1])
    if stat == "mean":
        if lo[0] == hi[0]:
            return None
        return _("At layer {last}, the mean of the {kind} runs from {low} for {low_scheme} to {high} for "
                 "{high_scheme}.").format(last=lo[2], kind=_kind_words(kind), low=number(lo[1]), low_scheme=lo[0],
                                          high=number(hi[1]), high_scheme=hi[0])
    if lo[0] == hi[0]:
        return None
    words = {"second_moment": _("second moment"), "std": _("standard deviation")}[stat]
    return _("From layer 1 to layer {last}, the {stat} of the {kind} is multiplied by {low} for {low_scheme} and by "
             "{high} for {high_scheme}.").format(last=lo[2], stat=words, kind=_kind_words(kind), low=factor(lo[1]),
                                                  low_scheme=lo[0], high=factor(hi[1]), high_scheme=hi[0])


def _kind_words(kind: str) -> str:
    return {"preactivation": _("pre-activations"), "activation": _("activations"),
            "gradient": _("back-propagated gradients")}[kind]


def gradient_frame(gradient_norms: pd.DataFrame, layer_stats: pd.DataFrame) -> pd.DataFrame:
    """``gradient_norms`` with a ``dz_second_moment`` column: layer_stats' second moment of the back-propagated
    gradient dL/dz of the layer's pre-activations (the same layer numbering: W_l makes z_l)."""
    dz = layer_stats[layer_stats["kind"] == "gradient"][["scheme", "seed", "epoch", "layer", "second_moment"]]
    return gradient_norms.merge(dz.rename(columns={"second_moment": "dz_second_moment"}),
                                on=["scheme", "seed", "epoch", "layer"], how="left")


# What "layer 1's value is layer L's times r" means for each measure: only the per-element measures compare
# layers of different sizes; a norm also counts how many weights the layer has. L is the last hidden layer:
# the output layer narrows to the classes, which changes the backward second moment by itself (He et al.
# 2015's backward condition is on fan-out).
_RATIO_SENTENCES = {
    "dz_second_moment": N_("At epoch {epoch}, the back-propagated gradient's second moment at layer 1 is layer "
                           "{last}'s multiplied by: {clauses}."),
    "weight_grad_rms": N_("At epoch {epoch}, layer 1's RMS of ∂L/∂W per weight is layer {last}'s multiplied by: "
                          "{clauses}."),
    "bias_grad_rms": N_("At epoch {epoch}, layer 1's RMS of ∂L/∂b per bias is layer {last}'s multiplied by: "
                        "{clauses}."),
    "weight_grad_norm": N_("At epoch {epoch}, layer 1's weight-gradient norm is layer {last}'s multiplied by: "
                           "{clauses}. A norm also grows with the number of weights in the layer: compare layers by "
                           "the RMS per weight."),
    "bias_grad_norm": N_("At epoch {epoch}, layer 1's bias-gradient norm is layer {last}'s multiplied by: "
                         "{clauses}. A norm also grows with the number of biases in the layer: compare layers by "
                         "the RMS per bias."),
}


def gradients(grad: pd.DataFrame, schemes, epoch: int, column: str, n_hidden: int,
              optimizer: str = "sgd", summary: pd.DataFrame | None = None) -> list[str]:
    """Sentences for the Gradients page: layers that get no gradient, and layer 1 against the last hidden layer in
    ``column`` (a column of ``gradient_frame``). The reading of an extreme ratio depends on the measure: for
    dL/dz it is the gradient signal vanishing or growing on its way back; for the per-weight RMS under plain
    SGD it is the ratio of step sizes (lr x gradient; momentum and Adam change that)."""
    out = []
    g = grad[grad["epoch"] == epoch].groupby(["scheme", "layer"])[column].mean()
    last_layer = n_hidden if n_hidden >= 2 else n_hidden + 1
    ratios, frozen = {}, []
    for scheme in schemes:
        if scheme not in g.index.get_level_values(0):
            continue
        q = g[scheme]
        hidden = q[q.index <= n_hidden]
        if len(hidden) and (hidden == 0).all():
            frozen.append(scheme)
        first, last = q.get(1, math.nan), q.get(last_layer, math.nan)
        if first > 0 and last > 0 and math.isfinite(first) and math.isfinite(last):
            ratios[scheme] = first / last
    if ratios:
        r = pd.Series(ratios)
        parts = [_("{scheme} {factor}").format(scheme=s, factor=factor(r[s])) for s in _extremes(r)]
        out.append(_(_RATIO_SENTENCES[column]).format(epoch=epoch, clauses=clauses(parts), last=last_layer))
        if r.min() < 0.01 or r.max() > 100:
            worst = r.idxmin() if abs(math.log10(r.min())) >= abs(math.log10(r.max())) else r.idxmax()
            if column == "dz_second_moment":
                out.append((_("{scheme}: the gradient signal vanishes on its way back to the input.") if r[worst] < 1
                            else _("{scheme}: the gradient signal grows on its way back to the input.")).format(
                    scheme=worst))
            elif column == "weight_grad_rms" and optimizer == "sgd":
                out.append(_("{scheme}: with plain SGD, a weight of layer 1 takes steps {factor} the size of a "
                             "weight of layer {last}.").format(scheme=worst, factor=factor(r[worst]), last=last_layer))
    if frozen:
        out.insert(0, _("{schemes}: {measure} is exactly 0 in every hidden layer at epoch {epoch}: the loss gives "
                        "those layers no update.").format(schemes=", ".join(frozen), measure=_measure_words(column),
                                                          epoch=epoch))
    return _with_divergence(out, summary, schemes, epoch)


def _with_divergence(out: list[str], summary: pd.DataFrame | None, schemes, epoch: int) -> list[str]:
    """The page's first sentence, then the models its charts of ``epoch`` leave out because they diverged, then
    the rest; three at most."""
    gone = diverged_by(summary, schemes, epoch) if summary is not None else None
    return (out[:1] + [gone] + out[1:] if gone else out)[:3]


def _measure_words(column: str) -> str:
    return {"weight_grad_norm": _("the weight gradient"), "bias_grad_norm": _("the bias gradient"),
            "weight_grad_rms": _("the weight gradient"), "bias_grad_rms": _("the bias gradient"),
            "dz_second_moment": _("the back-propagated gradient")}.get(column, column)


def weights(unit_distances: pd.DataFrame, init_distances: pd.DataFrame, schemes, epoch: int, seed: int,
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
    return _with_divergence(out, summary, schemes, epoch)


def symmetry(distinct: pd.DataFrame, summary: pd.DataFrame, schemes, n_hidden: int, metric: str,
             split: str) -> list[str]:
    out = []
    collapsed = symmetry_sentence(distinct, schemes, n_hidden)
    if collapsed:
        out.append(collapsed)
    column = "functional_distinct_units" if "functional_distinct_units" in distinct.columns else "distinct_units"
    hidden = distinct[(distinct["layer"] <= n_hidden) & (distinct["epoch"] == distinct["epoch"].max())]
    full = [s for s in schemes if len(hidden[hidden["scheme"] == s])
            and (hidden[hidden["scheme"] == s][column] == hidden[hidden["scheme"] == s]["units"]).all()]
    if full:
        out.append(_("{schemes}: every unit of every hidden layer is distinct at epoch {epoch}, in every seed.").format(
            schemes=", ".join(full), epoch=int(hidden["epoch"].max())))
    col = f"final_{split}_{metric}"
    words = {("loss", "test"): _("final test loss"), ("loss", "train"): _("final training loss"),
             ("accuracy", "test"): _("final test accuracy"), ("accuracy", "train"): _("final training accuracy")}
    diverged = divergence_sentence(summary, schemes)
    if diverged:
        out.append(diverged)
    finished = finished_models(summary)
    v = finished[["scheme", col]].dropna()
    span = v.groupby("scheme", sort=False)[col].agg(["min", "max", "count"]).reindex(list(schemes)).dropna()
    multi = span[span["count"] >= 2]
    if len(multi):
        width = multi["max"] - multi["min"]
        widest = width.idxmax()
        same = [s for s in multi.index if width[s] == 0]
        sentence = _("{scheme}: {metric} from {low} to {high} over {seeds}").format(
            scheme=widest, metric=words[(metric, split)], low=number(multi.loc[widest, "min"]),
            high=number(multi.loc[widest, "max"]), seeds=_seeds(int(multi.loc[widest, "count"])))
        if same:
            sentence += _("; the same value for every seed: {schemes}").format(schemes=", ".join(same))
        out.append(sentence + ".")
    return out[:3]


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


def boundaries(bnd: pd.DataFrame, summary: pd.DataFrame, schemes, epoch: int, seed: int,
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
            scheme=best, value=percent(acc[best]), seeds=_seeds(seeds)))
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


def export(frames: dict[str, pd.DataFrame], n_schemes: int, seeds: int) -> list[str]:
    rows = {name: len(df) for name, df in frames.items()}
    largest = max(rows, key=rows.get)
    epochs = frames["layer_stats"]["epoch"].nunique() if "layer_stats" in frames else 0
    return [_("This run: {models} models ({schemes} × {seeds}), {epochs} recorded epochs.").format(
                models=n_schemes * seeds, schemes=ngettext("{n} scheme", "{n} schemes", n_schemes).format(n=n_schemes),
                seeds=_seeds(seeds), epochs=epochs),
            _("{frames} frames, {rows} rows in all; the largest is {name} ({largest} rows).").format(
                frames=len(rows), rows=number_text(sum(rows.values()), ","), name=largest,
                largest=number_text(rows[largest], ","))]


def lessons(config, lessons_list) -> list[str]:
    """Which lesson the current configuration is, or the closest one and the settings that differ."""
    from core.config import FIELDS

    def differ(c):
        return [k for k in FIELDS if getattr(c, k) != getattr(config, k)]

    ranked = sorted(lessons_list, key=lambda l: len(differ(l.config)))
    if not ranked:
        return []
    best = ranked[0]
    keys = differ(best.config)
    if not keys:
        return [_("Your current configuration is the lesson “{title}”.").format(title=_(best.title))]
    return [ngettext("Your configuration is closest to the lesson “{title}”: {n} setting differs ({keys}).",
                     "Your configuration is closest to the lesson “{title}”: {n} settings differ ({keys}).",
                     len(keys)).format(title=_(best.title), n=len(keys), keys=", ".join(keys))]
