"""Restarts: how many random starts a fit needs, for networks and beyond.

A fit that can end in several places (a network, k-means, EM) is usually restarted from new random starts and
the best outcome kept. Two questions follow: how far apart do the outcomes land, and how many restarts give a
good one? ``best_of_k`` answers the second exactly from N observed outcomes. ``fit_restarts`` runs scikit-learn's
k-means and Gaussian mixture (EM) N times each per initialization on a dataset of ``core.datasets``, and
logistic regression, whose loss is convex, from N random coefficient vectors: the contrast where every start
reaches the same minimum.

Restart r of every fit uses ``random_state=r`` (logistic regression: ``default_rng(r)`` draws its start), so
the same settings give the same numbers in the dashboard, the tests and a notebook.
"""
from __future__ import annotations

import hashlib
import math
import warnings
from dataclasses import asdict, dataclass, field
from typing import Callable
from urllib.parse import urlencode

import numpy as np
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import log_loss
from sklearn.mixture import GaussianMixture
from threadpoolctl import threadpool_limits

from core import datasets
from core.runtime.control import Control
from core.formatting import number_text
from core.config import FIELDS, RESTART_FIELDS, RESTART_FITS, SCHEMA_VERSION, ExperimentConfig, format_value
from core.i18n import N_, _

# Iteration caps per fit: scikit-learn's defaults for KMeans (300 Lloyd steps) and LogisticRegression (100
# L-BFGS steps); EM gets 1000 steps and a tolerance of its own (GMM_TOL). A fit that reaches its cap is recorded
# as not converged.
MAX_ITER = {"kmeans": 300, "gmm": 1000, "logistic": 100}
# EM stops once an iteration raises the mean log-likelihood (its lower bound) by less than this many nats per
# sample. scikit-learn's default, 1e-3, stops EM from random responsibilities after 2 iterations, while it is
# still crawling away from its near-symmetric start; at 1e-7 the page's fits end where a tenfold tighter
# tolerance ends them (tests/test_core_restarts.py), within a few hundred iterations.
GMM_TOL = 1e-7
LOGISTIC_TOL = 1e-10  # L-BFGS stops when the largest gradient entry is below this: the optimum, to float64 noise
LOGISTIC_INIT_STD = 3.0  # logistic regression restarts start from N(0, 3^2) coefficients and intercepts
# A link may ask for at most this many CPU seconds (of one core) of fitting in the worst case, every fit running
# to its cap (``worst_case_seconds``); typical fits stop long before (bench/restarts.py measures both).
MAX_SECONDS = 60.0
SYMMETRIC_TOL = 1e-3  # nats per sample: an EM fit this close to one Gaussian's likelihood ended where it began
ELLIPSE_RADIUS = 2.0  # Mahalanobis radius of the drawn ellipses: 1 - exp(-2) = 86% of a 2-D Gaussian's mass
ELLIPSE_POINTS = 61


# ------------------------------------------------------------------ best of k
def _ranked(values, best: str) -> np.ndarray:
    """The values best first; NaN counts as the worst outcome."""
    if best not in ("min", "max"):
        raise ValueError(f"best: got {best!r}; allowed: min, max")
    v = np.asarray(values, dtype=float).ravel()
    if v.size == 0:
        raise ValueError("values: got no values; allowed: at least one")
    worst = np.inf if best == "min" else -np.inf
    v = np.sort(np.where(np.isnan(v), worst, v))
    return v if best == "min" else v[::-1]


def best_of_k(values, k_max: int | None = None, best: str = "min") -> np.ndarray:
    """The expected best of k restarts drawn without replacement from the N observed ``values``, k = 1 .. k_max.

    With the values ranked best first, v_(1) .. v_(N), the i-th is the best of a random k-subset exactly when
    the subset holds it and k - 1 of the N - i worse ones: E[best of k] = sum_i v_(i) C(N-i, k-1) / C(N, k).
    ``best`` is "min" for a loss, "max" for an accuracy or a likelihood. NaN counts as the worst outcome
    (infinitely bad), so the expectation is infinite for k up to the number of NaN: a draw of k may then hold
    only failures.
    """
    v = _ranked(values, best)
    n = len(v)
    k_max = n if k_max is None else k_max
    if isinstance(k_max, bool) or not isinstance(k_max, (int, np.integer)) or not 1 <= k_max <= n:
        raise ValueError(f"k_max: got {k_max!r}; allowed: a whole number in [1, {n}]")
    out = np.empty(k_max)
    for k in range(1, k_max + 1):
        total = math.comb(n, k)
        w = np.array([math.comb(n - i, k - 1) / total for i in range(1, n + 1)])
        used = w > 0  # a zero weight must not meet an infinite value (0 * inf is NaN)
        out[k - 1] = float(np.dot(w[used], v[used]))
    return out


