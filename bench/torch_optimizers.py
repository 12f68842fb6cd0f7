"""core.nn.optimizers against torch.optim on the same weights and gradients: SGD, momentum and Adam, with and
without weight decay, in float64 and float32.

    pip install -r bench/requirements.txt
    python -m bench.torch_optimizers

PyTorch is a bench-only dependency, so this check lives here rather than in the test suite (which checks each
optimizer bit for bit against a plain reference, tests/test_optimizers.py). PyTorch may fuse or reorder a few
operations: the two agree within rounding, not bit for bit. Prints the largest difference per case and exits
1 if one is past the tolerance.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from core.nn.optimizers import ADAM_BETAS, ADAM_EPS, SGD, Adam, Momentum  # noqa: E402

K, P, STEPS = 4, 37, 6
TOL = {np.float64: 1e-12, np.float32: 1e-5}  # relative and absolute


def problem(dtype, seed=0):
    """Initial weights (K, P) and one gradient per step, shrinking from scale 1 to 0.01."""
    rng = np.random.default_rng(seed)
    w = rng.normal(size=(K, P)).astype(dtype)
    return w, [rng.normal(scale=s, size=(K, P)).astype(dtype) for s in np.geomspace(1.0, 1e-2, STEPS)]


def ours(opt_cls, w, gs, lr, wd, **kw):
    params = w.copy()
    opt = opt_cls(params, lr, np.full(P, wd, w.dtype) if wd else None, **kw)
    for g in gs:
        opt.step(g.copy())
    return params


def theirs(make, w, gs):
    import torch
    p = torch.nn.Parameter(torch.from_numpy(w.copy()))
    opt = make(torch, [p])
    for g in gs:
        p.grad = torch.from_numpy(g.copy())
        opt.step()
    return p.detach().numpy()


CASES = {
    "sgd": (lambda torch, ps, wd: torch.optim.SGD(ps, lr=0.1, weight_decay=wd, foreach=False), SGD, 0.1, {}),
    "momentum": (lambda torch, ps, wd: torch.optim.SGD(ps, lr=0.05, momentum=0.9, weight_decay=wd, foreach=False),
                 Momentum, 0.05, {"momentum": 0.9}),
    "adam": (lambda torch, ps, wd: torch.optim.Adam(ps, lr=0.01, betas=ADAM_BETAS, eps=ADAM_EPS, weight_decay=wd,
                                                    foreach=False), Adam, 0.01, {}),
}


def main() -> int:
    import torch
    bad = 0
    print(f"core.nn.optimizers against torch {torch.__version__}, {STEPS} steps on ({K}, {P}) weights")
    for name, (make, cls, lr, kw) in CASES.items():
        for dtype in (np.float64, np.float32):
            for wd in (0.0, 0.01):
                w, gs = problem(dtype)
                got = ours(cls, w, gs, lr, wd, **kw)
                want = theirs(lambda torch, ps: make(torch, ps, wd), w, gs)
                diff = float(np.max(np.abs(got - want)))
                ok = np.allclose(got, want, rtol=TOL[dtype], atol=TOL[dtype])
                bad += not ok
                print(f"  {name:8s} {np.dtype(dtype).name:7s} weight_decay={wd:<5g} largest difference {diff:.2e}"
                      f"  {'ok' if ok else 'PAST THE TOLERANCE'} ({TOL[dtype]:g})")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
