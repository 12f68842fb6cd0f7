"""The bias scheme (query key ``bias``) and the link schema version 2."""
import json
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from core import ExperimentConfig, run
from core.nn import initializers, network
from core.config import SCHEMA_VERSION, parse_bias, replace, version_changes
from core.experiment import initial_weights, load_data
from core.export import config_json

SCHEMES = ("he_normal", "orthogonal", "zeros", "torch_default", "sparse_martens")


def _flat(**kw):
    c = ExperimentConfig(schemes=SCHEMES, seeds=2, depth=2, width=(16, 8), activation="relu", **kw)
    data = load_data(c)
    layout = network.Layout((data.n_features, *c.widths, data.n_outputs))
    return c, layout, initial_weights(c, layout, data)


def test_zero_biases_are_the_old_numbers_exactly():
    c, layout, flat = _flat(bias="zeros", dtype="float64")
    for i, (label, seed) in enumerate(c.models):
        for layer, (W, b) in enumerate(layout.views(flat[i:i + 1])):
            rng = np.random.default_rng([seed, layer])
            want = initializers.sample(label, *W.shape[1:], rng=rng, activation="relu")
            assert np.array_equal(W[0], want)
            own = initializers.sample_bias(label, *W.shape[1:], rng=rng)
            assert np.array_equal(b[0, 0], own)  # zeros, except torch_default's own
            assert (label == "torch_default") == bool(own.any())


@pytest.mark.parametrize("bias", ["normal:std=0.5", "constant:value=-0.25"])
def test_a_bias_scheme_changes_no_weight_and_draws_from_its_own_stream(bias):
    c0, layout, flat0 = _flat(bias="zeros", dtype="float64")
    c, _, flat = _flat(bias=bias, dtype="float64")
    name, params = parse_bias(bias)
    for i, (label, seed) in enumerate(c.models):
        for layer, ((W0, b0), (W, b)) in enumerate(zip(layout.views(flat0[i:i + 1]), layout.views(flat[i:i + 1]))):
            assert np.array_equal(W0, W)
            if label == "torch_default":
                assert np.array_equal(b0, b)  # its own bias
            elif name == "normal":
                want = params["std"] * np.random.default_rng([seed, layer, 1]).standard_normal(W.shape[2])
                assert np.array_equal(b[0, 0], want)
            else:
                assert (b[0, 0] == params["value"]).all()


def test_normal_biases_have_the_stated_std_and_differ_per_seed_and_layer():
    b = initializers.sample_bias_init("normal", 20000, rng=np.random.default_rng(0), std=0.3)
    assert b.std() == pytest.approx(0.3, rel=0.03) and abs(b.mean()) < 0.01
    c, layout, flat = _flat(bias="normal:std=1", dtype="float64")
    biases = {(m, layer): tuple(b[0, 0]) for i, m in enumerate(c.models)
              for layer, (_, b) in enumerate(layout.views(flat[i:i + 1])) if m[0] != "torch_default"}
    seeds = {(seed, layer) for (_, seed), layer in biases}
    assert len({v for v in biases.values()}) == len(seeds)  # same seed and layer: the same draw


def test_bias_travels_in_links_json_and_exports():
    c = ExperimentConfig(bias="normal: std = 0.05", schemes=("he_normal",), seeds=1, epochs=2, depth=1)
    assert c.bias == "normal:std=0.05"
    q = c.to_query()
    assert "bias=normal%3Astd%3D0.05" in q and q.startswith(f"v={SCHEMA_VERSION}&")
    assert ExperimentConfig.from_query(q) == c and ExperimentConfig.from_json(c.to_json()) == c
    exported = json.loads(config_json(run(c)))
    assert exported["config"]["bias"] == "normal:std=0.05" and "bias=normal" in exported["query"]
    assert ExperimentConfig().bias == "zeros"


@pytest.mark.parametrize("bad,allowed", [
    ("uniform", "zeros, constant:value=..., normal:std=..."),
    ("normal:std=-1", "(0.0, 10.0]"),
    ("normal:std=0", "(0.0, 10.0]"),
    ("normal:std=1_0", "plain digits"),
    ("normal:std=٣", "plain digits"),
    ("constant:value=inf", "plain digits"),
    ("constant:value=11", "[-10.0, 10.0]"),
    ("normal:sd=1", "std"),
    ("normal:std=1,std=2", "once"),
    ("", "a name"),
])
def test_bad_bias_entries_name_the_key_value_and_what_is_allowed(bad, allowed):
    with pytest.raises(ValueError) as info:
        ExperimentConfig(bias=bad)
    msg = str(info.value)
    assert msg.startswith("bias:") and allowed in msg and "allowed" in msg
    c, warnings_ = ExperimentConfig.from_query_lenient({"bias": bad, "depth": "4"})
    assert c.bias == "zeros" and c.depth == 4 and warnings_[0].startswith("bias:")


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=20))
def test_any_bias_text_is_either_valid_and_round_trips_or_refused(text):
    try:
        c = ExperimentConfig(bias=text)
    except ValueError as e:
        assert str(e).startswith("bias:")
        return
    assert ExperimentConfig.from_query(c.to_query()) == c
    name, params = parse_bias(c.bias)
    assert name in initializers.BIASES


