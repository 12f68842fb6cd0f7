"""An activation's cost and a weight scheme's draw are derived from the registry entry itself (issue 25): the
NumPy primitives its functions call (core.runtime.trace), each priced by one table the calibration measures.
A new entry needs no table of its own, and a primitive the table lacks is priced as the costliest."""
from __future__ import annotations

import numpy as np
import pytest

from core import config as config_module
from core.config import ExperimentConfig
from core.nn import activations, initializers
from core.nn.activations import Activation
from core.runtime import budget
from core.runtime.trace import trace

CALIBRATE = "python bench/adversarial.py --calibrate {part}, then paste its {table} into core/runtime/budget.py"


def primitives(calls):
    return [c.primitive for c in calls]


def test_relu_s_calls_are_counted_as_its_code_makes_them():
    # forward: np.maximum(z, zeros, out=out); derivative: np.greater(z, 0, out=out)
    forward, derivative = budget.activation_calls(activations.get("relu"), "float32")
    assert primitives(forward) == ["maximum"] and primitives(derivative) == ["greater"]
    assert not any(c.fresh for c in forward + derivative)  # both write into the caller's buffer
    assert budget.activation_call_counts("relu") == (1, 1)


def test_gelu_s_calls_are_counted_as_its_code_makes_them():
    # forward: out[...] = 0.5 * z * (1.0 + erf(z * c)): 0.5 * z, z * c, erf, 1 + ..., the product, the copy
    # derivative: cdf = 0.5 * (1.0 + erf(z * c)) (4 calls); out[...] = cdf + z * c * exp(-0.5 * z * z)
    # (z * c, -0.5 * z, ... * z, exp, the product, the sum: 6) and the copy
    forward, derivative = budget.activation_calls(activations.get("gelu"), "float64")
    assert primitives(forward) == ["multiply", "multiply", "erf", "add", "multiply", "copy"]
    assert primitives(derivative) == ["multiply", "erf", "add", "multiply", "multiply", "multiply", "multiply",
                                      "exp", "multiply", "add", "copy"]
    assert budget.activation_call_counts("gelu") == (6, 11)
    # every call but the copy allocates its result
    assert [c.fresh for c in forward] == [True] * 5 + [False]


def test_an_activation_s_cost_is_the_sum_of_its_primitives():
    table = budget.PRIMITIVE_NS["float32"]
    forward, derivative = budget.activation_ns("float32", "tanh")  # np.tanh(z, out=out); a * a, 1 - a in out
    assert forward == pytest.approx(table["tanh"])
    assert derivative == pytest.approx(table["multiply"] + table["subtract"])
    forward, _ = budget.activation_ns("float32", "sigmoid")  # expit(z, out=out)
    assert forward == pytest.approx(table["expit"])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", list(activations.ACTIVATIONS))
def test_every_activation_is_priced_from_primitives_the_calibration_timed(name, dtype):
    for calls in budget.activation_calls(activations.get(name), dtype):
        unknown = set(primitives(calls)) - set(budget.PRIMITIVE_NS[dtype])
        assert not unknown, (f"activation {name!r} calls {sorted(unknown)}, which PRIMITIVE_NS[{dtype!r}] does not "
                             "price (it is charged as the costliest): run "
                             + CALIBRATE.format(part="products", table="PRIMITIVE_NS"))


@pytest.mark.parametrize("name", list(initializers.INITIALIZERS))
def test_every_scheme_s_draw_is_priced_from_what_the_calibration_timed(name):
    draws, calls = budget.draw_calls(name, initializers.INITIALIZERS[name].sampler, ())
    unknown = set(primitives(draws)) - set(budget.DRAW_NS)
    unknown |= set(primitives(calls)) - set(budget.PRIMITIVE_NS["float64"]) - set(budget.PRICED_APART)
    assert not unknown, (f"scheme {name!r} calls {sorted(unknown)}, which DRAW_NS or PRIMITIVE_NS['float64'] does "
                         "not price (it is charged as the costliest): run "
                         + CALIBRATE.format(part="init and products", table="DRAW_NS and PRIMITIVE_NS"))


