"""The story page: the question answered in five steps, each a picture of real networks (trained, or drawn and
measured at initialization) and sentences computed from their numbers.

*Why should weights start random, and which random?*

1. Same start, same units: zero or constant weights (with equal biases) leave the units of a layer identical.
2. Different starts, different ends: some random starts get stuck where others fit; so do k-means and EM.
3. Too small vanishes, too large explodes: the signal's second moment over 24 ReLU layers.
4. Which random: the scale that keeps it level depends on the activation (He for ReLU; for tanh, gain 5/3).
5. Scale x depth: where the signal shrinks and where it grows, at initialization, over depth up to 50.

Each step names the configuration it draws (``STEPS``), which the app computes (``compute``) once per server;
every sentence is computed from the step's own results here (tests/test_story.py checks them on several data
seeds), and each step links to the page that shows it in full, with the same configuration and view. Nothing
here imports Streamlit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from core.views import phrases
from core.config import ExperimentConfig
from core.experiment import Results, at_initialization, run
from core.i18n import N_, _
from core.restarts import split_groups, two_groups
from core.sweeps.sweep import SweepConfig

DEPTH = 24  # "a deep network": He et al. (2015) train 22 and 30 layers


@dataclass(frozen=True)
class Step:
    slug: str
    title: str  # marked for translation
    page: str  # the page that shows it in full
    config: ExperimentConfig
    view: dict = field(default_factory=dict)  # that page's view keys

    @property
    def at_initialization(self) -> bool:
        """It shows epoch 0 only (the epoch its link opens), so its models are drawn and probed, not trained.
        Its config's epochs are for the page it links to."""
        return self.view.get("epoch") == 0


def compute(step: Step, enforce_budget: bool = True) -> Results:
    """The step's networks: drawn and probed once for a step that shows epoch 0 (``at_initialization``: the same
    numbers as a run's epoch 0), trained otherwise."""
    if step.at_initialization:
        return at_initialization(step.config)
    return run(step.config, enforce_budget=enforce_budget)


def _deep(activation: str, schemes: tuple[str, ...]) -> ExperimentConfig:
    # epoch 0 is what these steps show; ten epochs let the linked page show what training then does
    return ExperimentConfig(schemes=schemes, activation=activation, depth=DEPTH, width=(64,), seeds=3,
                            epochs=10, record_epochs=2, lr=0.01)


STEPS: dict[str, Step] = {s.slug: s for s in (
    Step("symmetry", N_("Same start, same units"), "symmetry",
         ExperimentConfig(schemes=("zeros", "constant:value=0.5", "he_normal"), seeds=2, activation="tanh", depth=3,
                          optimizer="momentum", lr=0.05, epochs=60),
         {"epoch": 60, "count": "functional"}),
    Step("restarts", N_("Different starts, different ends"), "symmetry",
         ExperimentConfig(dataset="moons", n_samples=500, noise=0.1, schemes=("he_normal", "xavier_normal"), seeds=12,
                          depth=1, width=(3,), activation="relu", optimizer="adam", lr=0.01, epochs=200),
         {"split": "train", "metric": "loss"}),
    Step("vanish", N_("Too small vanishes, too large explodes"), "activations",
         _deep("relu", ("normal:std=0.05", "he_normal", "normal:std=0.5")),
         {"epoch": 0, "quantity": "preactivation", "stat": "second_moment"}),
    Step("which-relu", N_("Which random"), "activations", _deep("relu", ("xavier_normal", "he_normal")),
         {"epoch": 0, "quantity": "preactivation", "stat": "second_moment"}),
    Step("which-tanh", N_("Which random"), "activations",
         _deep("tanh", ("xavier_normal", "lecun_normal", "he_normal")),
         {"epoch": 0, "quantity": "preactivation", "stat": "second_moment"}),
)}
# The map of step 5: He's scheme with its gain sigma_w swept across ReLU's boundary (sigma_w = sqrt 2), to depth 50
MAP_QUERY = ("sweep_x=sigma_w&sweep_x_values=0.5,0.75,1,1.25,1.5,1.75,2,2.5,3"
             "&sweep_y=depth&sweep_y_values=2,4,8,16,24,32,40,50&sweep_metric=signal_growth")


