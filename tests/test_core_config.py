"""ExperimentConfig: one validation path, exact round trips, a lenient parser that never raises."""
import json
import math
from urllib.parse import parse_qsl, quote

import pytest
from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

from core import ExperimentConfig, datasets
from core.nn import activations, initializers
from core.runtime import budget
from core import experiment
from core.config import FIELDS, FOREIGN_KEYS, MAX_SCHEMES, PAGE_KEYS, SCHEMA_VERSION, CrossFieldError
from core.nn.optimizers import OPTIMIZERS

# ---------------------------------------------------------------- strict errors

BAD = [
    # (how to build, field named, value named, a piece of what is allowed)
    (dict(schemes=("he_normal", "kaiming_magic")), "schemes", "kaiming_magic", "he_normal"),
    ("schemes=kaiming_magic", "schemes", "kaiming_magic", "xavier_normal"),
    (dict(dataset="mnist"), "dataset", "mnist", "moons"),
    ("dataset=mnist", "dataset", "mnist", "spirals"),
    (dict(width=0), "width", "0", "[1, 1024]"),
    ("width=0", "width", "0", "[1, 1024]"),
    ("width=32,0,8", "width", "0", "[1, 1024]"),
    (dict(lr=0.0), "lr", "0.0", "[1e-06, 10]"),
    (dict(lr=-0.1), "lr", "-0.1", "[1e-06, 10]"),
    ("lr=-1", "lr", "-1", "[1e-06, 10]"),
    (dict(depth=51), "depth", "51", "[1, 50]"),
    ("depth=51", "depth", "51", "[1, 50]"),
    ("depth=2.5", "depth", "2.5", "whole number"),
    ("depth=abc", "depth", "abc", "whole number"),
    ("lr=nan", "lr", "nan", "number"),
    ("epochs=inf", "epochs", "inf", "whole number"),
    ("activation=swish", "activation", "swish", "relu"),
    ("optimizer=lbfgs", "optimizer", "lbfgs", "adam"),
    ("dtype=float16", "dtype", "float16", "float64"),
    ("seeds=0", "seeds", "0", "[1, 20]"),
    ("frobnicate=1", "frobnicate", "frobnicate", "dataset"),
    ("depth=3&depth=4", "depth", "2 times", "once"),
    ("v=99", "v", "99", "1, 2"),
    (dict(schemes=("normal:std=-1",)), "schemes", "-1", "(0.0, 100.0]"),
    ("schemes=normal:std=-1", "schemes", "-1", "(0.0, 100.0]"),
    ("schemes=normal:sd=1", "schemes", "sd", "std"),
    ("schemes=normal:std", "schemes", "normal:std", "key=value"),
    ("schemes=normal:std=1,std=2", "schemes", "normal:std=1,std=2", "once"),
    ("schemes=he_normal:mode=fan_avg", "schemes", "fan_avg", "fan_out"),
    ("schemes=truncated_normal:a=3", "schemes", "a=3", "a below b"),
    ("schemes=he_normal&schemes=he_normal", "schemes", "he_normal", "once"),
    ("depth=2&width=8,8,8", "width", "8,8,8", "depth=2"),
    (dict(schemes=tuple(f"normal:std={i}" for i in range(1, 14))), "schemes", "normal:std=13", "1 to 12"),
    # valid one by one, impossible together: refused here, not deep inside scikit-learn at run time
    ("dataset=classification&features=2&classes=5", "classes", "5", "at most 2**features = 4"),
    ("dataset=classification&features=1", "classes", "3", "at most 2**features = 2"),
    ("dataset=blobs&classes=10&n_samples=50&test_size=0.05", "test_size", "0.05", "one sample per class"),
    (dict(dataset="digits", n_samples=50, test_size=0.05), "test_size", "0.05", "one sample per class"),
]


def _build(how):
    return ExperimentConfig(**how) if isinstance(how, dict) else ExperimentConfig.from_query(how)


@pytest.mark.parametrize("how,field,value,allowed", BAD, ids=[str(b[0]) for b in BAD])
def test_wrong_input_raises_one_value_error_naming_field_value_and_allowed(how, field, value, allowed,
                                                                           monkeypatch):
    trained = []
    monkeypatch.setattr(experiment, "train", lambda *a, **k: trained.append(1))
    with pytest.raises(ValueError) as info:
        experiment.run(_build(how))
    msg = str(info.value)
    assert msg.startswith(f"{field}:") or msg.startswith(f"{field} "), msg
    assert value in msg, msg
    assert "allowed" in msg and allowed in msg, msg
    assert info.value.__cause__ is None and "\n" not in msg
    assert not trained


