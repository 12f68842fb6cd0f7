"""Weight-initialization schemes: a registry name -> Initializer; bias schemes: a name -> BiasInit.

Storage convention: a weight matrix is (fan_in, fan_out), so a batch computes
``X @ W``. That is Keras's layout and the transpose of PyTorch's (out, in);
schemes defined on PyTorch's layout (orthogonal, ZerO) are transposed here so
that each *unit* (a column of W) gets what it would get in PyTorch. ``sparse``
is PyTorch's ``sparse_`` applied to our layout: it zeroes ceil(s * fan_in)
incoming weights of every unit, where PyTorch's zeroes ceil(s * fan_out)
outgoing weights of every input. It is not Martens' (2010) sparse init, which
is ``sparse_martens``. LeCun normal is the plain N(0, 1/fan_in), not Keras's
truncated form.

A scheme entry is one sampler function and one line in INITIALIZERS. The
sampler gets a NumPy Generator, the fan-in and fan-out, the gain and the
scheme's own parameters, and returns float64 weights (the trainer casts).
Descriptions are marked for translation (show them with ``_()``); formulas are
LaTeX, whose few words (in ``\\text{...}``) ``formula_in_language`` translates.

Biases start as the run's bias scheme says (``BIASES``: zeros, the default, a
constant, or a Gaussian), except for schemes that bring their own bias
(``torch_default``, as PyTorch's nn.Linear).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
from scipy.special import ndtr, ndtri

from core.nn import activations
from core.i18n import N_, _
from core.numbers import plain_number


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

    def parse(self, scheme: str, raw: str | float | int, kind: str = "scheme"):
        # translated where a page shows it (the visitor's language); English in the CLI and the API
        where = _(_WHERE[kind]).format(scheme=repr(scheme), name=repr(self.name))

        def fail(allowed: str):
            return ValueError(_("{field}: got {raw}; allowed: {allowed}").format(field=where, raw=repr(raw),
                                                                                  allowed=allowed))

        if self.choices is not None:
            if raw not in self.choices:
                raise fail(", ".join(self.choices))
            return raw
        try:
            value = plain_number(raw) if isinstance(raw, str) else float(raw) + 0.0  # -0.0 is 0
        except (TypeError, ValueError, OverflowError):
            raise fail(_("a number written in plain digits, e.g. 0.5 or 1e-3")) from None
        if not math.isfinite(value):
            raise fail(_("a finite number"))
        if self.integer:
            if value != int(value):
                raise fail(_("a whole number"))
            value = int(value)
        bad_lo = self.lo is not None and (value <= self.lo if self.lo_open else value < self.lo)
        bad_hi = self.hi is not None and value > self.hi
        if bad_lo or bad_hi:
            left = "(" if self.lo_open else "["
            raise fail(f"{left}{self.lo}, {self.hi}]")
        return value


# The start of a parameter's error message, by the kind of scheme it belongs to (Param.parse's ``kind``).
_WHERE = {"scheme": N_("scheme {scheme}, parameter {name}"), "bias": N_("bias {scheme}, parameter {name}")}


GAIN = Param("gain", 1.0, 0.0, 100.0, lo_open=True, help=N_("multiplies the weights"))


@dataclass(frozen=True)
class Initializer:
    name: str
    sampler: Callable[..., np.ndarray]  # (rng, fan_in, fan_out, **params) -> W
    formula: str  # LaTeX, for the UI
    description: str  # one line, for the UI
    params: tuple[Param, ...] = ()
    random: bool = True
    # he_* follow PyTorch's kaiming_*(nonlinearity=...): the activation picks
    # the gain (core.nn.activations: PyTorch's, or the g with E[f(g u)^2] = 1,
    # u ~ N(0, 1)). Every other gain defaults to 1 as in PyTorch, so Xavier
    # with ReLU halves the second moment per layer in expectation.
    gain_from_activation: bool = False
    bias: Callable[..., np.ndarray] | None = None  # (rng, fan_in, fan_out) -> b
    data_dependent: bool = False
    # The std its formula promises for the weights, from (fan_in, fan_out, resolved params); None when that is
    # not one number. expected_std reads it; the theory page and the tests compare draws with it.
    std: Callable[[int, int, dict], float] | None = None
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


def _sparse_martens(rng, fan_in, fan_out, k, scale):
    # Martens (2010), section 5: each unit gets exactly k non-zero incoming weights (all of them if fan_in <= k)
    k = min(int(k), fan_in)
    rows = np.argsort(rng.random((fan_in, fan_out)), axis=0)[:k]  # k distinct inputs per unit
    w = np.zeros((fan_in, fan_out))
    w[rows, np.arange(fan_out)] = scale * rng.standard_normal((k, fan_out))
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
    else:  # I_{m x p} (H_p / sqrt p) I_{p x n}: the identities pick H's first m rows and n columns, exactly
        p = 2 ** math.ceil(math.log2(m))
        w = (sylvester_hadamard(p) / math.sqrt(p))[:m, :n].copy()
    return w.T


INITIALIZERS: dict[str, Initializer] = {
    i.name: i
    for i in [
        Initializer("zeros", _zeros, r"W = 0",
                    N_("all weights zero: with tanh or ReLU (f(0) = 0) and zero biases every weight gets exactly "
                       "zero gradient and stays 0, so the network can only learn the class prior, through its "
                       "output bias; with sigmoid the weights move but the units of a layer stay identical"),
                    random=False,
                    std=lambda fi, fo, p: 0.0),
        Initializer("constant", _constant, r"W_{ij} = c",
                    N_("all weights equal: with equal biases (bias zeros or constant) the units of a layer "
                       "compute the same thing and get the same update, so each layer acts as one unit"),
                    (Param("value", 0.1, -10.0, 10.0, help="c"),), random=False,
                    std=lambda fi, fo, p: 0.0),
        Initializer("uniform", _uniform, r"W_{ij} \sim \mathcal{U}(-a, a)",
                    N_("naive uniform with a fixed range, blind to layer width: variance a²/3"),
                    (Param("limit", 1.0, 0.0, 100.0, lo_open=True, help="a"),),
                    std=lambda fi, fo, p: p["limit"] / math.sqrt(3)),
        Initializer("normal", _normal, r"W_{ij} \sim \mathcal{N}(0, \sigma^2)",
                    N_("naive Gaussian with a fixed std, blind to layer width: too small vanishes with depth, "
                       "too large explodes"),
                    (Param("std", 1.0, 0.0, 100.0, lo_open=True, help="sigma"),),
                    std=lambda fi, fo, p: p["std"]),
        Initializer("truncated_normal", _truncated_normal,
                    r"W_{ij} \sim \mathcal{N}(\mu, \sigma^2)\quad \text{cut to}\ [a, b],"
                    r"\quad \operatorname{std}(W) < \sigma",
                    N_("Gaussian cut to an absolute interval [a, b] (PyTorch's trunc_normal_): sigma is the std "
                       "before the cut, so the weights' std is smaller, 0.88 sigma when cut at ±2 sigma (the "
                       "defaults)"),
                    (Param("mean", 0.0, -10.0, 10.0), Param("std", 1.0, 0.0, 100.0, lo_open=True),
                     Param("a", -2.0, -100.0, 100.0), Param("b", 2.0, -100.0, 100.0)),
                    std=lambda fi, fo, p: truncated_normal_std(p["mean"], p["std"], p["a"], p["b"])),
        Initializer("xavier_uniform", _xavier_uniform,
                    r"W_{ij} \sim \mathcal{U}(-a, a),\quad a = g\sqrt{\tfrac{6}{n_{in}+n_{out}}}",
                    N_("Glorot & Bengio (2010): Var(W) = 2/(n_in + n_out), a compromise between the forward "
                       "condition n_in Var(W) = 1 and the backward condition n_out Var(W) = 1. It does not keep "
                       "the variance with tanh: the activations' std still falls slowly, by a factor 0.93 to "
                       "0.99 per layer over ten layers of equal width"),
                    (GAIN,),
                    std=lambda fi, fo, p: p["gain"] * math.sqrt(2.0 / (fi + fo))),
        Initializer("xavier_normal", _xavier_normal,
                    r"W_{ij} \sim \mathcal{N}\!\left(0,\ g^2\tfrac{2}{n_{in}+n_{out}}\right)",
                    N_("Glorot & Bengio (2010), Gaussian form of the same compromise between the forward and "
                       "backward conditions: Var(W) = 2/(n_in + n_out)"), (GAIN,),
                    std=lambda fi, fo, p: p["gain"] * math.sqrt(2.0 / (fi + fo))),
        Initializer("he_uniform", _he_uniform,
                    r"W_{ij} \sim \mathcal{U}(-a, a),\quad a = g\sqrt{\tfrac{3}{n}},"
                    r"\quad n = n_{in}\ \text{or}\ n_{out}\ \text{(mode)}",
                    N_("He et al. (2015), uniform form of he_normal, with the same variance and gain: Var(W) = "
                       "g²/n_in, or g²/n_out with mode=fan_out (their eq. 10 and 14)"),
                    (GAIN, Param("mode", "fan_in", choices=("fan_in", "fan_out"))),
                    gain_from_activation=True,
                    std=lambda fi, fo, p: p["gain"] / math.sqrt(_fan(fi, fo, p["mode"]))),
        Initializer("he_normal", _he_normal,
                    r"W_{ij} \sim \mathcal{N}\!\left(0,\ \tfrac{g^2}{n}\right),"
                    r"\quad n = n_{in}\ \text{or}\ n_{out}\ \text{(mode)}",
                    N_("He et al. (2015), Gaussian form: Var(W) = g²/n_in; mode=fan_out, g²/n_out, keeps the "
                       "backward second moment instead (eq. 14). g comes from the activation. With ReLU's √2 and "
                       "leaky ReLU's gain it keeps the forward second moment (eq. 10), in expectation over the draw; "
                       "for elu, gelu and softplus, which PyTorch gives no gain, g is derived so that it would: "
                       "E[f(g·u)²] = 1 for u ~ N(0, 1). For gelu that balance is unstable: a second moment 10% off "
                       "moves further off at every layer (by layer 30, below 0.2 or above 2 times the balance). "
                       "PyTorch's gains for tanh, sigmoid and selu do not keep it: with tanh's 5/3 it settles near 1.2 "
                       "(with 1 it would fade to 0), sigmoid's 1 is no correction (it settles near 0.26), selu's 3/4 "
                       "shrinks it (lecun_normal is SELU's init)"),
                    (GAIN, Param("mode", "fan_in", choices=("fan_in", "fan_out"))),
                    gain_from_activation=True,
                    std=lambda fi, fo, p: p["gain"] / math.sqrt(_fan(fi, fo, p["mode"]))),
        Initializer("lecun_uniform", _lecun_uniform,
                    r"W_{ij} \sim \mathcal{U}\!\left(-\sqrt{\tfrac{3}{n_{in}}},\ \sqrt{\tfrac{3}{n_{in}}}\right)",
                    N_("LeCun: Var(W) = 1/n_in, uniform form"),
                    std=lambda fi, fo, p: math.sqrt(1.0 / fi)),
        Initializer("lecun_normal", _lecun_normal, r"W_{ij} \sim \mathcal{N}\!\left(0,\ \tfrac{1}{n_{in}}\right)",
                    N_("LeCun: Var(W) = 1/n_in; with SELU the network self-normalizes"),
                    std=lambda fi, fo, p: math.sqrt(1.0 / fi)),
        Initializer("orthogonal", _orthogonal,
                    r"W = g\,Q\,\mathrm{diag}(\mathrm{sign}(\mathrm{diag}\,R)),\quad QR = A,\ A_{ij} \sim \mathcal{N}(0,1)",
                    N_("random orthogonal matrix (uniformly distributed thanks to the sign correction): a layer "
                       "that does not narrow (n_out ≥ n_in) keeps the norm of every input exactly, times g; a "
                       "narrowing layer shrinks it"), (GAIN,),
                    std=lambda fi, fo, p: p["gain"] / math.sqrt(max(fi, fo))),
        Initializer("identity", _identity, r"W = g\,I_{n_{in} \times n_{out}}",
                    N_("ones on the diagonal: each unit copies one input. A layer wider than its input gets units "
                       "with all-zero incoming weights: with f(0) = 0 and identity layers after them, they get "
                       "exactly zero gradient and never move; a narrower layer drops inputs"),
                    (GAIN,), random=False),
        Initializer("sparse", _sparse,
                    r"W_{ij} \sim \mathcal{N}(0, \sigma^2),\quad \lceil s\,n_{in} \rceil\ \text{zeros per unit}",
                    N_("Gaussian with a share s of each unit's incoming weights set to 0 (PyTorch's sparse_ on "
                       "this (in, out) layout; on its own (out, in) layout PyTorch zeroes a share of each input's "
                       "outgoing weights). Not Martens' sparse init: that is sparse_martens"),
                    (Param("sparsity", 0.1, 0.0, 1.0), Param("std", 0.01, 0.0, 100.0, lo_open=True)),
                    std=lambda fi, fo, p: p["std"] * math.sqrt(1 - math.ceil(p["sparsity"] * fi) / fi)),
        Initializer("sparse_martens", _sparse_martens,
                    r"W_{ij} \sim \mathcal{N}(0, s^2)\quad \text{for}\ k\ \text{random inputs}\ i"
                    r"\quad \text{of each unit}\ j,\ \text{else}\ 0",
                    N_("Martens (2010), section 5: each unit gets exactly k non-zero incoming weights (15 in the "
                       "paper) from N(0, s²) (s = 1 in the paper), the others 0; all of them when n_in ≤ k. "
                       "Martens also starts the biases at 0 (bias=zeros)"),
                    (Param("k", 15, 1, 1024, integer=True, help=N_("non-zero incoming weights per unit")),
                     Param("scale", 1.0, 0.0, 100.0, lo_open=True, help="s")),
                    std=lambda fi, fo, p: p["scale"] * math.sqrt(min(p["k"], fi) / fi)),
        Initializer("torch_default", _torch_default,
                    r"W_{ij}, b_j \sim \mathcal{U}\!\left(-\tfrac{1}{\sqrt{n_{in}}},\ \tfrac{1}{\sqrt{n_{in}}}\right)",
                    N_("PyTorch nn.Linear's default (kaiming_uniform with a = sqrt 5): weights and biases "
                       "U(±1/sqrt n_in), both of variance 1/(3 n_in); its own bias replaces the run's bias "
                       "setting"),
                    bias=_torch_default_bias,
                    std=lambda fi, fo, p: 1.0 / math.sqrt(3.0 * fi)),
        Initializer("glorot_standard", _torch_default,
                    r"W_{ij} \sim \mathcal{U}\!\left(-\tfrac{1}{\sqrt{n_{in}}},\ \tfrac{1}{\sqrt{n_{in}}}\right)",
                    N_("the 'standard' init Glorot & Bengio criticise: variance 1/(3 n_in), so each tanh layer "
                       "passes on at most a third of the variance"),
                    std=lambda fi, fo, p: 1.0 / math.sqrt(3.0 * fi)),
        Initializer("lsuv", _orthogonal,
                    r"W_l \leftarrow W_l \big/ \sqrt{\mathrm{Var}(h_{l-1} W_l + b_l)}\quad \text{until}\ "
                    r"|\mathrm{Var} - 1| < \mathrm{tol};\quad h_0 = X_{\text{batch}},\quad h_l = f(h_{l-1} W_l + b_l)",
                    N_("LSUV (Mishkin & Matas 2016): orthogonal, then each layer in turn divided by the std of "
                       "its output on a batch of training samples (the first 512), fed through the layers "
                       "already scaled, until that variance is within tol of 1 or max_iter rescalings"),
                    (Param("tol", 0.1, 0.0, 1.0, lo_open=True),
                     Param("max_iter", 10, 1, 100, integer=True)),
                    data_dependent=True),
        Initializer("zero_hadamard", _zero_hadamard,
                    r"W = I \ (n_{out} \le n_{in}),\quad W = I_{n_{out}\times p}\tfrac{H_p}{\sqrt p} I_{p \times n_{in}}",
                    N_("ZerO (Zhao et al. 2022): deterministic. A layer no wider than its input gets the identity "
                       "(each unit reads one input); a widening layer gets the first n_in columns of a Hadamard "
                       "matrix, whose rows take at most 2^ceil(log2 n_in) distinct values: from 2 inputs, 2 "
                       "distinct units however wide the layer, and identity layers pass the copies on. Training "
                       "separates them only partly (4 groups after 100 epochs on moons, 32 units per layer)"),
                    random=False),
    ]
}


@dataclass(frozen=True)
class BiasInit:
    """How the biases of every layer start (the run's ``bias`` key), unless the weight scheme brings its own."""
    name: str
    sampler: Callable[..., np.ndarray]  # (rng, fan_out, **params) -> b
    formula: str  # LaTeX
    description: str  # marked for translation
    mean: Callable[..., float]  # (**params) -> E[b]
    variance: Callable[..., float]  # (**params) -> Var(b)
    params: tuple[Param, ...] = ()
    defaults: dict = field(init=False, default_factory=dict)

    def __post_init__(self):
        object.__setattr__(self, "defaults", {p.name: p.default for p in self.params})


BIASES: dict[str, BiasInit] = {
    b.name: b
    for b in [
        BiasInit("zeros", lambda rng, n: np.zeros(n), r"b = 0", N_("every bias starts at 0"),
                 lambda: 0.0, lambda: 0.0),
        BiasInit("constant", lambda rng, n, value: np.full(n, float(value)), r"b_j = c",
                 N_("every bias starts at c: each pre-activation is shifted by c"),
                 lambda value: value, lambda value: 0.0, (Param("value", 0.1, -10.0, 10.0, help="c"),)),
        BiasInit("normal", lambda rng, n, std: std * rng.standard_normal(n), r"b_j \sim \mathcal{N}(0, s^2)",
                 N_("biases drawn from N(0, s²), from a random stream of their own: Var(b) = s² is the second "
                    "axis of the order-to-chaos picture"),
                 lambda std: 0.0, lambda std: std * std, (Param("std", 0.1, 0.0, 10.0, lo_open=True, help="s"),)),
    ]
}


def resolve_bias_params(name: str, **params) -> dict:
    """Validated parameters of a bias scheme, defaults filled in."""
    try:
        init = BIASES[name]
    except KeyError:
        raise ValueError(_("bias: unknown value {value}; allowed: {allowed}").format(
            value=repr(name), allowed=", ".join(BIASES))) from None
    known = {p.name: p for p in init.params}
    unknown = set(params) - set(known)
    if unknown:
        allowed = ", ".join(known) or _("none")
        raise ValueError(_("bias {scheme}: unknown parameter {name}; allowed: {allowed}").format(
            scheme=repr(name), name=repr(sorted(unknown)[0]), allowed=allowed))
    return {**init.defaults, **{p: known[p].parse(name, v, kind="bias") for p, v in params.items()}}


def sample_bias_init(name: str, fan_out: int, *, rng: np.random.Generator, **params) -> np.ndarray:
    """One layer's biases (fan_out,) from the bias scheme ``name``; zeros draw nothing from ``rng``."""
    return BIASES[name].sampler(rng, fan_out, **resolve_bias_params(name, **params))


def bias_formula(name: str, **params) -> str:
    """LaTeX of a bias scheme with its parameters filled in, for the overview: 'b_j = 0.5'."""
    p = resolve_bias_params(name, **params)
    if name == "constant":
        return rf"b_j = {p['value']:g}"
    if name == "normal":
        return rf"b_j \sim \mathcal{{N}}(0,\ {p['std']:g}^2)"
    return BIASES[name].formula


# The words the formulas hold in \text{...}, marked for the message catalogs (a test checks that every formula's
# words are here).
FORMULA_WORDS = (N_("or"), N_("(mode)"), N_("cut to"), N_("zeros per unit"), N_("for"), N_("random inputs"),
                 N_("of each unit"), N_("else"), N_("until"), N_("batch"))
_TEXT = re.compile(r"\\text\{([^{}]*)\}")


def formula_words(formula: str) -> list[str]:
    return _TEXT.findall(formula)


def formula_in_language(formula: str) -> str:
    r"""``formula`` with the words of its ``\text{...}`` groups in the visitor's language."""
    return _TEXT.sub(lambda m: r"\text{" + _(m.group(1)) + "}", formula)


def get(name: str) -> Initializer:
    try:
        return INITIALIZERS[name]
    except KeyError:
        raise ValueError(_("scheme: unknown value {value}; allowed: {allowed}").format(
            value=repr(name), allowed=", ".join(INITIALIZERS))) from None


def resolve_params(name: str, activation: str | None = None, **params) -> dict:
    """Validated parameters of a scheme, defaults filled in, gain resolved."""
    init = get(name)
    known = {p.name: p for p in init.params}
    unknown = set(params) - set(known)
    if unknown:
        allowed = ", ".join(known) or _("none")
        raise ValueError(_("scheme {scheme}: unknown parameter {name}; allowed: {allowed}").format(
            scheme=repr(name), name=repr(sorted(unknown)[0]), allowed=allowed))
    out = {p: known[p].parse(name, v) for p, v in params.items()}
    resolved = {**init.defaults, **out}
    if "gain" in known and "gain" not in params and init.gain_from_activation and activation:
        resolved["gain"] = activations.get(activation).gain
    if name == "truncated_normal" and not resolved["a"] < resolved["b"]:
        raise ValueError(_("scheme {scheme}, parameters 'a' and 'b': got a={a}, b={b}; allowed: a below b").format(
            scheme=repr(name), a=resolved["a"], b=resolved["b"]))
    return resolved


def sample(name: str, fan_in: int, fan_out: int, *, rng: np.random.Generator,
           activation: str | None = None, **params) -> np.ndarray:
    """One (fan_in, fan_out) float64 weight matrix drawn from the named scheme.

    ``activation`` picks the gain for the schemes that take it from the
    nonlinearity (he_*); ``gain=`` overrides it. LSUV returns its orthogonal
    start: the data-dependent rescaling needs a batch, see core.nn.network.lsuv.
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
    """The std a scheme's formula promises for its weights (None when not a single number): its entry's ``std``."""
    p = resolve_params(name, activation, **params)
    std = get(name).std
    return std(fan_in, fan_out, p) if std is not None else None
