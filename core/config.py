"""ExperimentConfig: every field validated in one place, for every entry point.

The URL query string, JSON, the CLI and the Python API all go through
``FIELDS``: one parser per field that turns raw text or a Python value into a
valid value or raises ValueError naming the field, the value and what is
allowed. ``from_query`` is strict (the CLI and the API); ``from_query_lenient``
(links) never raises: it keeps the default for a bad field and says why.

A query written by ``to_query`` carries every field plus a schema version, so
a shared link keeps its meaning when defaults change.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import unicodedata
import warnings as _warnings
from dataclasses import dataclass
from functools import cached_property
from typing import Any, Callable
from urllib.parse import parse_qsl, urlencode

from core.nn import activations, initializers
from core import datasets
from core.i18n import LANGUAGES, N_, _, clauses
from core.numbers import plain_number
from core.nn.optimizers import OPTIMIZERS

SCHEMA_VERSION = 3
MAX_SCHEMES = 12
# Query keys Streamlit itself may put in a URL: never ours, never a warning.
FOREIGN_KEYS = frozenset({"embed", "embed_options"})


def _fail(field: str, raw: Any, allowed: str):
    # translated where a page shows it (the visitor's language); English in the CLI and the API
    raise ValueError(_("{field}: got {raw}; allowed: {allowed}").format(field=field, raw=repr(raw), allowed=allowed))


def _number(field: str, raw: Any, lo: float, hi: float, integer: bool, lo_open: bool = False):
    if isinstance(raw, bool) or not isinstance(raw, (str, int, float)):
        _fail(field, raw, _("a number"))
    try:
        value = plain_number(raw) if isinstance(raw, str) else float(raw) + 0.0  # -0.0 (JSON, Python) is 0
    except (ValueError, OverflowError):
        value = math.nan
    kind = _("a whole number") if integer else _("a number")
    left = "(" if lo_open else "["
    allowed = _("{kind} in {interval}").format(kind=kind, interval=f"{left}{lo:g}, {hi:g}]")
    if not math.isfinite(value):
        _fail(field, raw, allowed)
    if integer:
        if value != int(value):
            _fail(field, raw, allowed)
        value = int(value)
    if value < lo or value > hi or (lo_open and value == lo):
        _fail(field, raw, allowed)
    return value


def _choice(field: str, raw: Any, choices) -> str:
    if raw not in choices:
        _fail(field, raw, ", ".join(choices))
    return raw


def _split_entry(field: str, entry: str) -> tuple[str, dict[str, str]]:
    """'name:key=value,key=value' -> ('name', {'key': 'value', ...}), the texts unparsed."""
    if not isinstance(entry, str) or not entry.strip():
        _fail(field, entry, _("a name, optionally with parameters: name:key=value,key=value"))
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in entry):
        _fail(field, entry, _("printable characters only (no line breaks or control characters)"))
    name, _colon, rest = entry.strip().partition(":")  # not "_": that name translates
    params: dict[str, str] = {}
    for part in filter(None, rest.split(",")):
        key, eq, value = part.partition("=")
        if not eq or not key.strip() or not value.strip():
            _fail(field, entry, _("parameters written key=value, separated by commas"))
        if key.strip() in params:
            _fail(field, entry, _("each parameter once"))
        params[key.strip()] = value.strip()
    return name.strip(), params


def _label(entry: str) -> str:
    """An entry as written, without the spaces around its parts ('normal: std = 1 ' -> 'normal:std=1')."""
    name, _, rest = entry.strip().partition(":")
    parts = [f"{k.strip()}={v.strip()}" for k, _, v in (p.partition("=") for p in filter(None, rest.split(",")))]
    return name.strip() + (":" + ",".join(parts) if parts else "")


def parse_scheme(entry: str) -> tuple[str, dict]:
    """'normal:std=0.01' -> ('normal', {'std': 0.01}), validated."""
    name, params = _split_entry("schemes", entry)
    if name not in initializers.INITIALIZERS:
        _fail("schemes", entry, ", ".join(initializers.INITIALIZERS))
    try:
        resolved = initializers.resolve_params(name, None, **params)
    except ValueError as e:
        raise ValueError(_("{field}: {error}").format(field="schemes", error=e)) from None
    return name, {k: resolved[k] for k in params}


def scheme_label(entry: str) -> str:
    """The label a valid scheme entry goes by: as written, without the spaces around its parts
    ('normal: std = 1 ' -> 'normal:std=1'). Raises ValueError for an invalid entry."""
    parse_scheme(entry)
    return _label(entry)


def parse_bias(entry: str) -> tuple[str, dict]:
    """'normal:std=0.1' -> ('normal', {'std': 0.1}), validated against initializers.BIASES."""
    name, params = _split_entry("bias", entry)
    if name not in initializers.BIASES:
        _fail("bias", entry, ", ".join(f"{b}:{','.join(p.name + '=...' for p in i.params)}" if i.params else b
                                       for b, i in initializers.BIASES.items()))
    try:
        resolved = initializers.resolve_bias_params(name, **params)
    except ValueError as e:
        raise ValueError(_("{field}: {error}").format(field="bias", error=e)) from None
    return name, {k: resolved[k] for k in params}


def _bias(raw) -> str:
    parse_bias(raw)
    return _label(raw)


def _schemes(raw) -> tuple[str, ...]:
    if not isinstance(raw, (str, list, tuple)):
        _fail("schemes", raw, _("a scheme entry or a list of them"))
    entries = [raw] if isinstance(raw, str) else list(raw)
    if not 1 <= len(entries) <= MAX_SCHEMES:
        _fail("schemes", raw, _("1 to {n} entries").format(n=MAX_SCHEMES))
    out = []
    for e in entries:
        e = scheme_label(e)
        if e in out:
            _fail("schemes", e, _("each entry once"))
        out.append(e)
    return tuple(out)


def _widths(raw) -> tuple[int, ...]:
    if not isinstance(raw, (str, int, float, list, tuple)) or isinstance(raw, bool):
        _fail("width", raw, _("a whole number in [1, 1024], or one per hidden layer"))
    parts = raw.split(",") if isinstance(raw, str) else ([raw] if isinstance(raw, (int, float)) else list(raw))
    if not parts:
        _fail("width", raw, _("a whole number in [1, 1024], or one per hidden layer separated by commas"))
    return tuple(_number("width", p.strip() if isinstance(p, str) else p, 1, 1024, True) for p in parts)


@dataclass(frozen=True)
class Field:
    """One configuration field: its parser, default and (for the UI) its range."""
    parse: Callable[[Any], Any]
    default: Any
    help: str
    repeatable: bool = False
    lo: float | None = None
    hi: float | None = None
    integer: bool = False
    choices: tuple[str, ...] | None = None


def _num(name, lo, hi, default, help, integer=False, lo_open=False) -> Field:
    return Field(lambda raw: _number(name, raw, lo, hi, integer, lo_open), default, help, lo=lo, hi=hi,
                 integer=integer)


def _pick(name, choices, default, help) -> Field:
    choices = tuple(choices)
    return Field(lambda raw: _choice(name, raw, choices), default, help, choices=choices)


FIELDS: dict[str, Field] = {
    "dataset": _pick("dataset", datasets.DATASETS, "moons", N_("dataset")),
    "n_samples": _num("n_samples", 50, 20000, 500, N_("samples before the split (real sets: at most all)"), True),
    "noise": _num("noise", 0.0, 2.0, 0.2, N_("label or input noise")),
    "test_size": _num("test_size", 0.05, 0.5, 0.2, N_("fraction held out for testing")),
    "data_seed": _num("data_seed", 0, 2**31 - 1, 0, N_("seed of the data and of the batch order"), True),
    "features": _num("features", 1, 64, 2, N_("input features (blobs, classification, regression, gaussian_quantiles)"),
                     True),
    "classes": _num("classes", 2, 10, 3, N_("classes (blobs, classification, gaussian_quantiles)"), True),
    # The defaults are the landing page's lesson (tests/test_defaults.py holds it on several data seeds): at
    # depth 8 with ReLU the naive starts (zeros, too small, too large) stay at chance while the scaled ones train.
    "schemes": Field(_schemes, ("zeros", "normal:std=0.01", "normal:std=1", "xavier_normal", "he_normal"),
                     N_("schemes compared"), repeatable=True),
    "seeds": _num("seeds", 1, 20, 3, N_("random restarts per scheme (seeds 0 .. n-1)"), True),
    "depth": _num("depth", 1, 50, 8, N_("hidden layers"), True),
    "width": Field(_widths, (32,), N_("units per hidden layer: one number, or one per layer"), lo=1, hi=1024,
                   integer=True),
    "activation": _pick("activation", activations.ACTIVATIONS, "relu", N_("activation")),
    "optimizer": _pick("optimizer", OPTIMIZERS, "sgd", N_("optimizer")),
    "lr": _num("lr", 1e-6, 10.0, 0.1, N_("learning rate")),
    "momentum": _num("momentum", 0.0, 0.999, 0.9, N_("momentum coefficient (optimizer=momentum)")),
    "batch_size": _num("batch_size", 0, 20000, 32, N_("minibatch size; 0 = full batch"), True),
    "epochs": _num("epochs", 1, 5000, 100, N_("passes over the training set"), True),
    "weight_decay": _num("weight_decay", 0.0, 1.0, 0.0, N_("L2 penalty on weights")),
    "record_epochs": _num("record_epochs", 2, 51, 11, N_("epochs probed, evenly spaced, epoch 0 included"), True),
    "dtype": _pick("dtype", ("float32", "float64"), "float32", N_("float precision")),
    "bias": Field(_bias, "zeros", N_("how every bias starts: zeros, constant:value=c or normal:std=s "
                     "(torch_default keeps its own)")),
}


def _flag(name: str, default: bool, help: str) -> Field:
    def parse(raw):
        if isinstance(raw, bool):
            return raw
        if raw in ("true", "false"):
            return raw == "true"
        _fail(name, raw, "true, false")
    return Field(parse, default, help, choices=("true", "false"))


# View keys: what a page shows of the results (which epoch, layer, seed, quantity...), never the numbers.
# They travel in links beside the experiment keys and are validated here the same way; a page then checks
# a value against what the results hold (a recorded epoch, an existing layer) and warns if it is not there.
# A default of None means "the page's own default" (the first or the last recorded epoch, say).
VIEWS: dict[str, Field] = {
    "lang": _pick("lang", tuple(LANGUAGES), "en", "language of the dashboard"),
    "epoch": _num("epoch", 0, 5000, None, "recorded epoch shown", True),
    "layer": _num("layer", 1, 51, None, "layer shown: 1 is the first hidden layer, the last is the output layer",
                  True),
    "seed": _num("seed", 0, 19, 0, "seed shown", True),
    "quantity": _pick("quantity", ("preactivation", "activation", "gradient"), "preactivation", "quantity shown"),
    "stat": _pick("stat", ("second_moment", "std", "mean"), "second_moment", "statistic shown"),
    "norm": _pick("norm", ("dz_second_moment", "weight_grad_rms", "bias_grad_rms", "weight_grad_norm",
                           "bias_grad_norm"), "dz_second_moment", "gradient measure shown"),
    "metric": _pick("metric", ("loss", "accuracy"), "loss", "metric shown"),
    "split": _pick("split", ("test", "train"), "test", "data split shown"),
    "log": _flag("log", True, "logarithmic scale (loss curves; symmetric log value axis of densities)"),
    "relative": _flag("relative", True, "distance from the initial weights relative to their norm"),
    "count": _pick("count", ("functional", "weights"), "functional",
                   "distinct units counted by function on the probe batch, or by incoming weights"),
    # one key for every page's tabs: each page offers its own few (app.views.PageView.tabs)
    "tab": _pick("tab", ("over_training", "every_layer", "one_layer", "histograms", "between_units", "moved"),
                 None, "tab shown: over_training, every_layer, one_layer, histograms (Activations, Gradients); "
                 "between_units, moved (Weight distances)"),
}

# The "Restarts beyond networks" page's keys (core.restarts): what it fits on the experiment's dataset, and
# which fit it draws. They travel in links beside the other keys and are checked by parse_restart_fields.
RESTART_FITS = ("kmeans.random", "kmeans.k-means++", "gmm.random", "gmm.random_from_data", "gmm.kmeans")
RESTART_FIELDS: dict[str, Field] = {
    "restarts": _num("restarts", 2, 50, 20, "restarts per method and init (random_state 0 .. n-1)", True),
    "clusters": _num("clusters", 2, 12, 9, "k-means clusters", True),
    "components": _num("components", 2, 12, 4, "Gaussian mixture components (EM)", True),
    "fit": _pick("fit", RESTART_FITS, "kmeans.random", "method.init whose best and worst restart are drawn"),
}


# Sweep keys: the map of the Scale x depth page (core.sweeps.sweep.SweepConfig). Two axes, each a numeric experiment
# field or a numeric scheme parameter (sigma_w: the gain of a fan-in-scaled scheme, Var(W) = sigma_w^2 / fan_in),
# with their values, the measure the map shows, and whether the page trains the sweep. A new numeric field joins the sweep by adding its name to
# SWEEP_FIELD_AXES; every numeric scheme parameter is an axis already. Here the keys are checked as text (an axis
# name, a list of numbers); core.sweeps.sweep checks each value against its axis's range.
SWEEP_FIELD_AXES = ("depth", "width", "lr", "momentum", "batch_size", "epochs", "n_samples", "noise", "weight_decay")
SWEEP_SCHEME_AXES = ("sigma_w", *sorted({p.name for i in initializers.INITIALIZERS.values() for p in i.params
                                         if p.choices is None}))
SWEEP_AXES = SWEEP_FIELD_AXES + SWEEP_SCHEME_AXES
SWEEP_METRICS = ("final_test_accuracy", "final_test_loss", "signal_growth", "gradient_ratio")
MAX_AXIS_VALUES = 50


def _axis_values(field: str, raw: Any) -> str:
    """'0.5, 1,2', '0.5 1 2' or '0,5; 1; 2' -> '0.5,1,2': numbers separated by commas or spaces, or by
    semicolons, and then a decimal comma is a decimal point (as a French reader writes them); each is
    checked against its axis by core.sweeps.sweep."""
    allowed = _("numbers in plain digits separated by commas, spaces or semicolons, 1 to {n} of them").format(
        n=MAX_AXIS_VALUES)
    if not isinstance(raw, str):
        _fail(field, raw, allowed)
    if ";" in raw:
        parts = [p.strip().replace(",", ".") for p in raw.strip().strip(";").split(";")]
    else:
        parts = raw.replace(",", " ").split() or [""]
    if not 1 <= len(parts) <= MAX_AXIS_VALUES:
        _fail(field, raw, allowed)
    for part in parts:
        try:
            plain_number(part)
        except ValueError:
            _fail(field, raw, allowed)
    return ",".join(parts)


SWEEP_FIELDS: dict[str, Field] = {
    "sweep_x": _pick("sweep_x", SWEEP_AXES, "sigma_w", "horizontal axis of the map"),
    "sweep_x_values": Field(lambda raw: _axis_values("sweep_x_values", raw), None,
                            "values along the horizontal axis, separated by commas"),
    "sweep_y": _pick("sweep_y", SWEEP_AXES, "depth", "vertical axis of the map"),
    "sweep_y_values": Field(lambda raw: _axis_values("sweep_y_values", raw), None,
                            "values along the vertical axis, separated by commas"),
    # signal growth is measured at initialization: its map is drawn at once, with nothing to train
    "sweep_metric": _pick("sweep_metric", SWEEP_METRICS, "signal_growth", "measure shown on the map"),
    # a sweep trains many models: the page trains it when asked, and a link that asks for it carries sweep=true
    "sweep": _flag("sweep", False, "train the sweep and draw its map"),
}

# Every key a link may carry besides the experiment's: what a page shows (views) and the keys of the pages that
# compute something of their own (restarts, sweeps). They never change the experiment's numbers.
PAGE_KEYS: dict[str, Field] = {**VIEWS, **RESTART_FIELDS, **SWEEP_FIELDS}
assert len(PAGE_KEYS) == len(VIEWS) + len(RESTART_FIELDS) + len(SWEEP_FIELDS), "a key in two tables"
assert not set(PAGE_KEYS) & set(FIELDS), "a page key named like an experiment key"


@dataclass(frozen=True)
class ExperimentConfig:
    dataset: str = FIELDS["dataset"].default
    n_samples: int = FIELDS["n_samples"].default
    noise: float = FIELDS["noise"].default
    test_size: float = FIELDS["test_size"].default
    data_seed: int = FIELDS["data_seed"].default
    features: int = FIELDS["features"].default
    classes: int = FIELDS["classes"].default
    schemes: tuple[str, ...] = FIELDS["schemes"].default
    seeds: int = FIELDS["seeds"].default
    depth: int = FIELDS["depth"].default
    width: tuple[int, ...] = FIELDS["width"].default
    activation: str = FIELDS["activation"].default
    optimizer: str = FIELDS["optimizer"].default
    lr: float = FIELDS["lr"].default
    momentum: float = FIELDS["momentum"].default
    batch_size: int = FIELDS["batch_size"].default
    epochs: int = FIELDS["epochs"].default
    weight_decay: float = FIELDS["weight_decay"].default
    record_epochs: int = FIELDS["record_epochs"].default
    dtype: str = FIELDS["dtype"].default
    bias: str = FIELDS["bias"].default

    def __post_init__(self):
        for name, f in FIELDS.items():
            object.__setattr__(self, name, f.parse(getattr(self, name)))
        _check_cross(self)

    # ---- derived -------------------------------------------------------
    @property
    def widths(self) -> tuple[int, ...]:
        return self.width * self.depth if len(self.width) == 1 else self.width

    @property
    def models(self) -> list[tuple[str, int]]:
        """(scheme label, seed) per stacked model, scheme-major."""
        return [(s, seed) for s in self.schemes for seed in range(self.seeds)]

    @cached_property  # the configuration is frozen; a sweep's cost and order read every task's id many times
    def run_id(self) -> str:
        return hashlib.sha256(self.to_query().encode()).hexdigest()[:10]

    # ---- round trips ---------------------------------------------------
    def to_dict(self) -> dict:
        d = {"v": SCHEMA_VERSION}
        for name in FIELDS:
            value = getattr(self, name)
            d[name] = list(value) if isinstance(value, tuple) else value
        return d

    def to_query(self) -> str:
        pairs = [("v", SCHEMA_VERSION)]
        for name in FIELDS:
            value = getattr(self, name)
            if name == "schemes":
                pairs += [("schemes", s) for s in value]
            elif name == "width":
                pairs.append(("width", ",".join(map(str, value))))
            else:
                pairs.append((name, format_value(value)))
        return urlencode(pairs)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> "ExperimentConfig":
        data = json_object(text, "config")
        # JSON carries values, not query occurrences: a list is one value (width per layer, schemes)
        return _build(data, strict=True, occurrences=False)[0]

    @classmethod
    def from_query(cls, query: str) -> "ExperimentConfig":
        return _build(query_to_dict(query), strict=True)[0]

    @classmethod
    def from_query_lenient(cls, query: str | dict) -> tuple["ExperimentConfig", list[str]]:
        raw = query if isinstance(query, dict) else query_to_dict(query)
        return _build(raw, strict=False)


def json_object(text: str, name: str) -> dict:
    """``text`` parsed as a JSON object; ValueError naming ``name`` if it is not valid JSON or not an object."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise ValueError(_("{name}: not valid JSON ({error} at position {pos})").format(
            name=name, error=e.msg, pos=e.pos)) from None
    if not isinstance(data, dict):
        _fail(name, data, _("a JSON object"))
    return data


