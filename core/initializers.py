"""Weight-initialization schemes: a registry name -> Initializer.

Storage convention: a weight matrix is (fan_in, fan_out), so a batch computes
``X @ W``. That is Keras's layout and the transpose of PyTorch's (out, in);
schemes defined on PyTorch's layout (orthogonal, ZerO) are transposed here so
that each *unit* (a column of W) gets what it would get in PyTorch. ``sparse``
is the exception: it follows Martens (2010), zeroing ceil(s * fan_in) incoming
weights of every unit, where PyTorch's sparse_ zeroes ceil(s * fan_out) outgoing
weights of every input. LeCun normal is the plain N(0, 1/fan_in), not Keras's
truncated form.

A scheme entry is one sampler function and one line in INITIALIZERS. The
sampler gets a NumPy Generator, the fan-in and fan-out, the gain and the
scheme's own parameters, and returns float64 weights (the trainer casts).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import ndtr, ndtri

from . import activations
from .numbers import plain_number


@dataclass(frozen=True)
class Param:
    name: str
    default: float | int | str
    lo: float | None = None  # inclusive bounds for numbers
    hi: float | None = None
    choices: tuple[str, ...] | None = None
    integer: bool = False
    lo_open: bool = False  # True: lo itself is not allowed
    help: str = ""

    def parse(self, scheme: str, raw: str | float | int):
        where = f"scheme {scheme!r}, parameter {self.name!r}"
        if self.choices is not None:
            if raw not in self.choices:
                raise ValueError(f"{where}: got {raw!r}; allowed: {', '.join(self.choices)}")
            return raw
        try:
            value = plain_number(raw) if isinstance(raw, str) else float(raw)
        except (TypeError, ValueError, OverflowError):
            raise ValueError(f"{where}: got {raw!r}; allowed: a number written in plain digits, e.g. 0.5 or 1e-3") from None
        if not math.isfinite(value):
            raise ValueError(f"{where}: got {raw!r}; allowed: a finite number")
        if self.integer:
            if value != int(value):
                raise ValueError(f"{where}: got {raw!r}; allowed: a whole number")
            value = int(value)
        bad_lo = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        bad_hi = self.hi is not None and value > self.hi
        if bad_lo or bad_hi:
            left = "(" if self.lo_open else "["
            raise ValueError(f"{where}: got {raw!r}; allowed: {left}{self.lo}, {self.hi}]")
        return value


GAIN = Param("gain", 1.0, 0.0, 100.0, lo_open=True, help="multiplies the weights")


@dataclass(frozen=True)
class Initializer:
    name: str
    sampler: Callable[..., np.ndarray]  # (rng, fan_in, fan_out, **params) -> W
    formula: str  # LaTeX, for the UI
    description: str  # one line, for the UI
    params: tuple[Param, ...] = ()
    random: bool = True
    # he_* follow PyTorch's kaiming_*(nonlinearity=...): the activation picks
    # the gain. Every other gain defaults to 1 as in PyTorch, so Xavier with
    # ReLU halves the second moment per layer, as REFERENCE.md says it must.
    gain_from_activation: bool = False
    bias: Callable[..., np.ndarray] | None = None  # (rng, fan_in, fan_out) -> b
    data_dependent: bool = False
    defaults: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "defaults", {p.name: p.default for p in self.params})


def _fan(fan_in, fan_out, mode):
    return fan_in if mode == "fan_in" else fan_out


def _zeros(rng, fan_in, fan_out):
    return np.zeros((fan_in, fan_out))


def _constant(rng, fan_in, fan_out, value):
    return np.full((fan_in, fan_out), float(value))


def _uniform(rng, fan_in, fan_out, limit):
    return rng.uniform(-limit, limit, size=(fan_in, fan_out))


def _normal(rng, fan_in, fan_out, std):
    return std * rng.standard_normal((fan_in, fan_out))


def truncated_normal_std(mean, std, a, b):
    """Standard deviation of N(mean, std^2) cut to the absolute interval [a, b]."""
    alpha, beta = (a - mean) / std, (b - mean) / std
    z = ndtr(beta) - ndtr(alpha)
    pdf = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2 * math.pi)  # noqa: E731
    var = 1 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - ((pdf(alpha) - pdf(beta)) / z) ** 2
    return std * math.sqrt(var)


def _truncated_normal(rng, fan_in, fan_out, mean, std, a, b):
    # Inverse-CDF sampling, as PyTorch's trunc_normal_ (a, b absolute).
    lo, hi = ndtr((a - mean) / std), ndtr((b - mean) / std)
    u = rng.uniform(lo, hi, size=(fan_in, fan_out))
    return np.clip(mean + std * ndtri(u), a, b)


def _xavier_uniform(rng, fan_in, fan_out, gain):
    bound = gain * math.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _xavier_normal(rng, fan_in, fan_out, gain):
    return gain * math.sqrt(2.0 / (fan_in + fan_out)) * rng.standard_normal((fan_in, fan_out))


def _he_uniform(rng, fan_in, fan_out, gain, mode):
    bound = math.sqrt(3.0) * gain / math.sqrt(_fan(fan_in, fan_out, mode))
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _he_normal(rng, fan_in, fan_out, gain, mode):
    return gain / math.sqrt(_fan(fan_in, fan_out, mode)) * rng.standard_normal((fan_in, fan_out))


def _lecun_uniform(rng, fan_in, fan_out):
    bound = math.sqrt(3.0 / fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _lecun_normal(rng, fan_in, fan_out):
    return math.sqrt(1.0 / fan_in) * rng.standard_normal((fan_in, fan_out))


def _orthogonal(rng, fan_in, fan_out, gain):
    # PyTorch's orthogonal_ on its (out, in) layout, then transposed to ours.
    rows, cols = fan_out, fan_in
    flat = rng.standard_normal((rows, cols))
    if rows < cols:
        flat = flat.T
    q, r = np.linalg.qr(flat)
    q *= np.sign(np.diag(r))  # without this sign fix Q is not Haar-distributed
    if rows < cols:
        q = q.T
    return gain * q.T


def _identity(rng, fan_in, fan_out, gain):
    return gain * np.eye(fan_in, fan_out)


def _sparse(rng, fan_in, fan_out, sparsity, std):
    # Each unit (column) keeps all but ceil(s * fan_in) of its incoming weights.
    w = std * rng.standard_normal((fan_in, fan_out))
    n_zero = math.ceil(sparsity * fan_in)
    if n_zero:
        rows = np.argsort(rng.random((fan_in, fan_out)), axis=0)[:n_zero]
        w[rows, np.arange(fan_out)] = 0.0
    return w


def _torch_default(rng, fan_in, fan_out):
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=(fan_in, fan_out))


def _torch_default_bias(rng, fan_in, fan_out):
    bound = 1.0 / math.sqrt(fan_in)
    return rng.uniform(-bound, bound, size=fan_out)


def sylvester_hadamard(p: int) -> np.ndarray:
    h = np.ones((1, 1))
    while h.shape[0] < p:
        h = np.block([[h, h], [h, -h]])
    return h


def _zero_hadamard(rng, fan_in, fan_out):
    m, n = fan_out, fan_in  # ZerO is stated for W of shape (out, in)
    if m <= n:
        w = np.eye(m, n)
    else:
        p = 2 ** math.ceil(math.log2(m))
        w = np.eye(m, p) @ (sylvester_hadamard(p) / math.sqrt(p)) @ np.eye(p, n)
    return w.T


INITIALIZERS: dict[str, Initializer] = {
    i.name: i
    for i in [
        Initializer("zeros", _zeros, r"W = 0", "all weights zero: every hidden unit is the same unit",
                    random=False),
        Initializer("constant", _constant, r"W_{ij} = c",
                    "all weights equal: units stay identical forever (symmetry is never broken)",
                    (Param("value", 0.1, -10.0, 10.0, help="c"),), random=False),
        Initializer("uniform", _uniform, r"W_{ij} \sim \mathcal{U}(-a, a)",
                    "naive uniform with a fixed range, blind to layer width",
                    (Param("limit", 1.0, 0.0, 100.0, lo_open=True, help="a"),)),
        Initializer("normal", _normal, r"W_{ij} \sim \mathcal{N}(0, \sigma^2)",
                    "naive Gaussian with a fixed std: too small vanishes, too large explodes",
                    (Param("std", 1.0, 0.0, 100.0, lo_open=True, help="sigma"),)),
        Initializer("truncated_normal", _truncated_normal,
                    r"W_{ij} \sim \mathcal{N}(\mu, \sigma^2)\ \text{cut to}\ [a, b]",
                    "Gaussian cut to an absolute interval (PyTorch trunc_normal_)",
                    (Param("mean", 0.0, -10.0, 10.0), Param("std", 1.0, 0.0, 100.0, lo_open=True),
                     Param("a", -2.0, -100.0, 100.0), Param("b", 2.0, -100.0, 100.0))),
        Initializer("xavier_uniform", _xavier_uniform,
                    r"W_{ij} \sim \mathcal{U}\!\left(-g\sqrt{\tfrac{6}{n_{in}+n_{out}}},\ g\sqrt{\tfrac{6}{n_{in}+n_{out}}}\right)",
                    "Glorot & Bengio: keeps variance of activations and gradients for linear/tanh",
                    (GAIN,)),
        Initializer("xavier_normal", _xavier_normal,
                    r"W_{ij} \sim \mathcal{N}\!\left(0,\ g^2\tfrac{2}{n_{in}+n_{out}}\right)",
                    "Glorot & Bengio, Gaussian form: variance 2/(fan_in+fan_out)", (GAIN,)),
        Initializer("he_uniform", _he_uniform,
                    r"W_{ij} \sim \mathcal{U}\!\left(-g\sqrt{\tfrac{3}{n}},\ g\sqrt{\tfrac{3}{n}}\right)",
                    "He/Kaiming: compensates ReLU halving the signal (gain from the activation)",
                    (GAIN, Param("mode", "fan_in", choices=("fan_in", "fan_out"))),
                    gain_from_activation=True),
        Initializer("he_normal", _he_normal, r"W_{ij} \sim \mathcal{N}\!\left(0,\ \tfrac{g^2}{n}\right)",
                    "He/Kaiming, Gaussian form: variance 2/fan_in for ReLU keeps depth stable",
                    (GAIN, Param("mode", "fan_in", choices=("fan_in", "fan_out"))),
                    gain_from_activation=True),
        Initializer("lecun_uniform", _lecun_uniform,
                    r"W_{ij} \sim \mathcal{U}\!\left(-\sqrt{\tfrac{3}{n_{in}}},\ \sqrt{\tfrac{3}{n_{in}}}\right)",
                    "LeCun: variance 1/fan_in, uniform form"),
        Initializer("lecun_normal", _lecun_normal, r"W_{ij} \sim \mathcal{N}\!\left(0,\ \tfrac{1}{n_{in}}\right)",
                    "LeCun: variance 1/fan_in; with SELU the network self-normalizes"),
        Initializer("orthogonal", _orthogonal, r"W = g\,Q,\quad QR = A,\ A_{ij} \sim \mathcal{N}(0,1)",
                    "random orthogonal matrix: preserves norms exactly through linear layers", (GAIN,)),
        Initializer("identity", _identity, r"W = g\,I", "identity (ones on the diagonal): passes the input through",
                    (GAIN,), random=False),
        Initializer("sparse", _sparse,
                    r"W_{ij} \sim \mathcal{N}(0, \sigma^2),\ \lceil s\,n_{in} \rceil\ \text{zeros per unit}",
                    "Martens' sparse init: each unit keeps only some incoming weights",
                    (Param("sparsity", 0.1, 0.0, 1.0), Param("std", 0.01, 0.0, 100.0, lo_open=True))),
        Initializer("torch_default", _torch_default,
                    r"W_{ij}, b_j \sim \mathcal{U}\!\left(-\tfrac{1}{\sqrt{n_{in}}},\ \tfrac{1}{\sqrt{n_{in}}}\right)",
                    "PyTorch nn.Linear's default (kaiming_uniform, a = sqrt 5), bias included",
                    bias=_torch_default_bias),
        Initializer("glorot_standard", _torch_default,
                    r"W_{ij} \sim \mathcal{U}\!\left(-\tfrac{1}{\sqrt{n_{in}}},\ \tfrac{1}{\sqrt{n_{in}}}\right)",
                    "the 'standard' init Glorot & Bengio criticise: variance 1/(3 fan_in) shrinks with depth"),
        Initializer("lsuv", _orthogonal,
                    r"W \leftarrow W / \sqrt{\mathrm{Var}(XW)}\ \text{until}\ |\mathrm{Var} - 1| < \mathrm{tol}",
                    "LSUV: orthogonal, then each layer rescaled on a data batch to unit output variance",
                    (Param("tol", 0.1, 0.0, 1.0, lo_open=True),
                     Param("max_iter", 10, 1, 100, integer=True)),
                    data_dependent=True),
        Initializer("zero_hadamard", _zero_hadamard,
                    r"W = I \ (n_{out} \le n_{in}),\quad W = I_{n_{out}\times p}\tfrac{H_p}{\sqrt p} I_{p \times n_{in}}",
                    "ZerO: deterministic identity / Hadamard init, no randomness at all", random=False),
    ]
}


def get(name: str) -> Initializer:
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(f"scheme: unknown value {name!r}; allowed: {', '.join(INITIALIZERS)}") from None


def resolve_params(name: str, activation: str | None = None, **params) -> dict:
    """Validated parameters of a scheme, defaults filled in, gain resolved."""
    init = get(name)
    known = {p.name: p for p in init.params}
    unknown = set(params) - set(known)
    if unknown:
        allowed = ", ".join(known) or "none"
        raise ValueError(f"scheme {name!r}: unknown parameter {sorted(unknown)[0]!r}; allowed: {allowed}")
    out = {p: known[p].parse(name, v) for p, v in params.items()}
    resolved = {**init.defaults, **out}
    if "gain" in known and "gain" not in params and init.gain_from_activation and activation:
        resolved["gain"] = activations.get(activation).gain
    if name == "truncated_normal" and not resolved["a"] < resolved["b"]:
        raise ValueError(f"scheme {name!r}, parameters 'a' and 'b': got a={resolved['a']}, b={resolved['b']}; "
                         "allowed: a below b")
    return resolved


def sample(name: str, fan_in: int, fan_out: int, *, rng: np.random.Generator,
           activation: str | None = None, **params) -> np.ndarray:
    """One (fan_in, fan_out) float64 weight matrix drawn from the named scheme.

    ``activation`` picks the gain for the schemes that take it from the
    nonlinearity (he_*); ``gain=`` overrides it. LSUV returns its orthogonal
    start: the data-dependent rescaling needs a batch, see core.model.lsuv.
    """
    if fan_in < 1 or fan_out < 1:
        raise ValueError(f"shape: got ({fan_in}, {fan_out}); allowed: positive fan_in and fan_out")
    resolved = resolve_params(name, activation, **params)
    init = INITIALIZERS[name]
    kwargs = {"gain": 1.0} if init.data_dependent else resolved
    return init.sampler(rng, fan_in, fan_out, **kwargs)


def sample_bias(name: str, fan_in: int, fan_out: int, *, rng: np.random.Generator) -> np.ndarray:
    init = get(name)
    return init.bias(rng, fan_in, fan_out) if init.bias else np.zeros(fan_out)


def expected_std(name: str, fan_in: int, fan_out: int, activation: str | None = None, **params) -> float | None:
    """The std a scheme's formula promises for its weights (None when not a single number)."""
    p = resolve_params(name, activation, **params)
    g = p.get("gain", 1.0)
    n = {"fan_in": fan_in, "fan_out": fan_out}.get(p.get("mode", "fan_in"))
    table = {
        "zeros": 0.0,
        "constant": 0.0,
        "uniform": p.get("limit", 0) / math.sqrt(3),
        "normal": p.get("std"),
        "xavier_uniform": g * math.sqrt(2.0 / (fan_in + fan_out)),
        "xavier_normal": g * math.sqrt(2.0 / (fan_in + fan_out)),
        "he_uniform": g / math.sqrt(n),
        "he_normal": g / math.sqrt(n),
        "lecun_uniform": math.sqrt(1.0 / fan_in),
        "lecun_normal": math.sqrt(1.0 / fan_in),
        "torch_default": 1.0 / math.sqrt(3.0 * fan_in),
        "glorot_standard": 1.0 / math.sqrt(3.0 * fan_in),
        "orthogonal": g / math.sqrt(max(fan_in, fan_out)),
    }
    if name == "truncated_normal":
        return truncated_normal_std(p["mean"], p["std"], p["a"], p["b"])
    if name == "sparse":
        keep = 1 - math.ceil(p["sparsity"] * fan_in) / fan_in
        return p["std"] * math.sqrt(keep)
    return table.get(name)