def chance_of_any(hits: int, n: int, k: int) -> float:
    """The probability that k restarts drawn without replacement from n hold at least one of ``hits`` good
    ones: 1 - C(n - hits, k) / C(n, k)."""
    if not (0 <= hits <= n and 1 <= k <= n):
        raise ValueError(f"need 0 <= hits <= n and 1 <= k <= n; got hits={hits}, n={n}, k={k}")
    return 1.0 - math.comb(n - hits, k) / math.comb(n, k)


def restarts_for(hits: int, n: int, chance: float = 0.9) -> int | None:
    """The fewest restarts k (of n) with at least ``chance`` of holding one of ``hits`` good ones, or None if
    none of the n is good."""
    if hits == 0:
        return None
    return next(k for k in range(1, n + 1) if chance_of_any(hits, n, k) >= chance - 1e-12)


def best_of_k_frame(summary: pd.DataFrame, metric: str = "final_train_loss") -> pd.DataFrame:
    """Per scheme of a network run's summary, the expected best ``metric`` over k = 1 .. N of its N seeds.

    Columns: scheme, metric, best (min for a loss, max for an accuracy), k, expected_best, restarts (N),
    diverged. A diverged seed counts as the worst outcome: expected_best is infinite for k up to the number of
    diverged seeds of that scheme.
    """
    if metric not in summary.columns:
        raise ValueError(f"metric: got {metric!r}; allowed: {', '.join(c for c in summary.columns if c.startswith('final_'))}")
    best = "max" if "accuracy" in metric else "min"
    parts = []
    for scheme, group in summary.groupby("scheme", sort=False):
        values = group[metric].to_numpy(dtype=float).copy()
        diverged = group["diverged_epoch"].notna().to_numpy() if "diverged_epoch" in group else np.zeros(len(group), bool)
        values[diverged] = np.nan
        expected = best_of_k(values, best=best)
        parts.append(pd.DataFrame({"scheme": scheme, "metric": metric, "best": best,
                                   "k": np.arange(1, len(values) + 1), "expected_best": expected,
                                   "restarts": len(values), "diverged": int(diverged.sum())}))
    return pd.concat(parts, ignore_index=True)


def split_groups(values) -> tuple[np.ndarray, np.ndarray, float]:
    """Sorted values cut at their largest gap: (lower group, upper group, gap)."""
    v = np.sort(np.asarray(values, dtype=float))
    if len(v) < 2:
        return v, v[:0], 0.0
    i = int(np.argmax(np.diff(v)))
    return v[: i + 1], v[i + 1:], float(v[i + 1] - v[i])


def two_groups(values, ratio: float = 3.0, min_size: int = 2) -> bool:
    """True when the values fall into two groups: each of at least ``min_size`` values, and the gap between
    them more than ``ratio`` times the wider group's spread."""
    low, high, gap = split_groups(values)
    if min(len(low), len(high)) < min_size:
        return False
    return gap > ratio * max(np.ptp(low), np.ptp(high))