def test_bias_formula_text():
    assert initializers.bias_formula("zeros") == "b = 0"
    assert initializers.bias_formula("constant", value=0.5) == "b_j = 0.5"
    assert initializers.bias_formula("normal", std=0.05) == r"b_j \sim \mathcal{N}(0,\ 0.05^2)"


# ---------------------------------------------------------------- link schema versions

def test_version_1_links_keep_their_numbers_and_say_how():
    changed = "v=1&activation=gelu&schemes=he_normal&schemes=he_uniform:mode=fan_out&schemes=he_normal:gain=1"
    c, notes = ExperimentConfig.from_query_lenient(changed)
    # version 1 drew He with gain 1 for gelu: the link now names it, so it trains as it did
    assert c.activation == "gelu" and c.schemes == ("he_normal:gain=1", "he_uniform:mode=fan_out,gain=1")
    assert len(notes) == 1 and notes[0].startswith("v:")
    assert "he_normal:gain=1, he_uniform:mode=fan_out,gain=1 keeps this link's numbers" in notes[0]
    old = run(replace(c, seeds=1, epochs=2, record_epochs=2), enforce_budget=False).frames["summary"]
    # (depth 3: version 1's default, which the version 1 link keeps)
    explicit = ExperimentConfig.from_query(f"v={SCHEMA_VERSION}&activation=gelu&schemes=he_normal:gain=1"
                                           "&schemes=he_uniform:mode=fan_out,gain=1&depth=3")
    assert explicit == c
    assert old["final_train_loss"].tolist() == run(replace(explicit, seeds=1, epochs=2, record_epochs=2),
                                                   enforce_budget=False).frames["summary"]["final_train_loss"].tolist()
    for same in ("v=1&activation=relu&schemes=he_normal", "v=1&activation=gelu&schemes=xavier_normal",
                 "v=1&activation=softplus&schemes=he_normal:gain=1.5", "v=1&schemes=sparse:sparsity=0.5",
                 "v=1&activation=leaky_relu&schemes=he_uniform"):
        assert ExperimentConfig.from_query_lenient(same)[1] == []
    elu = ExperimentConfig.from_query_lenient("v=1&activation=elu&schemes=xavier_normal")[1]
    assert len(elu) == 1 and "dead_or_saturated" in elu[0] and "gain" not in elu[0]
    for current in ("activation=gelu&schemes=he_normal", f"v={SCHEMA_VERSION}&activation=gelu&schemes=he_normal"):
        c2, notes2 = ExperimentConfig.from_query_lenient(current)
        assert notes2 == [] and c2.schemes == ("he_normal",)
    assert version_changes(1, c2)[1] and version_changes(SCHEMA_VERSION, c2) == (c2, [])


def test_strict_readers_open_version_1_with_a_python_warning():
    with pytest.warns(UserWarning, match="keeps this link's numbers"):
        c = ExperimentConfig.from_query("v=1&activation=softplus&schemes=he_normal")
    assert c.schemes == ("he_normal:gain=1",)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ExperimentConfig.from_json(json.dumps({"v": 1, "activation": "relu"}))
    with pytest.raises(ValueError, match=r"v: got '4'; allowed: 1, 2, 3"):
        ExperimentConfig.from_query("v=4")


def test_version_2_changes_the_numbers_it_says_it_changes():
    """The warning is about real numbers: He with GELU draws with the derived gain, not 1."""
    c = ExperimentConfig(schemes=("he_normal",), activation="gelu", seeds=1, depth=1, width=(64,))
    data = load_data(c)
    layout = network.Layout((data.n_features, 64, data.n_outputs))
    W = layout.views(initial_weights(c, layout, data))[0][0][0]
    gain_one = np.random.default_rng([0, 0]).standard_normal(W.shape) / math.sqrt(W.shape[0])
    assert np.allclose(W, gain_one * 1.4680112605, rtol=1e-6)