def story_map(data_seed: int = 0) -> SweepConfig:
    base = ExperimentConfig(schemes=("he_normal",), activation="relu", width=(64,), seeds=3, epochs=10,
                            data_seed=data_seed)
    return SweepConfig.from_query(base.to_query() + "&" + MAP_QUERY)


def with_data_seed(step: Step, data_seed: int) -> Step:
    """The same step on another draw of the data (the tests hold every sentence on several)."""
    from dataclasses import replace
    return replace(step, config=replace(step.config, data_seed=data_seed))


# ------------------------------------------------------------------------------------------------ the sentences
def symmetry_facts(distinct: pd.DataFrame, config: ExperimentConfig) -> dict[str, tuple[int, int]]:
    """Per scheme, the fewest and the most functionally distinct units of any hidden layer and seed at the last
    recorded epoch."""
    last = distinct[(distinct["epoch"] == distinct["epoch"].max()) & (distinct["layer"] <= config.depth)]
    g = last.groupby("scheme")["functional_distinct_units"]
    return {s: (int(g.min()[s]), int(g.max()[s])) for s in config.schemes}


def symmetry_sentences(distinct: pd.DataFrame, config: ExperimentConfig) -> list[str]:
    facts = symmetry_facts(distinct, config)
    width = config.widths[0]
    same = [s for s in config.schemes if facts[s][1] == 1]
    random = [s for s in config.schemes if s not in same]
    out = []
    if same:
        out.append(_("After {epochs} epochs, {schemes}: every hidden layer computes one function, {width} copies "
                     "of one unit. Equal weights and equal biases give every unit of a layer the same inputs, the "
                     "same output and the same update, so training never tells them apart.").format(
            epochs=config.epochs, schemes=", ".join(same), width=width))
    for s in random:
        lo, hi = facts[s]
        if lo == width:
            out.append(_("{scheme}, drawn at random: all {width} units of every hidden layer compute different "
                         "functions.").format(scheme=s, width=width))
        else:
            out.append(_("{scheme}, drawn at random: {lo} to {hi} distinct units per hidden layer of {width}.").format(
                scheme=s, lo=lo, hi=hi, width=width))
    return out


def restart_facts(summary: pd.DataFrame, schemes) -> dict[str, dict]:
    """Per scheme: its seeds' final training losses cut at their largest gap (core.restarts.split_groups) into
    the fitted and the stuck group, whether they are two groups (core.restarts.two_groups), and the groups'
    sizes and ranges."""
    out = {}
    for s in schemes:
        loss = summary[summary["scheme"] == s]["final_train_loss"].to_numpy(float)
        low, high, _gap = split_groups(loss)
        out[s] = {"seeds": len(loss), "stuck": len(high), "fit": len(low), "groups": two_groups(loss),
                  "spread": float(np.max(loss) / np.min(loss)) if len(loss) and np.min(loss) > 0 else math.nan,
                  "stuck_min": float(np.min(high)) if len(high) else math.nan,
                  "fit_max": float(np.max(low)) if len(low) else math.nan}
    return out


