"""Training output -> tidy pandas frames with stable column names.

Every frame carries scheme and seed, and epoch and layer where they apply,
so one ``to_csv`` is a complete export. Rows of a model after it diverged
are left out: its curves end at the last finite epoch.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from core.measure.probes import KINDS


def columns(axes: list[tuple[str | None, np.ndarray | None]], values: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Arrays sharing one shape, plus a label array per axis -> long 1-D columns, axes first. An axis named
    None gets no column."""
    shape = next(iter(values.values())).shape
    data = {}
    for i, (name, labels) in enumerate(axes):
        if name is None:
            continue
        view = [1] * len(shape)
        view[i] = -1
        data[name] = np.broadcast_to(np.asarray(labels).reshape(view), shape).ravel()
    for name, arr in values.items():
        data[name] = np.asarray(arr).ravel()
    return data


def tidy(axes: list[tuple[str, np.ndarray]], values: dict[str, np.ndarray]) -> pd.DataFrame:
    """``columns`` as a frame (of copies: a column may be a view of the caller's array)."""
    return pd.DataFrame(columns(axes, values))


def _concat(parts: list[dict[str, np.ndarray]]) -> dict[str, np.ndarray]:
    """The parts' columns joined, column by column; each part gives up its column as it is joined, so the
    peak is the result plus one column rather than twice the result. Empties ``parts``' dicts."""
    return {name: np.concatenate([p.pop(name) for p in parts]) for name in list(parts[0])}


def _scheme_seed(models: list[tuple[str, int]], idx: np.ndarray) -> dict[str, np.ndarray]:
    """The scheme and seed columns of model indices ``idx``."""
    return {"scheme": np.array([m[0] for m in models], dtype=object)[idx], "seed": np.array([m[1] for m in models])[idx]}


def _with_models(df: pd.DataFrame, models: list[tuple[str, int]]) -> pd.DataFrame:
    """Replace the 'model' index column with scheme and seed, first in order."""
    for i, (name, col) in enumerate(_scheme_seed(models, df.pop("model").to_numpy()).items()):
        df.insert(i, name, col)
    return df


def curves(out, models) -> pd.DataFrame:
    parts = []
    for split in ("train", "test"):
        parts.append(tidy([("epoch", out.curve_epochs), ("model", np.arange(len(models)))],
                          {"split": np.full(out.loss[split].shape, split, dtype=object),
                           "loss": out.loss[split], "accuracy": out.accuracy[split]}))
    df = pd.concat(parts, ignore_index=True)
    df = df[df["loss"].notna()]
    df = _with_models(df, models)
    return df[["scheme", "seed", "epoch", "split", "loss", "accuracy"]].sort_values(
        ["scheme", "seed", "split", "epoch"], key=_scheme_order(models), kind="stable").reset_index(drop=True)


def _scheme_order(models):
    order = {s: i for i, s in enumerate(dict.fromkeys(m[0] for m in models))}
    return lambda col: col.map(order) if col.name == "scheme" else col


def _records_frame(records, models, build) -> pd.DataFrame:
    """One frame from every record: ``build(rec)`` gives a record's columns, with a 'model' column that
    becomes scheme and seed. Built column by column into one frame, without pandas' intermediate copies
    (the largest frames, unit distances and boundaries, peaked at twice their size or more)."""
    parts = []
    for rec in records:
        cols = build(rec)
        keep = rec.alive[cols["model"]]
        if not keep.all():
            cols = {name: c[keep] for name, c in cols.items()}
        parts.append({"epoch": np.full(len(cols["model"]), rec.epoch), **cols})
    if not parts:
        return pd.DataFrame()
    data = _concat(parts)
    return pd.DataFrame({**_scheme_seed(models, data.pop("model")), **data}, copy=False)


def layer_stats(records, models) -> pd.DataFrame:
    def build(rec):
        layers, kinds, k, _ = rec.stats.shape
        s = rec.stats
        return columns([("layer", np.arange(1, layers + 1)), ("kind", np.array(KINDS, dtype=object)),
                     ("model", np.arange(k))],
                    {"mean": s[..., 0], "std": s[..., 1], "second_moment": s[..., 2],
                     "dead_or_saturated": s[..., 4], "nonfinite_fraction": s[..., 3]})
    return _records_frame(records, models, build)


def histograms(records, models) -> pd.DataFrame:
    def build(rec):
        layers, kinds, k, bins = rec.counts.shape
        left, right = rec.edges()
        return columns([("layer", np.arange(1, layers + 1)), ("kind", np.array(KINDS, dtype=object)),
                        ("model", np.arange(k)), (None, None)],
                       {"bin_left": left, "bin_right": right, "count": rec.counts})
    return _records_frame(records, models, build)


