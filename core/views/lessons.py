"""One-click lessons: each a configuration (a link) that reproduces a known fact.

``check`` is the fact in code: the tests run every lesson on data seeds 0 to 7
and assert it, so a lesson whose link stops showing what its text promises
fails the build. Every number a text states is one its check measures.
``view`` holds the view keys (core.config.VIEWS) that open the page on the
chart that shows the fact. Titles and texts are marked for translation: show
them with ``_()``.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable
from urllib.parse import urlencode

import numpy as np
import pandas as pd

from core.config import VIEWS, ExperimentConfig
from core.i18n import N_
from core.restarts import split_groups, two_groups


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str  # marked for translation
    text: str  # two or three sentences, in our own words; marked for translation
    page: str  # url path of the page that shows it best
    config: ExperimentConfig
    check: Callable[[dict[str, pd.DataFrame]], bool]
    view: dict = field(default_factory=dict)  # view keys (core.config.VIEWS) -> value

    def __post_init__(self):
        for key, value in self.view.items():
            if key not in VIEWS:
                raise ValueError(f"lesson {self.slug!r}: view key {key!r} unknown; allowed: {', '.join(VIEWS)}")
            VIEWS[key].parse(_view_text(value))

    @property
    def query(self) -> str:
        """The experiment's query string (no view keys)."""
        return self.config.to_query()

    @property
    def link_query(self) -> str:
        """The experiment's query string followed by the lesson's view keys."""
        view = urlencode([(key, _view_text(self.view[key])) for key in VIEWS if key in self.view])
        return self.query + ("&" + view if view else "")

    def url(self, default_page: str | None = None) -> str:
        """Path and query of the lesson's link, '/activations?v=2&...&epoch=0'. The app serves its default
        page only at the root: pass its path as ``default_page`` to link it as '/?...'."""
        page = "" if self.page == default_page else self.page
        return f"/{page}?{self.link_query}"


def _view_text(value) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _hidden(frame: pd.DataFrame, n_hidden: int) -> pd.DataFrame:
    return frame[frame["layer"] <= n_hidden]


def unit_counts(f) -> tuple[pd.DataFrame, str]:
    """The distinct_units frame and the column lessons read: the functional count (distinct activation columns
    on the probe batch) where the frame has it, else the count by weights."""
    d = f["distinct_units"]
    return d, "functional_distinct_units" if "functional_distinct_units" in d.columns else "distinct_units"


def at_epoch0(f, kind: str) -> pd.DataFrame:
    s = f["layer_stats"]
    return s[(s["epoch"] == 0) & (s["kind"] == kind)]


def layer_means(f, kind: str, stat: str) -> pd.Series:
    """Epoch-0 ``stat`` of ``kind`` per (scheme, layer), mean over seeds."""
    return at_epoch0(f, kind).groupby(["scheme", "layer"])[stat].mean()


def per_layer_factor(values: np.ndarray, first: int, last: int) -> float:
    """Geometric mean of values[l + 1] / values[l] from layer ``first`` to ``last`` (1-based)."""
    return float((values[last - 1] / values[first - 1]) ** (1.0 / (last - first)))


def final_losses(f, scheme: str) -> np.ndarray:
    s = f["summary"]
    return s[s["scheme"] == scheme]["final_train_loss"].to_numpy()


# ---------------------------------------------------------------- the facts

def _symmetry(f) -> bool:
    d, col = unit_counts(f)
    d = _hidden(d, 3)
    last = d[d["epoch"] == d["epoch"].max()]
    sym = last[last["scheme"].isin(["zeros", "constant:value=0.5"])][col]
    rnd = last[last["scheme"] == "he_normal"]
    g = f["gradient_norms"]
    zg = g[g["scheme"] == "zeros"]
    dist = f["init_distances"]
    labels = f["data_points"]
    counts = labels[labels["split"] == "train"]["label"].value_counts()
    return bool((sym == 1).all() and (rnd[col] == rnd["units"]).all()
                and (zg["weight_grad_norm"] == 0).all() and (_hidden(zg, 3)["bias_grad_norm"] == 0).all()
                and (_hidden(dist[dist["scheme"] == "zeros"], 3)["distance"] == 0).all()
                and len(counts) == 2 and counts.nunique() == 1
                and (abs(final_losses(f, "zeros") - math.log(2)) < 1e-3).all() and round(math.log(2), 3) == 0.693)


VANISH_WIDTH = 64