def restart_sentences(summary: pd.DataFrame, schemes, kmeans: pd.DataFrame | None = None) -> list[str]:
    facts = restart_facts(summary, schemes)
    out = []
    for s in schemes:
        f = facts[s]
        if f["groups"]:
            out.append(_("{scheme}: {stuck} of {n} starts stop at a training loss of {stuck_min} or more, while "
                         "the other {fit} reach {fit_max} or less: same data, same batches, only the random start "
                         "differs.").format(scheme=s, stuck=f["stuck"], n=f["seeds"],
                                            stuck_min=phrases.number(f["stuck_min"]), fit=f["fit"],
                                            fit_max=phrases.number(f["fit_max"])))
        else:
            out.append(_("{scheme}: the {n} starts do not split into a stuck and a fitted group here (their final "
                         "training losses span a factor {spread}).").format(
                scheme=s, n=f["seeds"], spread=phrases.number(f["spread"])))
    if kmeans is not None and len(kmeans):
        out.append(kmeans_sentence(kmeans))
    return out


def kmeans_sentence(runs: pd.DataFrame) -> str:
    """How many restarts of k-means and of EM from random starts reach the best objective any restart of the
    method found (core.restarts: ``near_best``)."""
    def hits(method: str) -> tuple[int, int]:
        g = runs[(runs["method"] == method) & (runs["init"] == "random")]
        return int(g["near_best"].sum()), len(g)

    (k_hits, k_n), (e_hits, e_n) = hits("kmeans"), hits("gmm")
    return _("Not only networks: on the same points, {k_hits} of {k_n} k-means restarts from random centres reach "
             "the best clustering found, and {e_hits} of {e_n} EM restarts from random responsibilities the best "
             "likelihood.").format(k_hits=k_hits, k_n=k_n, e_hits=e_hits, e_n=e_n)


def depth_factor_facts(layer_stats: pd.DataFrame, prediction: pd.DataFrame, config: ExperimentConfig) -> pd.DataFrame:
    """Per scheme at epoch 0: the factor per hidden layer (measured and predicted, core.views.notice.depth_factors)
    and the last hidden layer's second moment over the first's (seed means)."""
    factors = phrases.depth_factors(layer_stats, prediction, config.schemes, 0, config.depth)
    s = layer_stats[(layer_stats["kind"] == "preactivation") & (layer_stats["epoch"] == 0)]
    q = s.groupby(["scheme", "layer"])["second_moment"].mean()
    factors["overall"] = [q[(sc, config.depth)] / q[(sc, 1)] for sc in factors["scheme"]]
    return factors


def vanish_sentences(factors: pd.DataFrame, config: ExperimentConfig) -> list[str]:
    out = []
    for r in factors.itertuples():
        out.append(_("{scheme}: {measured} per layer (theory {predicted}), so × {overall} from the first "
                     "hidden layer to the last of {depth}.").format(
            scheme=r.scheme, measured=phrases.factor(r.measured), predicted=phrases.factor(r.predicted),
            overall=phrases.number(r.overall), depth=config.depth))
    return out


def which_sentences(relu: pd.DataFrame, tanh: pd.DataFrame) -> list[str]:
    """Step 4 from its two runs' factors (``depth_factor_facts``): ReLU with Xavier against He, tanh with Xavier
    and LeCun against PyTorch's tanh gain 5/3."""
    r = relu.set_index("scheme")
    t = tanh.set_index("scheme")
    return [
        _("ReLU sets negative inputs to 0, half of them for a symmetric signal: He's Var(W) = 2/n makes up for it ({he} per layer "
          "here), Xavier's 1/n does not ({xavier} per layer, theory {xavier_theory}).").format(
            he=phrases.factor(r.loc["he_normal", "measured"]), xavier=phrases.factor(r.loc["xavier_normal", "measured"]),
            xavier_theory=phrases.factor(r.loc["xavier_normal", "predicted"])),
        _("tanh passes small signals unchanged and squeezes large ones: with Var(W) = 1/n (xavier_normal, "
          "lecun_normal) the second moment still drains layer by layer ({lecun} per layer for lecun_normal); PyTorch's "
          "gain 5/3 for tanh (he_normal here) holds it near a fixed point ({he} per layer).").format(
            lecun=phrases.factor(t.loc["lecun_normal", "measured"]), he=phrases.factor(t.loc["he_normal", "measured"])),
    ]