def test_unknown_scheme_message_lists_every_scheme():
    with pytest.raises(ValueError) as info:
        ExperimentConfig(schemes=("nope",))
    for name in initializers.INITIALIZERS:
        assert name in str(info.value)


def test_valid_values_of_every_kind_are_accepted():
    c = ExperimentConfig.from_query("depth=2&width=8,16&lr=1e-6&schemes=constant:value=0.5&schemes=normal:std=0.01"
                                    "&embed=true")
    assert c.widths == (8, 16) and c.lr == 1e-6 and c.schemes == ("constant:value=0.5", "normal:std=0.01")
    assert ExperimentConfig(depth=3, width=(5,)).widths == (5, 5, 5)
    assert ExperimentConfig().models[:3] == [("zeros", 0), ("zeros", 1), ("zeros", 2)]


# ---------------------------------------------------------------- round trips

scheme_entries = st.one_of(
    st.sampled_from(sorted(initializers.INITIALIZERS)),
    st.floats(1e-3, 100, allow_nan=False).map(lambda s: f"normal:std={s!r}"),
    st.floats(-10, 10, allow_nan=False).map(lambda v: f"constant:value={v!r}"),
    st.tuples(st.floats(0.01, 10), st.sampled_from(["fan_in", "fan_out"])).map(
        lambda t: f"he_uniform:gain={t[0]!r},mode={t[1]}"),
    st.tuples(st.floats(0, 1), st.floats(1e-4, 1)).map(lambda t: f"sparse:sparsity={t[0]!r},std={t[1]!r}"),
    st.tuples(st.floats(1e-3, 1), st.integers(1, 100)).map(lambda t: f"lsuv:tol={t[0]!r},max_iter={t[1]}"),
)


def _field_value(name):
    f = FIELDS[name]
    if f.choices is not None:
        return st.sampled_from(f.choices)
    if name in ("schemes", "width"):
        return None
    if name == "bias":
        return st.one_of(st.just("zeros"), st.floats(-10, 10).map(lambda c: f"constant:value={c!r}"),
                         st.floats(1e-3, 10).map(lambda s: f"normal:std={s!r}"))
    lo, hi = f.lo, f.hi
    if f.integer:
        return st.integers(int(lo), int(hi))
    if name == "lr":
        lo = 1e-6
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


@st.composite
def valid_configs(draw):
    kw = {}
    for name in FIELDS:
        if name in ("schemes", "width") or not draw(st.booleans()):
            continue
        kw[name] = draw(_field_value(name))
    kw["schemes"] = tuple(draw(st.lists(scheme_entries, min_size=1, max_size=MAX_SCHEMES,
                                        unique_by=lambda s: s.strip())))
    depth = kw.get("depth", FIELDS["depth"].default)
    if draw(st.booleans()):
        kw["width"] = tuple(draw(st.lists(st.integers(1, 1024), min_size=depth, max_size=depth)))
    else:
        kw["width"] = (draw(st.integers(1, 1024)),)
    try:
        return ExperimentConfig(**kw)
    except CrossFieldError:  # fields valid one by one, not together (e.g. too few samples per class)
        assume(False)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(valid_configs())
def test_query_and_json_round_trip_exactly(c):
    q = c.to_query()
    back = ExperimentConfig.from_query(q)
    assert back == c
    assert back.to_query() == q and back.run_id == c.run_id
    assert ExperimentConfig.from_query("?" + q) == c
    assert ExperimentConfig.from_json(c.to_json()) == c
    lenient, warnings = ExperimentConfig.from_query_lenient(q)
    assert lenient == c and warnings == []
    for name in FIELDS:  # exact, including float bits
        a, b = getattr(back, name), getattr(c, name)
        assert type(a) is type(b) and repr(a) == repr(b)


def test_query_carries_every_field_and_a_version():
    keys = [k for k, _ in parse_qsl(ExperimentConfig().to_query())]
    assert keys[0] == "v" and set(keys) == {"v", *FIELDS}
    assert json.loads(ExperimentConfig().to_json())["v"] == SCHEMA_VERSION == 3