# ------------------------------------------------------------ restarts beyond networks
@dataclass(frozen=True)
class RestartSettings:
    """What ``fit_restarts`` computes: the experiment's dataset keys and the page's own keys."""
    dataset: str = FIELDS["dataset"].default
    n_samples: int = FIELDS["n_samples"].default
    noise: float = FIELDS["noise"].default
    test_size: float = FIELDS["test_size"].default
    data_seed: int = FIELDS["data_seed"].default
    features: int = FIELDS["features"].default
    classes: int = FIELDS["classes"].default
    restarts: int = RESTART_FIELDS["restarts"].default
    clusters: int = RESTART_FIELDS["clusters"].default
    components: int = RESTART_FIELDS["components"].default

    DATA_KEYS = ("dataset", "n_samples", "noise", "test_size", "data_seed", "features", "classes")

    def __post_init__(self):
        for name in self.DATA_KEYS:
            object.__setattr__(self, name, FIELDS[name].parse(getattr(self, name)))
        for name in ("restarts", "clusters", "components"):
            object.__setattr__(self, name, RESTART_FIELDS[name].parse(getattr(self, name)))
        ExperimentConfig(**{k: getattr(self, k) for k in self.DATA_KEYS})  # the cross-field rules of the data

    @classmethod
    def from_config(cls, config: ExperimentConfig, **keys) -> "RestartSettings":
        """The experiment's dataset keys plus the page's (restarts, clusters, components; others ignored)."""
        own = {k: v for k, v in keys.items() if k in ("restarts", "clusters", "components")}
        return cls(**{k: getattr(config, k) for k in cls.DATA_KEYS}, **own)

    def to_query(self) -> str:
        return urlencode([("v", SCHEMA_VERSION)] + [(k, format_value(v)) for k, v in asdict(self).items()])

    @property
    def run_id(self) -> str:
        """A hash of ``to_query``: the CSV exports' run_id, as ExperimentConfig.run_id for a network run."""
        return hashlib.sha256(self.to_query().encode()).hexdigest()[:10]


@dataclass
class Fit:
    objective: float
    iterations: int
    converged: bool
    centres: np.ndarray | None = None  # (k, d)
    covariances: np.ndarray | None = None  # (k, d, d), Gaussian mixtures only
    weights: np.ndarray | None = None  # (k,) mixture weights, or k-means cluster sizes / n
    start_objective: float = math.nan  # logistic regression only: the loss at its random start


def _kmeans(X, y, k, init, restart) -> Fit:
    m = KMeans(n_clusters=k, init=init, n_init=1, max_iter=MAX_ITER["kmeans"], random_state=restart).fit(X)
    sizes = np.bincount(m.labels_, minlength=k) / len(X)
    # KMeans stops early when the centres move less than tol; running all its steps means it did not
    return Fit(float(m.inertia_), int(m.n_iter_), bool(m.n_iter_ < MAX_ITER["kmeans"]), m.cluster_centers_, None, sizes)


def _gmm(X, y, k, init, restart) -> Fit:
    m = GaussianMixture(n_components=k, covariance_type="full", init_params=init, n_init=1, max_iter=MAX_ITER["gmm"],
                        tol=GMM_TOL, random_state=restart).fit(X)
    return Fit(float(m.score(X)), int(m.n_iter_), bool(m.converged_), m.means_, m.covariances_, m.weights_)


def _logistic(X, y, k, init, restart) -> Fit:
    classes = np.unique(y)
    rows = 1 if len(classes) == 2 else len(classes)
    rng = np.random.default_rng(restart)
    coef = rng.normal(0.0, LOGISTIC_INIT_STD, (rows, X.shape[1]))
    intercept = rng.normal(0.0, LOGISTIC_INIT_STD, rows)
    m = LogisticRegression(warm_start=True, tol=LOGISTIC_TOL, max_iter=MAX_ITER["logistic"])
    # warm_start: lbfgs starts from coef_ and intercept_ when they are set before fit
    m.coef_, m.intercept_ = coef.copy(), intercept.copy()
    m.fit(X, y)
    start = log_loss(y, _probabilities(X @ coef.T + intercept), labels=np.arange(len(classes)))
    return Fit(float(log_loss(y, m.predict_proba(X), labels=classes)), int(np.max(m.n_iter_)),
               bool(np.max(m.n_iter_) < MAX_ITER["logistic"]), start_objective=float(start))


