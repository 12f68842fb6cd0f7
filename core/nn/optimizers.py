"""The optimizers: SGD, momentum and Adam on the flat weights of K stacked models.

The shape of scikit-learn's ``neural_network/_stochastic_optimizers.py``: an
optimizer is built on the parameters it updates and keeps its own state (a
velocity, Adam's moments and step count), and ``step(grads)`` updates the
parameters in place. Here the parameters are one (K, P) array, a row per model,
so each model only ever meets its own row of every state array, and a stopped
model's state can be cleared by row (``reset``).

The arithmetic is in the parameters' dtype, in place, in a fixed order: a
shared link promises the same numbers forever, so the order of the operations
below is part of the results and must not change.
"""
from __future__ import annotations

import numpy as np

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


class Optimizer:
    """Updates ``params`` (K, P) in place, one step per call of ``step``.

    ``decay`` (P,), in the parameters' dtype, is each parameter's L2 coefficient (the weight decay on
    weights, 0 on biases), added to the gradient before the update as PyTorch's ``weight_decay`` is; None
    for none.
    """
    # TrainSettings fields this optimizer takes as keyword arguments (see OPTIMIZERS)
    SETTINGS: tuple[str, ...] = ()

    def __init__(self, params: np.ndarray, lr: float, decay: np.ndarray | None = None):
        self.params = params
        self.dtype = params.dtype
        self.lr = self.dtype.type(lr)
        self.decay = decay
        # A step's temporaries, allocated once and reused: in place, a step allocates nothing.
        self.scratch = np.empty_like(params)
        self.state: tuple[np.ndarray, ...] = ()  # per-model state arrays, (K, P) each

    def step(self, grads: np.ndarray) -> None:
        """Update the parameters from ``grads`` (K, P); ``grads`` may be overwritten."""
        if self.decay is not None:
            grads += np.multiply(self.decay, self.params, out=self.scratch)
        self._update(grads)

    def _update(self, grads: np.ndarray) -> None:
        raise NotImplementedError

    def reset(self, models: np.ndarray) -> None:
        """Clear the state of ``models`` (a (K,) mask or indices): models that stop training keep no velocity
        or moments, so their rows stay finite and cheap to compute on."""
        for s in self.state:
            s[models] = 0


class SGD(Optimizer):
    """w -= lr g"""

    def _update(self, grads):
        self.params -= np.multiply(grads, self.lr, out=self.scratch)


class Momentum(Optimizer):
    """PyTorch's form (``torch.optim.SGD(momentum=mu)``): v = mu v + g; w -= lr v. The first step's v is g."""
    SETTINGS = ("momentum",)

    def __init__(self, params, lr, decay=None, momentum: float = 0.9):
        super().__init__(params, lr, decay)
        self.momentum = self.dtype.type(momentum)
        self.velocity = np.zeros_like(params)
        self.state = (self.velocity,)

    def _update(self, grads):
        v = self.velocity
        v *= self.momentum
        v += grads
        self.params -= np.multiply(v, self.lr, out=self.scratch)


class Adam(Optimizer):
    """The textbook Adam (Kingma and Ba 2015, as ``torch.optim.Adam``):
    m = b1 m + (1 - b1) g; v = b2 v + (1 - b2) g^2; w -= lr m_hat / (sqrt(v_hat) + eps), with the bias
    corrections m_hat = m / (1 - b1^t), v_hat = v / (1 - b2^t) at step t (from 1)."""

    def __init__(self, params, lr, decay=None, betas: tuple[float, float] = ADAM_BETAS, eps: float = ADAM_EPS):
        super().__init__(params, lr, decay)
        b1, b2 = betas
        self.betas = betas  # Python floats: b^t is computed in float64, then cast
        t = self.dtype.type
        self.b1, self.b2 = t(b1), t(b2)
        self.one_minus_b1, self.one_minus_b2 = t(1 - b1), t(1 - b2)
        self.eps = t(eps)
        self.m = np.zeros_like(params)
        self.v = np.zeros_like(params)
        self.state = (self.m, self.v)
        self.t = 0  # steps taken; shared by all models (a stopped model's state is cleared, not its clock)

    def _update(self, grads):
        self.t += 1
        b1, b2 = self.betas
        m, v, tmp = self.m, self.v, self.scratch
        m *= self.b1
        m += np.multiply(grads, self.one_minus_b1, out=tmp)
        v *= self.b2
        np.multiply(grads, self.one_minus_b2, out=tmp)
        tmp *= grads
        v += tmp
        # the denominator in tmp, then the step in grads (no longer needed): no third buffer
        np.divide(v, self.dtype.type(1 - b2 ** self.t), out=tmp)  # v_hat
        np.sqrt(tmp, out=tmp)
        tmp += self.eps
        np.divide(m, self.dtype.type(1 - b1 ** self.t), out=grads)  # m_hat
        grads *= self.lr
        grads /= tmp
        self.params -= grads


# name -> class, as scikit-learn's neural_network/_base.py registries; the names are core.config's choices.
OPTIMIZERS: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum, "adam": Adam}


def make(name: str, params: np.ndarray, lr: float, decay: np.ndarray | None = None, **settings) -> Optimizer:
    """The optimizer ``name`` on ``params``, taking from ``settings`` (TrainSettings fields) the ones it uses."""
    cls = OPTIMIZERS[name]
    return cls(params, lr, decay, **{key: settings[key] for key in cls.SETTINGS})