def test_json_errors_are_value_errors():
    with pytest.raises(ValueError, match="config: not valid JSON"):
        ExperimentConfig.from_json("{nope")
    with pytest.raises(ValueError, match="config: got"):
        ExperimentConfig.from_json("[1, 2]")
    with pytest.raises(ValueError, match="depth: got 0"):
        ExperimentConfig.from_json('{"depth": 0}')


# ---------------------------------------------------------------- lenient links

NASTY_VALUES = ["", "0", "-1", "1e400", "-1e400", "nan", "NaN", "inf", "-inf", "1" * 40, "3.5", "0x10", "1e-400",
                "true", "None", "%", "%zz", "%00", "é", "日本", "🙂", "\x00", " ", "+", "=", "&", "2,", ",", "8,8",
                "normal:std=-1", "normal:sd=1", "he_normal", "normal:std=0.1", "constant:value=nan", "moons",
                "relu", "adam", "float64", "1", "3", "32", "0.05"]
known_keys = st.sampled_from(["v", *FIELDS, *FOREIGN_KEYS, *PAGE_KEYS])
any_keys = st.one_of(known_keys, known_keys, st.text(max_size=8))
any_values = st.one_of(st.sampled_from(NASTY_VALUES), st.text(max_size=12),
                       st.integers(-10**30, 10**30).map(str), st.floats().map(repr))


@st.composite
def queries(draw):
    pairs = draw(st.lists(st.tuples(any_keys, any_values), max_size=12))
    style = draw(st.sampled_from(["quoted", "raw", "garbage"]))
    if style == "quoted":
        q = "&".join(f"{quote(k)}={quote(v)}" for k, v in pairs)
    elif style == "raw":
        q = "&".join(f"{k}={v}" for k, v in pairs)
    else:
        q = draw(st.text(alphabet=st.sampled_from(list("%&=?;+,:ab01.-é🙂 ")), max_size=40))
    return draw(st.sampled_from(["", "?"])) + q


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(queries())
@example(query="clusters=")  # a restarts page key, which hypothesis found the test warned of wrongly
@pytest.mark.slow
def test_lenient_parser_never_raises_and_names_every_bad_key(query):
    c, warnings = ExperimentConfig.from_query_lenient(query)
    assert isinstance(c, ExperimentConfig)
    assert ExperimentConfig.from_query(c.to_query()) == c  # the result is valid
    assert all(isinstance(w, str) and w for w in warnings)
    seen = {}
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        seen.setdefault(key, []).append(value)
    for key, values in seen.items():
        if key in FOREIGN_KEYS or key in PAGE_KEYS:  # a page's keys (views, restarts, sweeps): parse_page_keys'
            continue
        if key != "v" and key not in FIELDS:
            assert any(w.startswith(f"{key}:") for w in warnings), (key, warnings)
            continue
        # a key whose value(s) the strict parser rejects must be warned about, by name
        try:
            ExperimentConfig.from_query("&".join(f"{quote(key)}={quote(v)}" for v in values))
        except ValueError:
            assert any(w.startswith(f"{key}:") for w in warnings), (key, values, warnings)


@pytest.mark.parametrize("query,kept,bad", [
    ("depth=5&width=abc", {"depth": 5}, "width"),
    ("lr=0.5&depth=99", {"lr": 0.5}, "depth"),
    ("schemes=he_normal&schemes=bogus&schemes=normal:std=-1&seeds=2", {"schemes": ("he_normal",), "seeds": 2},
     "schemes"),
    ("dataset=iris&n_samples=nan&activation=relu", {"dataset": "iris", "activation": "relu"}, "n_samples"),
    ("width=8,8&depth=3&epochs=7", {"depth": 3, "epochs": 7}, "width"),
    ("epochs=7&epochs=8&lr=0.2", {"lr": 0.2}, "epochs"),
    ("zzz=1&optimizer=adam", {"optimizer": "adam"}, "zzz"),
])
def test_lenient_keeps_valid_fields_when_another_is_bad(query, kept, bad):
    c, warnings = ExperimentConfig.from_query_lenient(query)
    for k, v in kept.items():
        assert getattr(c, k) == v
    assert any(w.startswith(f"{bad}:") for w in warnings), warnings
    default = ExperimentConfig()
    if bad in FIELDS and bad != "schemes":
        assert getattr(c, bad) == getattr(default, bad)