def _probabilities(scores: np.ndarray) -> np.ndarray:
    """Class probabilities of linear scores, as LogisticRegression.predict_proba: sigmoid for one column
    (two classes), softmax otherwise."""
    if scores.shape[1] == 1:
        p = 1.0 / (1.0 + np.exp(-scores[:, 0]))
        return np.stack([1.0 - p, p], axis=1)
    z = np.exp(scores - scores.max(axis=1, keepdims=True))
    return z / z.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Method:
    name: str  # the frames' method column
    title: str  # marked for translation
    objective: str  # the frames' objective_name column
    noun: str  # the objective in a sentence, marked for translation
    axis: str  # the objective with its unit, marked for translation
    better: str  # "lower" or "higher"
    inits: tuple[str, ...]
    fit: Callable[..., Fit]
    near: float  # a restart within this of the best found is in the best group ...
    relative: bool  # ... as a fraction of the best (inertia) or in the objective's units (nats per sample)
    sizes_from: str | None  # the settings key with the number of clusters / components
    needs_labels: bool = False

    def gap(self, objective: np.ndarray, best: float) -> np.ndarray:
        """How far each objective ends from the best found, worse is positive."""
        worse = objective - best if self.better == "lower" else best - objective
        return worse / abs(best) if self.relative else worse


METHODS: dict[str, Method] = {m.name: m for m in [
    Method("kmeans", N_("k-means"), "inertia", N_("inertia"),
           N_("inertia (standardized units²)"), "lower", ("random", "k-means++"),
           _kmeans, near=0.01, relative=True, sizes_from="clusters"),
    # scikit-learn's init_params="random" draws every point's responsibilities at random; "random_from_data"
    # puts the means on random data points, as k-means' random init does; "kmeans" runs k-means (k-means++
    # seeding) first
    Method("gmm", N_("EM (Gaussian mixture)"), "mean log-likelihood", N_("mean log-likelihood"),
           N_("log-likelihood (nats per sample)"), "higher", ("random", "random_from_data", "kmeans"),
           _gmm, near=0.01, relative=False, sizes_from="components"),
    Method("logistic", N_("logistic regression (convex)"), "log-loss", N_("log-loss"),
           N_("log-loss (nats per sample)"), "lower", ("random",), _logistic, near=1e-6, relative=False,
           sizes_from=None, needs_labels=True),
]}
assert tuple(f"{m.name}.{i}" for m in METHODS.values() if m.sizes_from for i in m.inits) == RESTART_FITS


def dims(settings: RestartSettings) -> tuple[int, int, int]:
    """(samples, features, classes; 0 for regression) the settings fit, without generating anything."""
    spec = datasets.get(settings.dataset)
    n, d, out = spec.dims(settings.n_samples, settings.features, settings.classes)
    return n, d, out if spec.task == "classification" else 0


# CPU seconds per iteration of one fit on one core: a fixed cost plus terms in samples n, clusters or
# components k, features d and classes c (c = 1 for two classes), fitted by hand, rounding up, to the times of
# fits forced to run to their cap (python3 -m bench.restarts prints the model against the measurement). EM's
# was refitted to fits of 5 and 45 iterations (their difference: the cost of one iteration without the start's),
# 1.1 to 1.8 times the measurement over bench.restarts' shapes; with a cap of 1000, its start is negligible.
SECONDS_PER_ITERATION = {
    "kmeans": lambda n, k, d, c: 3e-4 + 3e-9 * n * k + 1e-9 * n * k * d,
    "gmm": lambda n, k, d, c: 5e-4 + 1.2e-7 * n * k + 3e-10 * n * k * d * d,
    "logistic": lambda n, k, d, c: 8e-4 + 7e-8 * n * c + 2e-9 * n * d * c,
}


def worst_case_seconds(settings: RestartSettings) -> float:
    """Estimated CPU seconds (one core) of all fits if every one ran to its iteration cap."""
    n, d, classes = dims(settings)
    total = 0.0
    for m in METHODS.values():
        if m.needs_labels and not classes:
            continue
        k = getattr(settings, m.sizes_from) if m.sizes_from else 0
        c = 1 if classes == 2 else classes
        fits = len(m.inits) * settings.restarts
        total += fits * MAX_ITER[m.name] * SECONDS_PER_ITERATION[m.name](n, k, d, c)
    return total


def check(settings: RestartSettings) -> float:
    """The worst case in seconds; ValueError past MAX_SECONDS."""
    seconds = worst_case_seconds(settings)
    if seconds > MAX_SECONDS:
        raise ValueError(_("work: if every fit ran to its iteration cap, these restarts would take about {seconds} "
                           "CPU seconds, over this server's limit of {limit}. Fewer restarts, clusters, components "
                           "or samples, or fewer features, bring it under the limit.").format(
            seconds=number_text(seconds, ",.0f"), limit=number_text(MAX_SECONDS, "g")))
    return seconds


