"""Toy and small real datasets: a registry name -> generator.

Every generator takes (n_samples, noise, features, classes, rng_seed) and
returns (X, y); ``load`` splits (stratified for classification) and
standardizes with scikit-learn, fitting the scaler on the training part only.
The real sets ship inside scikit-learn, so nothing is downloaded.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np

from core.i18n import N_, _


def _skd():
    """scikit-learn's datasets, imported on first use: importing scikit-learn takes seconds on a busy
    machine, and the registry below is read by every link check and by the CLI before any data is made."""
    from sklearn import datasets
    return datasets


@dataclass(frozen=True)
class Dataset:
    name: str
    task: str  # "classification" or "regression"
    X_train: np.ndarray
    y_train: np.ndarray  # int class labels, or (n, 1) float targets
    X_test: np.ndarray
    y_test: np.ndarray
    n_classes: int  # 0 for regression
    # 2-D inputs get decision boundaries; bounds in standardized units
    bounds: tuple[tuple[float, float], tuple[float, float]] | None

    @property
    def n_features(self) -> int:
        return self.X_train.shape[1]

    @property
    def n_outputs(self) -> int:
        return self.n_classes if self.task == "classification" else self.y_train.shape[1]


@dataclass(frozen=True)
class DatasetSpec:
    name: str
    make: Callable[..., tuple[np.ndarray, np.ndarray]]
    task: str
    description: str  # marked for translation: show it with _()
    uses_noise: bool = True
    uses_features: bool = False
    uses_classes: bool = False
    # real sets: (samples that exist, features, classes); n_samples is capped by the first
    shape: tuple[int, int, int] | None = None

    def dims(self, n_samples: int, features: int, classes: int) -> tuple[int, int, int]:
        """(samples used, input features, outputs) without generating anything."""
        if self.shape:
            return min(n_samples, self.shape[0]), self.shape[1], self.shape[2]
        n_in = features if self.uses_features else 2
        if self.task == "regression":
            return n_samples, n_in, 1
        return n_samples, n_in, classes if self.uses_classes else 2


def _xor(n, noise, features, classes, seed):
    rng = np.random.default_rng(seed)
    X = rng.uniform(-1, 1, size=(n, 2))
    y = ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int)
    return X + noise * rng.standard_normal(X.shape), y


def _spirals(n, noise, features, classes, seed):
    rng = np.random.default_rng(seed)
    n0 = n // 2
    t = np.sqrt(rng.uniform(0, 1, n)) * 3 * np.pi  # two turns, denser outside
    arm = np.r_[np.zeros(n0, int), np.ones(n - n0, int)]
    r = t / (3 * np.pi)
    angle = t + np.pi * arm
    X = np.c_[r * np.cos(angle), r * np.sin(angle)]
    return X + noise * 0.1 * rng.standard_normal(X.shape), arm


def _moons(n, noise, features, classes, seed):
    return _skd().make_moons(n_samples=n, noise=noise, random_state=seed)


def _circles(n, noise, features, classes, seed):
    return _skd().make_circles(n_samples=n, noise=noise, factor=0.5, random_state=seed)


def _blobs(n, noise, features, classes, seed):
    return _skd().make_blobs(n_samples=n, n_features=features, centers=classes,
                          cluster_std=1.0 + 4 * noise, random_state=seed)


def _quantiles(n, noise, features, classes, seed):
    X, y = _skd().make_gaussian_quantiles(n_samples=n, n_features=features, n_classes=classes, random_state=seed)
    rng = np.random.default_rng(seed)
    return X + noise * rng.standard_normal(X.shape), y


def _classification(n, noise, features, classes, seed):
    informative = max(2, min(features, classes + 1)) if features >= 2 else 1
    return _skd().make_classification(
        n_samples=n, n_features=features, n_informative=informative,
        n_redundant=0, n_repeated=0, n_classes=classes, n_clusters_per_class=1,
        flip_y=min(noise, 1.0) * 0.5, class_sep=1.0, random_state=seed,
    )


def _regression(n, noise, features, classes, seed):
    if features == 1:  # 1-D sine: the classic curve to fit
        rng = np.random.default_rng(seed)
        X = rng.uniform(-np.pi, np.pi, size=(n, 1))
        return X, np.sin(2 * X[:, 0]) + noise * rng.standard_normal(n)
    X, y = _skd().make_regression(n_samples=n, n_features=features, noise=noise * 10, random_state=seed)
    return X, y


def _real(loader: str):
    def make(n, noise, features, classes, seed):
        from sklearn.model_selection import train_test_split
        X, y = getattr(_skd(), loader)(return_X_y=True)
        if n < len(y):  # a fixed, seeded subsample keeps links reproducible
            # stratified when the left-out part can hold every class; else (only a few samples left out)
            # a plain seeded subsample, which scikit-learn's stratified split refuses to make
            stratify = y if len(y) - n >= len(np.unique(y)) else None
            keep, _ = train_test_split(np.arange(len(y)), train_size=n, random_state=seed, stratify=stratify)
            X, y = X[np.sort(keep)], y[np.sort(keep)]
        return X, y
    return make


DATASETS: dict[str, DatasetSpec] = {
    d.name: d
    for d in [
        DatasetSpec("moons", _moons, "classification", N_("two interleaving half circles")),
        DatasetSpec("circles", _circles, "classification", N_("a circle inside a circle")),
        DatasetSpec("blobs", _blobs, "classification", N_("Gaussian clusters, one per class"),
                    uses_features=True, uses_classes=True),
        DatasetSpec("xor", _xor, "classification", N_("the four quadrants: not linearly separable")),
        DatasetSpec("spirals", _spirals, "classification", N_("two interleaved spirals: hard for shallow nets")),
        DatasetSpec("gaussian_quantiles", _quantiles, "classification",
                    N_("nested shells of one Gaussian, split by quantiles"), uses_features=True, uses_classes=True),
        DatasetSpec("classification", _classification, "classification",
                    N_("scikit-learn make_classification: n features, some informative"),
                    uses_features=True, uses_classes=True),
        DatasetSpec("regression", _regression, "regression",
                    N_("1 feature: a noisy sine; n features: a noisy linear map"), uses_features=True),
        DatasetSpec("digits", _real("load_digits"), "classification",
                    N_("8x8 handwritten digits (1797 samples, 64 features)"),
                    uses_noise=False, shape=(1797, 64, 10)),
        DatasetSpec("iris", _real("load_iris"), "classification", N_("Fisher's iris (150, 4 features, 3 classes)"),
                    uses_noise=False, shape=(150, 4, 3)),
        DatasetSpec("wine", _real("load_wine"), "classification", N_("wine cultivars (178, 13 features, 3 classes)"),
                    uses_noise=False, shape=(178, 13, 3)),
        DatasetSpec("breast_cancer", _real("load_breast_cancer"), "classification",
                    N_("breast cancer diagnosis (569, 30 features, 2 classes)"), uses_noise=False, shape=(569, 30, 2)),
    ]
}


def get(name: str) -> DatasetSpec:
    try:
        return DATASETS[name]
    except KeyError:
        raise ValueError(_("dataset: unknown value {value}; allowed: {allowed}").format(
            value=repr(name), allowed=", ".join(DATASETS))) from None


def load(name: str, n_samples: int = 500, noise: float = 0.2, test_size: float = 0.2,
         seed: int = 0, features: int = 2, classes: int = 3) -> Dataset:
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler

    spec = get(name)
    X, y = spec.make(n_samples, noise, features, classes, seed)
    X = np.asarray(X, dtype=np.float64)
    stratify = y if spec.task == "classification" else None
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, random_state=seed, stratify=stratify)
    scaler = StandardScaler().fit(X_tr)
    X_tr, X_te = scaler.transform(X_tr), scaler.transform(X_te)
    if spec.task == "classification":
        labels, y_all = np.unique(np.r_[y_tr, y_te], return_inverse=True)
        y_tr, y_te = y_all[: len(y_tr)].astype(np.int64), y_all[len(y_tr):].astype(np.int64)
        n_classes = len(labels)
    else:
        # standardize the target too, so MSE is comparable across datasets
        y_scaler = StandardScaler().fit(np.asarray(y_tr, float).reshape(-1, 1))
        y_tr = y_scaler.transform(np.asarray(y_tr, float).reshape(-1, 1))
        y_te = y_scaler.transform(np.asarray(y_te, float).reshape(-1, 1))
        n_classes = 0
    bounds = None
    if X_tr.shape[1] == 2 and spec.task == "classification":
        both = np.r_[X_tr, X_te]
        pad = 0.1 * (both.max(0) - both.min(0))
        lo, hi = both.min(0) - pad, both.max(0) + pad
        bounds = ((float(lo[0]), float(hi[0])), (float(lo[1]), float(hi[1])))
    return Dataset(name, spec.task, X_tr, y_tr, X_te, y_te, n_classes, bounds)