def format_value(value) -> str:
    """``value`` as a link writes it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return repr(value)  # shortest string that round-trips exactly
    return str(value)


def query_to_dict(query: str) -> dict[str, list[str]]:
    if not isinstance(query, str):
        _fail("query", query, _("a URL query string"))
    out: dict[str, list[str]] = {}
    for key, value in parse_qsl(query.lstrip("?"), keep_blank_values=True):
        out.setdefault(key, []).append(value)
    return out


class CrossFieldError(ValueError):
    """A rule between fields; ``reset`` lists the fields whose default repairs it, in order of blame."""

    def __init__(self, message: str, reset: tuple[str, ...]):
        super().__init__(message)
        self.reset = reset


def _check_cross(c: ExperimentConfig):
    if len(c.width) not in (1, c.depth):
        raise CrossFieldError(_("width: got {width}; allowed: one number, or exactly depth={depth} numbers").format(
            width=repr(",".join(map(str, c.width))), depth=c.depth), ("width",))
    spec = datasets.get(c.dataset)
    if spec.task != "classification":
        return
    used, _features, n_classes = spec.dims(c.n_samples, c.features, c.classes)  # not "_": that name translates
    if c.dataset == "classification" and c.classes > 2 ** c.features:
        # scikit-learn's make_classification: classes <= 2 ** informative features
        raise CrossFieldError(_("classes: got {classes}; allowed: at most 2**features = {most} with "
                                "dataset=classification and features={features}").format(
            classes=c.classes, most=2 ** c.features, features=c.features), ("classes", "features"))
    n_test = math.ceil(used * c.test_size)
    if min(n_test, used - n_test) < n_classes:
        # a stratified split needs one sample of every class on each side
        need = n_classes / used
        raise CrossFieldError(
            _("test_size: got {test_size}, which leaves {n_test} test and {n_train} training samples of {used} "
              "for {classes} classes; allowed: at least one sample per class on each side (test_size from "
              "{low:.3g} to {high:.3g} here)").format(test_size=repr(c.test_size), n_test=n_test,
                                                      n_train=used - n_test, used=used, classes=n_classes,
                                                      low=need, high=1 - need), ("test_size", "n_samples"))


def _pinned_gain(label: str, activation: str) -> str | None:
    """``label`` with ``gain=1`` written out where version 1 drew it with gain 1 and version 2 derives He's gain
    (the activations PyTorch has no gain for); None where nothing changed."""
    if activations.get(activation).gain_source != "derived":
        return None
    name, params = parse_scheme(label)
    if not initializers.INITIALIZERS[name].gain_from_activation or "gain" in params:
        return None
    return label + (",gain=1" if params else ":gain=1")


def _changed_in_2(c: ExperimentConfig) -> tuple[ExperimentConfig, list[str]]:
    """Version 2 derived He's gain for the activations PyTorch has none for (it was 1 in version 1): a version 1
    link keeps its numbers by naming gain=1. It also counts ELU units as "nearly off" by their slope (version 1
    called a unit dead when z <= 0 on every probe sample): that column cannot be kept, and is said."""
    out = []
    pinned = {label: _pinned_gain(label, c.activation) for label in c.schemes}
    pinned = {label: new for label, new in pinned.items() if new}
    if pinned:
        # he_normal and he_normal:gain=1 were one scheme under version 1: it is kept once
        c = replace(c, schemes=tuple(dict.fromkeys(pinned.get(label, label) for label in c.schemes)))
        out.append(_("He's gain for {activation} is derived since version 2 (version 1 used 1): {schemes} keeps "
                     "this link's numbers").format(activation=c.activation, schemes=", ".join(pinned.values())))
    if c.activation == "elu":
        out.append(_("dead_or_saturated now counts ELU units whose slope is under 5% of its peak on every probe "
                     "sample (version 1: z <= 0 on every probe sample)"))
    return c, out


# Link schema versions still read, each with what changed in the numbers since the one before it: a link made
# under an older version opens under the current one, with a warning when its numbers are not the same.
# Each maps a configuration read under the version before to one that gives the same numbers under this one,
# and says what it changed or could not keep.
CHANGES: dict[int, Callable[[ExperimentConfig], tuple[ExperimentConfig, list[str]]]] = {
    1: lambda c: (c, []), 2: _changed_in_2, 3: lambda c: (c, [])}
# Defaults a version changed, with the value they had before it. A bound widget leaves a key at its default out
# of the URL, so a link made under an older version that has no such key meant the older default: it is read
# with that value (version 3 made the default configuration ReLU at depth 8 with five schemes, and the
# Scale x depth map's default measure signal growth; version 2's were tanh at depth 3 with four schemes, and
# test accuracy).
DEFAULTS_BEFORE: dict[int, dict[str, Any]] = {
    3: {"schemes": ("zeros", "normal:std=1", "xavier_normal", "he_normal"), "activation": "tanh", "depth": 3,
        "sweep_metric": "final_test_accuracy"}}


def link_version(raw: dict) -> int:
    """The schema version a link was made under (its ``v``; none: the current one). An unknown ``v`` reads as
    the current version (``_build`` warns about it)."""
    got = raw.get("v")
    v = (got[-1] if got else None) if isinstance(got, list) else got
    return int(v) if v is not None and str(v) in map(str, CHANGES) else SCHEMA_VERSION


def older_defaults(version: int, keys=None) -> dict[str, Any]:
    """The defaults a link of ``version`` meant where they differ from today's (the oldest value wins), for
    ``keys`` (default: all)."""
    out: dict[str, Any] = {}
    for v in range(SCHEMA_VERSION, version, -1):
        out.update({k: value for k, value in DEFAULTS_BEFORE.get(v, {}).items() if keys is None or k in keys})
    return out


def version_changes(version: int, config: ExperimentConfig) -> tuple[ExperimentConfig, list[str]]:
    """``config`` read under link version ``version``, brought to the current version so that its numbers stay
    what they were where they can; and what changed (empty: nothing)."""
    notes = []
    for v in range(version + 1, SCHEMA_VERSION + 1):
        config, said = CHANGES[v](config)
        notes += said
    return config, notes


def _build(raw: dict, strict: bool, occurrences: bool = True) -> tuple[ExperimentConfig, list[str]]:
    warnings: list[str] = []
    version = SCHEMA_VERSION  # a link without v is read as the current version

    def problem(msg: str, fallback: str = ""):
        if strict:
            raise ValueError(msg)
        warnings.append(msg + fallback)

    values: dict[str, Any] = {}
    for key, got in raw.items():
        if key == "v":
            if occurrences and isinstance(got, list) and len(got) > 1:
                problem(_("{key}: given {n} times; allowed: once").format(key=key, n=len(got)),
                        _("; read as version {version}").format(version=SCHEMA_VERSION))
                continue
            v = (got[-1] if got else None) if isinstance(got, list) else got
            if str(v) not in map(str, CHANGES):
                problem(_("v: got {value}; allowed: {versions} (this link was made by another version)").format(
                    value=repr(v), versions=", ".join(map(str, CHANGES))))
            else:
                version = int(v)
            continue
        if key in FOREIGN_KEYS or key in PAGE_KEYS:  # a page's keys: see parse_page_keys
            continue
        if key not in FIELDS:
            problem(_("{key}: unknown parameter; allowed: {allowed}").format(
                key=key, allowed=", ".join([*FIELDS, *PAGE_KEYS])))
            continue
        field = FIELDS[key]
        if occurrences and isinstance(got, list) and not field.repeatable:
            if len(got) != 1:
                problem(_("{key}: given {n} times; allowed: once").format(key=key, n=len(got)),
                        _("; using the default {value}").format(value=format_default(key)))
                continue
            got = got[0]
        if key == "schemes" and not strict:
            got = _lenient_schemes(got, problem)
            if not got:
                continue
        try:
            values[key] = field.parse(got)
        except ValueError as e:
            problem(str(e), _("; using the default {value}").format(value=format_default(key)))
    for key, value in older_defaults(version, FIELDS).items():
        if key not in raw:
            values[key] = value
    while True:
        try:
            config = ExperimentConfig(**values)
            break
        except CrossFieldError as e:  # defaults satisfy every rule, so this ends
            blamed = [f for f in e.reset if f in values]
            if not blamed:
                raise
            problem(str(e), _("; using the default {key} {value}").format(key=blamed[0],
                                                                          value=format_default(blamed[0])))
            values.pop(blamed[0])
    config, changes = version_changes(version, config)
    if changes:  # not an error: the link opens under the current version, as close to its numbers as it can
        note = _("v: this link was made with version {version} (now {current}): {changes}").format(
            version=version, current=SCHEMA_VERSION, changes=clauses(changes))
        if strict:
            _warnings.warn(note, UserWarning, stacklevel=3)
        else:
            warnings.append(note)
    return config, warnings


def parse_page_keys(raw: dict, strict: bool = False,
                    table: dict[str, Field] | None = None) -> tuple[dict[str, Any], list[str]]:
    """The keys of a query that belong to ``table`` (by default every page's: ``PAGE_KEYS``), in
    ``query_to_dict``'s form or as single values, validated: the valid ones, and a warning naming each bad one
    and the default used (strict: ValueError). The experiment keys are ``_build``'s business."""
    table = PAGE_KEYS if table is None else table
    values, warnings = {}, []
    for key, got in raw.items():
        if key not in table:
            continue
        field = table[key]
        try:
            if isinstance(got, list):
                if len(got) != 1:
                    _fail(key, got, _("once"))
                got = got[0]
            values[key] = field.parse(got)
        except ValueError as e:
            if strict:
                raise
            warnings.append(_("{error}; using the page's default").format(error=e) if field.default is None else
                            _("{error}; using the default {value}").format(error=e, value=format_value(field.default)))
    return values, warnings


def parse_views(raw: dict, strict: bool = False) -> tuple[dict[str, Any], list[str]]:
    return parse_page_keys(raw, strict, VIEWS)


def parse_restart_fields(raw: dict, strict: bool = False) -> tuple[dict[str, Any], list[str]]:
    return parse_page_keys(raw, strict, RESTART_FIELDS)


def parse_sweep_keys(raw: dict, strict: bool = False) -> tuple[dict[str, Any], list[str]]:
    return parse_page_keys(raw, strict, SWEEP_FIELDS)


def _lenient_schemes(got, problem) -> list[str]:
    keep = []
    for entry in ([got] if isinstance(got, str) else got):
        try:
            label = scheme_label(entry)
        except ValueError as e:
            problem(_("{error}; entry dropped").format(error=e))
            continue
        if label in keep:
            problem(_("schemes: {entry} given twice; kept once").format(entry=repr(entry)))
            continue
        if len(keep) == MAX_SCHEMES:
            problem(_("schemes: more than {n} entries; kept the first {n}").format(n=MAX_SCHEMES))
            break
        keep.append(label)
    if not keep:
        problem(_("schemes: no valid entry; using the default {value}").format(value=format_default("schemes")))
    return keep


def format_default(key: str) -> str:
    d = FIELDS[key].default
    return ",".join(map(str, d)) if isinstance(d, tuple) else format_value(d)


def replace(config: ExperimentConfig, **changes) -> ExperimentConfig:
    return dataclasses.replace(config, **changes)