def test_the_costly_draws_cost_more_and_the_factorizing_ones_are_known():
    ns = {name: budget.draw_ns(name, {}) for name in ("zeros", "uniform", "normal", "sparse", "orthogonal", "lsuv")}
    assert ns["zeros"] == (0.0, False)
    assert ns["uniform"][0] < ns["normal"][0] < ns["sparse"][0]
    assert ns["orthogonal"][1] and ns["lsuv"][1] and not ns["normal"][1]
    # a scheme's parameters are traced too: no zeros to place, no sort
    assert budget.draw_ns("sparse", {"sparsity": 0.0})[0] < ns["sparse"][0] / 2


SWISH = "swish"


def _swish(z, out):
    return np.multiply(z, activations._special().expit(z), out=out)


def _swish_d(z, a, out):
    s = activations._special().expit(z)
    return np.add(a, s * (1 - a), out=out)


@pytest.fixture
def scratch_activation(monkeypatch):
    """A new activation as a contributor adds it: its entry in ACTIVATIONS, and nothing else (the link's
    activation field takes its choices from the registry, as at import)."""
    entry = Activation(SWISH, _swish, _swish_d, None, None, "z * sigmoid(z) (a scratch test's activation)")
    monkeypatch.setitem(activations.ACTIVATIONS, SWISH, entry)
    monkeypatch.setitem(config_module.FIELDS, "activation",
                        config_module._pick("activation", activations.ACTIVATIONS, "relu", "activation"))
    return entry


def test_a_new_activation_is_priced_from_its_registry_entry_alone(scratch_activation):
    table = budget.PRIMITIVE_NS["float32"]
    forward, derivative = budget.activation_ns("float32", SWISH)
    # expit into a new array, the product into out; expit, 1 - a, the product (new arrays), the sum into out
    assert forward == pytest.approx(table["expit"] + table["allocation"] + table["multiply"])
    assert derivative == pytest.approx(table["expit"] + table["subtract"] + table["multiply"] + table["add"]
                                       + 3 * table["allocation"])
    assert budget.activation_call_counts(SWISH) == (2, 4)
    config = ExperimentConfig(activation=SWISH, depth=3, width=(64,), epochs=5)
    e = budget.estimate(config)
    assert e.seconds > budget.estimate(ExperimentConfig(activation="relu", depth=3, width=(64,), epochs=5)).seconds


def _asinh(z, out):
    return np.arcsinh(z, out=out)


def _hidden(z, out):
    np.tanh(np.asarray(z), out=np.asarray(out))  # plain arrays: the trace sees nothing
    return out


@pytest.mark.parametrize("forward", [_asinh, _hidden], ids=["unknown primitive", "unseen work"])
def test_a_primitive_the_table_lacks_is_priced_as_the_costliest(monkeypatch, forward):
    assert "arcsinh" not in budget.PRIMITIVE_NS["float64"]
    monkeypatch.setitem(activations.ACTIVATIONS, "scratch",
                        Activation("scratch", forward, activations.get("tanh").derivative, None, None, ""))
    assert budget.activation_ns("float64", "scratch")[0] == max(budget.PRIMITIVE_NS["float64"].values())
    assert budget.primitive_ns("float32", "arcsinh") == max(budget.PRIMITIVE_NS["float32"].values())


def test_the_trace_sees_in_place_writes_and_fills():
    z = np.linspace(-1, 1, 6).reshape(2, 3)
    calls = trace(lambda z, out: (out.__setitem__(Ellipsis, z), out.fill(1), np.exp(z, out=out)), z,
                  np.empty_like(z))
    assert [(c.primitive, c.elements, c.fresh) for c in calls] == [("copy", 6, False), ("fill", 6, False),
                                                                   ("exp", 6, False)]