@dataclass
class RestartResults:
    settings: RestartSettings
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)

    @property
    def n_features(self) -> int:
        return dims(self.settings)[1]

    def methods(self) -> list[Method]:
        present = set(self.frames["restart_runs"]["method"])
        return [m for m in METHODS.values() if m.name in present]


def load(settings: RestartSettings) -> tuple[np.ndarray, np.ndarray, str]:
    """Every sample of the dataset (train and test split together, standardized as core.datasets does) and
    its labels."""
    d = datasets.load(settings.dataset, settings.n_samples, settings.noise, settings.test_size,
                      settings.data_seed, settings.features, settings.classes)
    y = np.r_[d.y_train, d.y_test]
    return np.r_[d.X_train, d.X_test], (y if d.task == "classification" else y[:, 0]), d.task


def fit_restarts(settings: RestartSettings, progress: Callable[[int, int], None] | None = None,
                 control: Control | None = None) -> RestartResults:
    """Every method, init and restart of ``settings``, as tidy frames (below). ``progress(done, total)`` is
    called over fits; ``control`` (core.runtime.control) pauses or stops the work between fits (one fit is short:
    its iterations are capped, and ``check`` bounds them all).

    - restart_runs: method, init, restart, objective, objective_name, better, iterations, converged,
      start_objective (logistic regression), gap (from the method's best found; k-means as a fraction),
      near_best (gap within the method's tolerance)
    - restart_best_of_k: method, init, objective_name, k, expected_best, chance_near_best, restarts
    - restart_centres: method, init, which (best/worst), restart, cluster, x1, x2, weight
    - restart_ellipses: method, init, which, restart, cluster, point, x1, x2 (Gaussian mixtures)
    - restart_points: x1, x2, label (the first two features)
    - restart_references: method, reference, objective (one Gaussian's mean log-likelihood)
    """
    check(settings)
    X, y, task = load(settings)
    runs, kept = [], {}
    methods = [m for m in METHODS.values() if task == "classification" or not m.needs_labels]
    total = sum(len(m.inits) for m in methods) * settings.restarts
    # One thread: the fits are small, a shared server's other sessions need the cores, and k-means' parallel
    # sums can then never depend on the thread count.
    with threadpool_limits(limits=1), warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)  # recorded in the converged column instead
        for method in methods:
            size = getattr(settings, method.sizes_from) if method.sizes_from else 0
            for init in method.inits:
                for r in range(settings.restarts):
                    if progress is not None:
                        progress(len(runs), total)
                    if control is not None:
                        control.check()
                    f = method.fit(X, y, size, init, r)
                    kept[method.name, init, r] = f
                    runs.append({"method": method.name, "init": init, "restart": r, "objective": f.objective,
                                 "objective_name": method.objective, "better": method.better,
                                 "iterations": f.iterations, "converged": f.converged,
                                 "start_objective": f.start_objective})
        one_gaussian = float(GaussianMixture(1, covariance_type="full").fit(X).score(X))
    if progress is not None:
        progress(total, total)
    runs = _with_gaps(pd.DataFrame(runs))
    frames = {"restart_runs": runs, "restart_best_of_k": _best_of_k_rows(runs, settings.restarts)}
    frames["restart_centres"], frames["restart_ellipses"] = _best_and_worst(runs, kept)
    two = X[:, :2]
    frames["restart_points"] = pd.DataFrame({"x1": two[:, 0], "x2": two[:, 1] if X.shape[1] > 1 else np.nan,
                                             "label": y})
    frames["restart_references"] = pd.DataFrame(
        {"method": ["gmm"], "reference": ["one Gaussian"], "objective": [one_gaussian]})
    return RestartResults(settings, frames)


def _with_gaps(runs: pd.DataFrame) -> pd.DataFrame:
    parts = []
    for name, group in runs.groupby("method", sort=False):
        m = METHODS[name]
        obj = group["objective"].to_numpy()
        best = obj.min() if m.better == "lower" else obj.max()
        gap = m.gap(obj, best)
        parts.append(group.assign(gap=gap, near_best=gap <= m.near))
    return pd.concat(parts, ignore_index=True)


