"""One-click lessons: each a configuration (a link) that reproduces a known fact.

``check`` is the fact in code: the tests run every lesson and assert it, so
a lesson whose link stops showing what its text promises fails the build.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import pandas as pd

from .config import ExperimentConfig
from .i18n import N_
from .restarts import two_groups


@dataclass(frozen=True)
class Lesson:
    slug: str
    title: str
    text: str  # two lines, in our own words
    page: str  # url path of the page that shows it best
    config: ExperimentConfig
    check: Callable[[dict[str, pd.DataFrame]], bool]

    @property
    def query(self) -> str:
        return self.config.to_query()


def _hidden(frame: pd.DataFrame, n_hidden: int) -> pd.DataFrame:
    return frame[frame["layer"] <= n_hidden]


def _symmetry(f) -> bool:
    d = _hidden(f["distinct_units"], 3)
    last = d[d["epoch"] == d["epoch"].max()]
    sym = last[last["scheme"].isin(["zeros", "constant:value=0.5"])]["distinct_units"]
    rnd = last[last["scheme"] == "he_normal"]
    return bool((sym == 1).all() and (rnd["distinct_units"] == rnd["units"]).all())


def _vanish_explode(f) -> bool:
    s = f["layer_stats"]
    s = s[(s["epoch"] == 0) & (s["kind"] == "preactivation")]
    q = s.groupby(["scheme", "layer"])["second_moment"].mean()
    small, large, he = q["normal:std=0.01"], q["normal:std=1"], q["he_normal"]
    diverged = f["summary"].set_index("scheme")["diverged_epoch"].notna().groupby(level=0).all()
    return bool(small.iloc[-1] < 1e-12 * small.iloc[0] and large.iloc[-2] > 1e6 * large.iloc[0]
                and 0.1 < he.iloc[-2] / he.iloc[0] < 10 and diverged["normal:std=1"] and not diverged["he_normal"])


def _deep_relu(f) -> bool:
    s = f["summary"].groupby("scheme")["final_train_loss"].mean()
    return bool(s["he_normal"] < 0.5 * s["xavier_normal"] and s["xavier_normal"] > 0.6)


def _tanh_standard(f) -> bool:
    s = f["layer_stats"]
    s = s[(s["epoch"] == 0) & (s["kind"] == "activation") & (s["layer"] <= 8)]
    std = s.groupby(["scheme", "layer"])["std"].mean()
    std_ratio = lambda name: std[name].iloc[-1] / std[name].iloc[0]  # noqa: E731
    return bool(std_ratio("glorot_standard") < 0.25 and std_ratio("xavier_normal") > 2 * std_ratio("glorot_standard"))


def _selu(f) -> bool:
    s = f["layer_stats"]
    s = s[(s["epoch"] == 0) & (s["kind"] == "activation") & (s["scheme"] == "lecun_normal") & (s["layer"] <= 20)]
    deep = s[s["layer"] >= 10]
    return bool((deep["mean"].abs() < 0.3).all() and deep["std"].between(0.7, 1.3).all())


def _restarts(f) -> bool:
    s = f["summary"]
    # every scheme's final train losses fall into a stuck and a fitted group, far apart for their spread
    return all(two_groups(g["final_train_loss"]) for _, g in s.groupby("scheme"))


LESSONS: list[Lesson] = [
    Lesson("symmetry", "Zero and constant weights leave every unit identical",
           "When all units of a layer start equal they receive equal gradients, so they stay equal: "
           "a 32-unit layer behaves like one unit. Only random weights break the tie.",
           "symmetry",
           ExperimentConfig(schemes=("zeros", "constant:value=0.5", "he_normal"), seeds=2, activation="tanh",
                            optimizer="momentum", lr=0.05, epochs=60), _symmetry),
    Lesson("vanish-explode", "Too small vanishes, too large explodes",
           "With a fixed std the signal is multiplied by width x std^2 / 2 at every ReLU layer: 0.01 shrinks it "
           "to nothing in ten layers, 1 blows it up until training diverges. He's std sqrt(2/n) holds it level.",
           "activations",
           ExperimentConfig(schemes=("normal:std=0.01", "he_normal", "normal:std=1"), seeds=2, activation="relu",
                            depth=10, width=(64,), lr=0.05, epochs=30, record_epochs=6), _vanish_explode),
    Lesson("deep-relu", "A 30-layer ReLU net trains from He and stalls from Xavier",
           "Xavier's variance 1/n ignores that ReLU zeroes half the signal, so after 30 layers almost nothing "
           "reaches the output and the gradients are tiny. He's 2/n compensates exactly and the net learns.",
           "overview",
           ExperimentConfig(schemes=("xavier_normal", "he_normal"), seeds=2, activation="relu", depth=30,
                            width=(32,), optimizer="momentum", lr=0.01, epochs=60, record_epochs=7), _deep_relu),
    Lesson("tanh-standard", "tanh under the 'standard' init shrinks layer by layer",
           "U(+-1/sqrt n) has variance 1/(3n): each tanh layer passes on about a third of the signal, as "
           "Glorot & Bengio showed. Their normalized (Xavier) init keeps the activations spread.",
           "activations",
           ExperimentConfig(schemes=("glorot_standard", "xavier_normal"), seeds=2, activation="tanh", depth=8,
                            width=(128,), epochs=20), _tanh_standard),
    Lesson("selu", "SELU with LeCun normal normalizes itself",
           "SELU's constants are chosen so that mean 0 and variance 1 is a fixed point when weights have "
           "variance 1/n: twenty layers deep the activations still have mean near 0 and std near 1.",
           "activations",
           ExperimentConfig(schemes=("lecun_normal", "normal:std=1", "xavier_uniform"), seeds=2, activation="selu",
                            depth=20, width=(64,), lr=0.01, epochs=20, record_epochs=5), _selu),
    Lesson("restarts", N_("Some restarts get stuck, and more epochs do not free them"),
           N_("Twelve restarts of a 3-unit ReLU network on moons: same data, same batches, only the initial draw "
              "differs. With He init, 5 of the 12 stop near train loss 0.2 (85 to 92% of the training points right) "
              "while the other 7 fit the data (loss under 0.02); with Xavier, 7 of 12 stop. Three times the epochs "
              "leave every stuck run stuck: only a new start finds the better solution. On data seeds 1 to 3, 4 or 5 "
              "of 12 He runs and 8 or 9 of 12 Xavier runs get stuck."),
           "symmetry",
           ExperimentConfig(dataset="moons", n_samples=500, noise=0.1, schemes=("he_normal", "xavier_normal"),
                            seeds=12, depth=1, width=(3,), activation="relu", optimizer="adam", lr=0.01,
                            epochs=200), _restarts),
]

BY_SLUG = {lesson.slug: lesson for lesson in LESSONS}