def _vanish_explode(f) -> bool:
    q = layer_means(f, "preactivation", "second_moment")
    small, large, he = q["normal:std=0.01"].to_numpy(), q["normal:std=1"].to_numpy(), q["he_normal"].to_numpy()
    diverged = f["summary"].set_index("scheme")["diverged_epoch"].notna().groupby(level=0).all()
    expected = lambda std: VANISH_WIDTH * std ** 2 / 2  # noqa: E731  (width x std^2 / 2)
    near = lambda measured, std: abs(measured / expected(std) - 1) < 0.2  # noqa: E731
    return bool(expected(0.01) == 0.0032 and expected(1.0) == 32
                and near(per_layer_factor(small, 2, 10), 0.01) and small[9] < 1e-20 * small[0]
                and near(per_layer_factor(large, 2, 10), 1.0) and diverged["normal:std=1"]
                and near(per_layer_factor(he, 2, 10), math.sqrt(2 / VANISH_WIDTH)) and not diverged["he_normal"])


def best_losses(f, scheme: str) -> np.ndarray:
    """Per seed, the lowest train loss reached at any recorded epoch."""
    c = f["curves"]
    c = c[(c["scheme"] == scheme) & (c["split"] == "train")]
    return c.groupby("seed")["loss"].min().to_numpy()


def _deep_relu(f) -> bool:
    q = layer_means(f, "preactivation", "second_moment")
    # what holds with margin on every data seed: Xavier halves and ends at or near ln 2, every He run trains
    # (its best loss; a run may spike at its last epoch); the spread of single draws is checked over 20 draws
    # in tests/test_claims.py, as these four seeds are the same four draws on every data seed
    return bool(abs(per_layer_factor(q["xavier_normal"].to_numpy(), 2, 30) - 0.5) < 0.1
                and (final_losses(f, "xavier_normal") > 0.6).all() and (best_losses(f, "he_normal") < 0.2).all())


def _tanh_standard(f) -> bool:
    q = layer_means(f, "preactivation", "second_moment")
    std = layer_means(f, "activation", "std")
    per_layer = lambda series: per_layer_factor(series.to_numpy()[:8], 1, 8)  # noqa: E731  (hidden layers)
    return bool(0.25 < per_layer(q["glorot_standard"]) <= 1 / 3
                and abs(per_layer(std["glorot_standard"]) - 1 / math.sqrt(3)) < 0.04
                and round(1 / math.sqrt(3), 2) == 0.58
                and 0.96 < per_layer(std["xavier_normal"]) < 0.98)


def _selu(f) -> bool:
    s = at_epoch0(f, "activation")
    lecun = s[(s["scheme"] == "lecun_normal") & s["layer"].between(10, 20)]
    wild = s[(s["scheme"] == "normal:std=1") & (s["layer"] == 20)]
    return bool((lecun["mean"].abs() < 0.2).all() and ((lecun["std"] - 1).abs() < 0.2).all()
                and (wild["std"] > 1e3).all())


RESTARTS_STUCK = {"he_normal": (4, 5), "xavier_normal": (6, 9)}  # stuck runs of 12, fewest and most (seeds 0-7)


def stuck_runs(loss: np.ndarray) -> np.ndarray:
    """Which final losses fall in the upper of the two groups split at the largest gap."""
    low, _high, _gap = split_groups(loss)
    return loss > low.max()


def _restarts(f) -> bool:
    s = f["summary"]
    ok = True
    for scheme, g in s.groupby("scheme"):
        loss, acc = g["final_train_loss"].to_numpy(), g["final_train_accuracy"].to_numpy()
        stuck = stuck_runs(loss)
        lo, hi = RESTARTS_STUCK[scheme]
        # a stuck and a fitted group, far apart for their spread; the text's counts, losses and accuracies
        ok &= bool(two_groups(loss) and lo <= stuck.sum() <= hi and ((loss[stuck] > 0.15) & (loss[stuck] < 0.3)).all()
                   and ((acc[stuck] > 0.8) & (acc[stuck] < 0.95)).all() and (loss[~stuck] < 0.05).all())
    return ok


