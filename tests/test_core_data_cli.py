"""Datasets, and the CLI against run(): same query, same numbers, across processes."""
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from core import ExperimentConfig, datasets, export, run
from core import __main__ as cli
from core import experiment

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("name", list(datasets.DATASETS))
@pytest.mark.parametrize("test_size", [0.2, 0.35])
def test_every_dataset_loads_standardized_and_stratified(name, test_size):
    spec = datasets.get(name)
    d = datasets.load(name, n_samples=300, noise=0.1, test_size=test_size, seed=3, features=5, classes=4)
    used, n_in, n_out = spec.dims(300, 5, 4)
    n_test = math.ceil(used * test_size)
    assert d.X_train.shape == (used - n_test, n_in) and d.X_test.shape == (n_test, n_in)
    assert d.n_features == n_in and d.n_outputs == n_out
    assert np.isfinite(d.X_train).all() and np.isfinite(d.X_test).all()
    assert np.abs(d.X_train.mean(axis=0)).max() < 1e-10
    std = d.X_train.std(axis=0)
    assert np.all((np.abs(std - 1) < 1e-10) | (std == 0))  # 0 only for a feature constant in training
    assert (std == 0).sum() <= (n_in // 4)
    if spec.task == "classification":
        c = d.n_classes
        assert c == n_out and d.y_train.dtype == np.int64
        assert set(np.unique(d.y_train)) == set(range(c)) and set(np.unique(d.y_test)) <= set(range(c))
        tr = np.bincount(d.y_train, minlength=c) / len(d.y_train)
        te = np.bincount(d.y_test, minlength=c) / len(d.y_test)
        assert np.abs(tr - te).max() <= 1.5 / len(d.y_test) + 1e-12  # stratified: same class shares
        assert (d.bounds is not None) == (n_in == 2)
    else:
        assert d.y_train.shape == (len(d.X_train), 1) and d.n_classes == 0
        assert abs(d.y_train.mean()) < 1e-10 and abs(d.y_train.std() - 1) < 1e-10


def test_real_sets_keep_their_shape_and_cap_samples():
    for name, (n, f, c) in {"digits": (1797, 64, 10), "iris": (150, 4, 3), "wine": (178, 13, 3),
                            "breast_cancer": (569, 30, 2)}.items():
        d = datasets.load(name, n_samples=20000, test_size=0.2)
        assert len(d.X_train) + len(d.X_test) == n and d.n_features == f and d.n_classes == c


@pytest.mark.parametrize("n", [1790, 1797 - 9, 60])
def test_digits_subsamples_of_any_allowed_size_load(n):
    d = datasets.load("digits", n_samples=n, test_size=0.2)
    assert len(d.X_train) + len(d.X_test) == n


def test_dataset_is_a_function_of_its_seed():
    a = datasets.load("spirals", n_samples=200, seed=1)
    b = datasets.load("spirals", n_samples=200, seed=1)
    c = datasets.load("spirals", n_samples=200, seed=2)
    assert np.array_equal(a.X_train, b.X_train) and not np.array_equal(a.X_train, c.X_train)


def test_xor_labels_are_the_quadrant_parity():
    X, y = datasets.DATASETS["xor"].make(400, 0.0, 2, 2, 0)
    assert np.array_equal(y, ((X[:, 0] > 0) ^ (X[:, 1] > 0)).astype(int))


QUERY = ("dataset=moons&n_samples=120&schemes=zeros&schemes=he_normal&schemes=normal:std=0.5&seeds=2&depth=2"
         "&width=6&epochs=4&record_epochs=3&activation=relu&optimizer=adam&lr=0.01")


def _read(data: bytes) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(data), keep_default_na=True)


@pytest.mark.slow
def test_cli_writes_the_same_numbers_as_run_in_another_process(tmp_path):
    out = tmp_path / "out"
    proc = subprocess.run([sys.executable, "-m", "core", "--query", "?" + QUERY, "--out", str(out), "--quiet"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert proc.returncode == 0, proc.stderr
    r = run(ExperimentConfig.from_query(QUERY))
    rid = r.config.run_id
    written = sorted(p.stem for p in out.glob("*.csv"))
    assert written == sorted(r.frames)
    for name, df in r.frames.items():
        got = (out / f"{name}.csv").read_bytes()
        assert got == export.csv_bytes(df, rid), name  # bit-identical numbers
        back = _read(got)
        assert list(back.columns) == ["run_id", *df.columns]
        assert (back["run_id"] == rid).all() and len(back) == len(df)
        for col in df.columns:
            a, b = df[col].to_numpy(), back[col].to_numpy()
            if pd.api.types.is_float_dtype(df[col]):
                assert np.array_equal(a.astype(float), b.astype(float), equal_nan=True), (name, col)
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["run_id"] == rid and ExperimentConfig.from_query(cfg["query"]) == r.config
    npz = np.load(out / "weights.npz")
    W = npz["he_normal|seed=1|final|layer=2|W"]
    assert np.array_equal(W, r.weights("he_normal", 1, "final")[1][0])


def test_cli_config_json_path_gives_the_same_run(tmp_path):
    r = run(ExperimentConfig.from_query(QUERY.replace("width=6", "width=6,3")))
    (tmp_path / "config.json").write_text(export.config_json(r))
    assert cli.main(["--config", str(tmp_path / "config.json"), "--out", str(tmp_path / "o"), "--quiet"]) == 0
    got = (tmp_path / "o" / "curves.csv").read_bytes()
    assert got == export.csv_bytes(r.frames["curves"], r.config.run_id)


@pytest.mark.parametrize("query,field", [("width=0", "width"), ("schemes=nope", "schemes"), ("lr=0", "lr"),
                                         ("depth=51", "depth"), ("bogus=1", "bogus")])
def test_cli_refuses_bad_input_before_training(query, field, tmp_path, monkeypatch, capsys):
    trained = []
    monkeypatch.setattr(experiment, "train", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(cli, "run", lambda *a, **k: trained.append(1))
    assert cli.main(["--query", query, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {field}:") and "allowed" in err
    assert not trained and not (tmp_path / "o").exists()


def test_cli_refuses_over_budget_unless_told(tmp_path, capsys):
    assert cli.main(["--query", "seeds=20&depth=50&width=1024&epochs=5000", "--out", str(tmp_path / "o")]) == 2
    assert capsys.readouterr().err.startswith("error: work:")
    assert not (tmp_path / "o").exists()