def test_lenient_repairs_cross_field_rules_with_defaults():
    c, warnings = ExperimentConfig.from_query_lenient("dataset=classification&features=1&classes=5&depth=4")
    assert c.dataset == "classification" and c.depth == 4 and c.classes <= 2 ** c.features
    assert warnings and warnings[0].startswith("classes:")
    c, warnings = ExperimentConfig.from_query_lenient("dataset=digits&n_samples=50&test_size=0.05&lr=0.3")
    assert c.test_size == FIELDS["test_size"].default and c.n_samples == 50 and c.lr == 0.3
    assert len(warnings) == 1 and warnings[0].startswith("test_size:")
    experiment.load_data(c)


def test_json_round_trips_per_layer_widths():
    c = ExperimentConfig(depth=3, width=(8, 16, 4), schemes=("he_normal", "normal:std=0.1"))
    assert ExperimentConfig.from_json(c.to_json()) == c
    assert ExperimentConfig.from_json(json.dumps(c.to_dict())) == c


def test_lenient_keeps_at_most_max_schemes_and_warns():
    q = "&".join(f"schemes=normal:std={i}" for i in range(1, 20))
    c, warnings = ExperimentConfig.from_query_lenient(q)
    assert len(c.schemes) == MAX_SCHEMES and any("schemes:" in w for w in warnings)


def test_lenient_accepts_a_dict_like_streamlit_query_params():
    c, warnings = ExperimentConfig.from_query_lenient({"depth": "4", "schemes": ["he_normal", "zeros"], "x": "1"})
    assert c.depth == 4 and c.schemes == ("he_normal", "zeros")
    assert len(warnings) == 1 and warnings[0].startswith("x:")


# ---------------------------------------------------------------- every valid config can actually run

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(dataset=st.sampled_from(list(datasets.DATASETS)), n=st.integers(50, 2000), test_size=st.floats(0.05, 0.5),
       features=st.integers(1, 64), classes=st.integers(2, 10), seed=st.integers(0, 2**31 - 1))
def test_every_valid_data_config_loads(dataset, n, test_size, features, classes, seed):
    """A config the validator accepts must not fail later inside scikit-learn."""
    try:
        c = ExperimentConfig(dataset=dataset, n_samples=n, test_size=test_size, features=features,
                             classes=classes, data_seed=seed)
    except ValueError as e:  # refused up front, with the usual message: fine
        assert str(e).split(":")[0] in ("classes", "test_size") and "allowed" in str(e)
        return
    data = experiment.load_data(c)
    used, n_in, n_out = datasets.get(dataset).dims(n, features, classes)
    assert len(data.X_train) + len(data.X_test) == used
    assert data.n_features == n_in and data.n_outputs == n_out


# ---------------------------------------------------------------- budget

def test_budget_refuses_huge_work_and_names_it():
    huge = ExperimentConfig(schemes=tuple(sorted(initializers.INITIALIZERS))[:12], seeds=20, depth=50, width=(1024,))
    with pytest.raises(ValueError) as info:
        budget.check(huge)
    msg = str(info.value)
    assert msg.startswith("work:") and "limit" in msg and "GFLOP" not in msg


def test_budget_passes_the_default_and_run_refuses_before_training(monkeypatch):
    e = budget.check(ExperimentConfig())
    assert e.models == 15 and 0 < e.gflop and 0 < e.seconds < budget.PUBLIC.seconds
    huge = ExperimentConfig(seeds=20, depth=50, width=(1024,), epochs=5000)
    trained = []
    monkeypatch.setattr(experiment, "train", lambda *a, **k: trained.append(1))
    monkeypatch.setattr(experiment, "load_data", lambda *a, **k: trained.append(1))
    with pytest.raises(ValueError, match="^work:"):
        experiment.run(huge)
    assert not trained


def test_activation_and_optimizer_registries_match_the_contract():
    assert set(activations.ACTIVATIONS) == {"linear", "relu", "leaky_relu", "elu", "selu", "gelu", "tanh", "sigmoid",
                                            "softplus"}
    assert set(OPTIMIZERS) == {"sgd", "momentum", "adam"}
    assert math.isclose(activations.SELU_ALPHA, 1.6732632423543772)
    assert math.isclose(activations.SELU_LAMBDA, 1.0507009873554805)


def test_a_bad_view_flag_names_its_default_as_a_link_spells_it():
    from core.config import parse_views
    values, warnings = parse_views({"log": ["maybe"]})
    assert values == {} and len(warnings) == 1
    assert warnings[0].endswith("using the default true"), warnings  # a link writes log=true, not log=True