LESSONS: list[Lesson] = [
    Lesson("symmetry", N_("Zero or constant weights: the units of a layer stay one unit"),
           N_("With zero weights and tanh, f(0) = 0: every hidden unit outputs 0, so every weight gets exactly zero "
              "gradient and stays 0, and the network only learns the class prior (loss ln 2 ≈ 0.693 on these two "
              "balanced classes). With constant weights the units of a layer compute the same thing and get the same "
              "update, so each layer acts as one unit. Units must start different: random draws are the simple way, "
              "not the only one."),
           "symmetry",
           ExperimentConfig(schemes=("zeros", "constant:value=0.5", "he_normal"), seeds=2, activation="tanh",
                            depth=3, optimizer="momentum", lr=0.05, epochs=60), _symmetry, {"epoch": 60, "seed": 0}),
    Lesson("vanish-explode", N_("Too small vanishes, too large explodes"),
           N_("A fixed std s multiplies the second moment of the signal by width × s²/2 at every ReLU layer, in "
              "expectation: with 64 units, s = 0.01 gives 0.0032 per layer (after ten layers, less than 1e-20 of "
              "it is left) and s = 1 gives 32 per layer, until training diverges. He's s = √(2/n) makes the "
              "factor 1."),
           "activations",
           ExperimentConfig(schemes=("normal:std=0.01", "he_normal", "normal:std=1"), seeds=2, activation="relu",
                            depth=10, width=(VANISH_WIDTH,), lr=0.05, epochs=30, record_epochs=6), _vanish_explode,
           {"epoch": 0, "quantity": "preactivation", "stat": "second_moment", "log": True}),
    Lesson("deep-relu", N_("A 30-layer ReLU net trains from He and stalls from Xavier"),
           N_("30 ReLU layers of 32 units, SGD with momentum. Xavier's variance (1/n here, as fan_in = fan_out) "
              "ignores that ReLU zeroes half the signal: the second moment halves at every layer in expectation, "
              "and every Xavier run ends at or near ln 2 ≈ 0.693 (above 0.6). He's 2/n keeps it level, and every He "
              "run gets its train loss below 0.2. Level only in expectation: single draws drift apart with depth "
              "(Hanin & Rolnick 2018). Over 20 draws, layer 30's second moment ranges from under 0.01 to over 1 "
              "times layer 1's, and the median draw keeps about 0.3 of it."),
           "overview",
           ExperimentConfig(schemes=("xavier_normal", "he_normal"), seeds=4, activation="relu", depth=30,
                            width=(32,), optimizer="momentum", lr=0.005, epochs=100, record_epochs=6), _deep_relu,
           {"metric": "loss"}),
    Lesson("tanh-standard", N_("tanh under the 'standard' init shrinks layer by layer"),
           N_("U(±1/√n) has variance 1/(3n): each tanh layer passes on at most a third of the variance in "
              "expectation (tanh itself only shrinks it), a std ratio of about 1/√3 ≈ 0.58 per layer, as Glorot "
              "& Bengio (2010) showed. Under their normalized (Xavier) init the activations' std falls only by "
              "about 3% per layer."),
           "activations",
           ExperimentConfig(schemes=("glorot_standard", "xavier_normal"), seeds=2, activation="tanh", depth=8,
                            width=(128,), epochs=20), _tanh_standard,
           {"epoch": 0, "quantity": "activation", "stat": "std"}),
    Lesson("selu", N_("SELU with LeCun normal normalizes itself"),
           N_("SELU's constants make mean 0 and variance 1 a fixed point when the weights have variance 1/n "
              "(LeCun normal): from layer 10 to layer 20 the activations keep a mean within 0.2 of 0 and a std "
              "within 0.2 of 1, while normal:std=1 explodes."),
           "activations",
           ExperimentConfig(schemes=("lecun_normal", "normal:std=1", "xavier_uniform"), seeds=2, activation="selu",
                            depth=20, width=(64,), lr=0.01, epochs=20, record_epochs=5), _selu,
           {"epoch": 0, "quantity": "activation", "stat": "std", "log": False}),
    Lesson("restarts", N_("Some restarts get stuck, and more epochs free few of them"),
           N_("Twelve restarts of a 3-unit ReLU network on moons: same data, same batches, only the initial draw "
              "differs. With He init, 4 or 5 of the 12 stop at a train loss between 0.15 and 0.3 (80 to 95% of the "
              "training points right) while the others fit the data (loss under 0.05); with Xavier, 6 to 9 of 12 "
              "stop (data seeds 0 to 7). Three times the epochs free at most one of them: most stay stuck, and only "
              "a new start finds the better solution for them."),
           "symmetry",
           ExperimentConfig(dataset="moons", n_samples=500, noise=0.1, schemes=("he_normal", "xavier_normal"),
                            seeds=12, depth=1, width=(3,), activation="relu", optimizer="adam", lr=0.01,
                            epochs=200), _restarts, {"split": "train"}),
]

BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}
from core.i18n import N_, _, ngettext


def notices(config, lessons_list) -> list[str]:
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