def init_distances(records, models) -> pd.DataFrame:
    def build(rec):
        layers, k = rec.init_distance.shape
        return columns([("layer", np.arange(1, layers + 1)), ("model", np.arange(k))],
                    {"distance": rec.init_distance, "relative_distance": rec.relative_distance})
    return _records_frame(records, models, build)


def gradient_norms(records, models) -> pd.DataFrame:
    """Per layer the norms of dLoss/dW and dLoss/db on the probe batch, and the same per parameter (norm over
    the square root of the count): a layer of 4096 weights has a larger norm than one of 128 at the same RMS."""
    def build(rec):
        layers, k, _ = rec.grad_norm.shape
        return columns([("layer", np.arange(1, layers + 1)), ("model", np.arange(k))],
                    {"weight_grad_norm": rec.grad_norm[..., 0], "bias_grad_norm": rec.grad_norm[..., 1],
                     "weight_grad_rms": rec.grad_rms[..., 0], "bias_grad_rms": rec.grad_rms[..., 1]})
    return _records_frame(records, models, build)


def distinct_units(records, models, widths) -> pd.DataFrame:
    """Per layer the distinct units by incoming weights and bias (``distinct_units``) and by their outputs on
    the probe batch (``functional_distinct_units``), both up to ``probes.same_unit_tolerance``."""
    def build(rec):
        layers, k = rec.distinct.shape
        return columns([("layer", np.arange(1, layers + 1)), ("model", np.arange(k))],
                    {"distinct_units": rec.distinct,
                     "units": np.broadcast_to(np.asarray(widths)[:, None], rec.distinct.shape),
                     "functional_distinct_units": rec.functional})
    return _records_frame(records, models, build)


def unit_distances(records, models) -> pd.DataFrame:
    def build(rec):
        parts = []
        for layer, d in enumerate(rec.unit_distances(), start=1):
            k, m, _ = d.shape
            parts.append({"layer": np.full(d.size, layer),
                          **columns([("model", np.arange(k)), ("unit_i", np.arange(1, m + 1)),
                                     ("unit_j", np.arange(1, m + 1))], {"distance": d})})
        return _concat(parts)
    return _records_frame(records, models, build)


def boundaries(records, models, grid) -> pd.DataFrame:
    def build(rec):
        k, g = rec.predicted.shape
        return columns([("model", np.arange(k)), (None, None)],
                       {"x1": np.broadcast_to(grid[:, 0], (k, g)), "x2": np.broadcast_to(grid[:, 1], (k, g)),
                        "predicted": rec.predicted.astype(np.int64),
                        "probability": rec.probability.astype(np.float64)})
    return _records_frame(records, models, build)


def data_points(data) -> pd.DataFrame:
    parts = []
    for split, X, y in (("train", data.X_train, data.y_train), ("test", data.X_test, data.y_test)):
        df = pd.DataFrame(X[:, :2], columns=["x1", "x2"][: min(2, X.shape[1])])
        df.insert(0, "split", split)
        df["label"] = y if data.task == "classification" else np.asarray(y)[:, 0]
        parts.append(df)
    return pd.concat(parts, ignore_index=True)


def summary(out, models, distinct: pd.DataFrame) -> pd.DataFrame:
    last = {split: out.loss[split] for split in ("train", "test")}
    rows = []
    for i, (scheme, seed) in enumerate(models):
        row = {"scheme": scheme, "seed": seed}
        for split in ("train", "test"):
            finite = np.flatnonzero(np.isfinite(last[split][:, i]))
            j = finite[-1] if len(finite) else None
            row[f"final_{split}_loss"] = out.loss[split][j, i] if j is not None else np.nan
            row[f"final_{split}_accuracy"] = out.accuracy[split][j, i] if j is not None else np.nan
        row["last_finite_epoch"] = int(out.curve_epochs[j]) if j is not None else -1
        d = int(out.diverged_epoch[i])
        row["diverged_epoch"] = d if d >= 0 else pd.NA
        row["status"] = f"diverged at epoch {d}" if d >= 0 else "trained"
        rows.append(row)
    df = pd.DataFrame(rows)
    df["diverged_epoch"] = df["diverged_epoch"].astype("Int64")
    if len(distinct):
        final = distinct[distinct["epoch"] == distinct.groupby(["scheme", "seed"])["epoch"].transform("max")]
        for column in ("distinct_units", "functional_distinct_units"):
            wide = final.pivot_table(index=["scheme", "seed"], columns="layer", values=column, aggfunc="first")
            wide.columns = [f"{column}_layer_{c}" for c in wide.columns]
            df = df.merge(wide.reset_index(), on=["scheme", "seed"], how="left")
    return df
