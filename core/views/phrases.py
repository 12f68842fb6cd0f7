"""What the pages' "What to notice" sentences share: numbers and factors in words, the seeds and the extremes
named, the depth factor of the signal, who diverged and when, the collapse of units to one.

Each page's own sentences live in its module (core/views/<page>.py), beside its charts. Pure functions: frames
in, words out. Every number in a sentence is read from the frames, so the sentences change with the
configuration; the tests recompute each number from the frames their own way. Scheme labels come from the
link: the dashboard shows the sentences escaped.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from core.i18n import _, clauses, ngettext
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


def seeds_words(n: int) -> str:
    return ngettext("{n} seed", "{n} seeds", n).format(n=n)


def extremes(values: pd.Series) -> list:
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
            scheme=scheme, when=when, bad=len(bad), seeds=seeds_words(len(s))))
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


def with_divergence(out: list[str], summary: pd.DataFrame | None, schemes, epoch: int) -> list[str]:
    """The page's first sentence, then the models its charts of ``epoch`` leave out because they diverged, then
    the rest; three at most."""
    gone = diverged_by(summary, schemes, epoch) if summary is not None else None
    return (out[:1] + [gone] + out[1:] if gone else out)[:3]


def measure_words(column: str) -> str:
    return {"weight_grad_norm": _("the weight gradient"), "bias_grad_norm": _("the bias gradient"),
            "weight_grad_rms": _("the weight gradient"), "bias_grad_rms": _("the bias gradient"),
            "dz_second_moment": _("the back-propagated gradient")}.get(column, column)