def _best_of_k_rows(runs: pd.DataFrame, n: int) -> pd.DataFrame:
    parts = []
    for (name, init), group in runs.groupby(["method", "init"], sort=False):
        m = METHODS[name]
        hits = int(group["near_best"].sum())
        k = np.arange(1, n + 1)
        parts.append(pd.DataFrame({
            "method": name, "init": init, "objective_name": m.objective, "k": k,
            "expected_best": best_of_k(group["objective"], best="min" if m.better == "lower" else "max"),
            "chance_near_best": [chance_of_any(hits, n, int(i)) for i in k], "restarts": n}))
    return pd.concat(parts, ignore_index=True)


def best_and_worst(runs: pd.DataFrame, name: str, init: str) -> dict[str, int]:
    """The restart with the best and the worst objective of one (method, init); ties go to the lower
    restart."""
    g = runs[(runs["method"] == name) & (runs["init"] == init)].sort_values("restart", kind="stable")
    lower = METHODS[name].better == "lower"
    obj = g["objective"].to_numpy()
    restarts = g["restart"].to_numpy()
    best = restarts[np.argmin(obj) if lower else np.argmax(obj)]
    worst = restarts[np.argmax(obj) if lower else np.argmin(obj)]
    return {"best": int(best), "worst": int(worst)}


def ellipse(mean: np.ndarray, cov: np.ndarray, radius: float = ELLIPSE_RADIUS, points: int = ELLIPSE_POINTS):
    """Points (points, 2) of the ellipse {x : (x - mean)' cov^-1 (x - mean) = radius^2}, closed."""
    t = np.linspace(0.0, 2.0 * np.pi, points)
    circle = np.stack([np.cos(t), np.sin(t)], axis=1)
    return mean + radius * circle @ np.linalg.cholesky(cov).T


def _best_and_worst(runs: pd.DataFrame, kept: dict) -> tuple[pd.DataFrame, pd.DataFrame]:
    centres, ellipses = [], []
    for name, init in runs[["method", "init"]].drop_duplicates().itertuples(index=False):
        if not METHODS[name].sizes_from:
            continue
        for which, r in best_and_worst(runs, name, init).items():
            f = kept[name, init, r]
            c = f.centres
            k = len(c)
            centres.append(pd.DataFrame({"method": name, "init": init, "which": which, "restart": r,
                                         "cluster": np.arange(k), "x1": c[:, 0],
                                         "x2": c[:, 1] if c.shape[1] > 1 else np.nan, "weight": f.weights}))
            if f.covariances is not None and c.shape[1] > 1:
                for j in range(k):
                    # the first two features' marginal: the 2-D shadow of the fitted Gaussian
                    e = ellipse(c[j, :2], f.covariances[j][:2, :2])
                    ellipses.append(pd.DataFrame({"method": name, "init": init, "which": which, "restart": r,
                                                  "cluster": j, "point": np.arange(len(e)),
                                                  "x1": e[:, 0], "x2": e[:, 1]}))
    empty = pd.DataFrame(columns=["method", "init", "which", "restart", "cluster", "point", "x1", "x2"])
    return pd.concat(centres, ignore_index=True), (pd.concat(ellipses, ignore_index=True) if ellipses else empty)


# ------------------------------------------------------------------ what to notice


def em_iterations(results: RestartResults) -> dict[str, float]:
    """Median iterations of one EM restart per init, in the method's order of inits (empty without EM)."""
    runs = results.frames["restart_runs"]
    g = runs[runs["method"] == "gmm"]
    return {i: float(g[g["init"] == i]["iterations"].median()) for i in METHODS["gmm"].inits if (g["init"] == i).any()}


def symmetric_em(results: RestartResults) -> tuple[int, int, int, float] | None:
    """EM restarts from random responsibilities that end at one Gaussian's likelihood: (how many, fewest and
    most iterations among them, that likelihood)."""
    runs = results.frames["restart_runs"]
    g = runs[(runs["method"] == "gmm") & (runs["init"] == "random")]
    if g.empty:
        return None
    ref = float(results.frames["restart_references"].query("reference == 'one Gaussian'")["objective"].iloc[0])
    stuck = g[(g["objective"] - ref).abs() <= SYMMETRIC_TOL]
    its = stuck["iterations"] if len(stuck) else g["iterations"]
    return len(stuck), int(its.min()), int(its.max()), ref
