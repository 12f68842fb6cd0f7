"""Colour is identity: a scheme's colour comes from the scheme, never from its place in a list.

A teacher moving from one lesson to the next, or from the English page to the French one, keeps the legend:
``he_normal`` is the same green on every page, in every lesson, link and language. The palette is Okabe & Ito's
colour-blind-safe set (Wong 2011, "Points of view: Color blindness", Nature Methods 8:441), then the Tableau 10
colours it lacks, every one readable on white.

- ``FIXED``: the catalogue's schemes (core.nn.initializers) and the entries the default configuration and the
  lessons compare, each with a fixed colour: the default's and each lesson's schemes all differ; schemes rarely
  compared share one of the 16 (``colours`` separates them when they meet in a chart). An entry with parameters that is not listed takes its scheme's
  colour when that scheme has no other entry in the same chart.
- Any other label takes a colour from a hash of the label itself, the same everywhere.
- ``colours(labels)``: the colours of one chart. Two labels of one chart never share a colour: a later label
  (in sorted order, so the result does not depend on the list's order) that would repeat one takes the first
  palette colour the chart does not use yet.
"""
from __future__ import annotations

import hashlib

OKABE_ITO = {"orange": "#E69F00", "sky_blue": "#56B4E9", "green": "#009E73", "yellow": "#F0E442",
             "blue": "#0072B2", "vermillion": "#D55E00", "purple": "#CC79A7", "grey": "#999999"}
TABLEAU = {"brown": "#9c755f", "teal": "#76b7b2", "red": "#e15759", "olive": "#8c8c2a", "violet": "#7b4fa0",
           "navy": "#1f3a93", "dark": "#4d4d4d", "pink": "#ff9da7"}
PALETTE = [*OKABE_ITO.values(), *TABLEAU.values()]

_C = {**OKABE_ITO, **TABLEAU}
FIXED = {
    # the naive starts: no scale, or the wrong one
    "zeros": _C["grey"], "constant": _C["brown"], "constant:value=0.5": _C["brown"],
    "normal": _C["vermillion"], "normal:std=1": _C["vermillion"], "normal:std=0.01": _C["sky_blue"],
    "uniform": _C["pink"], "truncated_normal": _C["olive"],
    # scaled by fan-in and fan-out (Glorot & Bengio 2010) and its "standard" ancestor
    "xavier_normal": _C["blue"], "xavier_uniform": _C["navy"], "glorot_standard": _C["yellow"],
    # scaled for the activation's gain (He et al. 2015), LeCun's 1/fan-in
    "he_normal": _C["green"], "he_uniform": _C["teal"], "lecun_normal": _C["purple"], "lecun_uniform": _C["violet"],
    # structured, sparse, data-dependent, PyTorch's default
    "orthogonal": _C["orange"], "identity": _C["dark"], "zero_hadamard": _C["red"], "sparse": _C["olive"],
    "sparse_martens": _C["brown"], "lsuv": _C["red"], "torch_default": _C["dark"],
}
# Restarts beyond networks: one colour per init of k-means and EM (the random ones warm, the seeded ones blue)
INIT_COLOURS = {"random": _C["orange"], "random_from_data": _C["vermillion"], "k-means++": _C["blue"],
                "kmeans": _C["blue"]}


def _name(label: str) -> str:
    return label.split(":", 1)[0]


def colour(label: str) -> str:
    """The colour of one scheme entry shown alone: its own, else its scheme's, else one from a hash of the
    label (the same everywhere)."""
    return FIXED.get(label) or FIXED.get(_name(label)) or _hashed(label)


def _hashed(label: str) -> str:
    digest = hashlib.sha1(label.encode()).digest()
    return PALETTE[int.from_bytes(digest[:4], "big") % len(PALETTE)]


def colours(labels) -> dict[str, str]:
    """Every label's colour in one chart: ``colour(label)``, or its scheme's for an unlisted entry whose scheme
    has no other entry here; a colour already taken goes to the first label (sorted) that has it, and the
    others take the first colours of the palette the chart does not use."""
    labels = list(dict.fromkeys(labels))
    names = [_name(label) for label in labels]
    # an unlisted entry takes its scheme's colour only when no other entry of that scheme shares the chart
    wanted = {label: FIXED[label] if label in FIXED else
              colour(label) if names.count(name) == 1 else _hashed(label)
              for label, name in zip(labels, names)}
    # fixed entries keep theirs first, then the others in sorted order
    order = sorted(labels, key=lambda label: (label not in FIXED, label))
    out, used = {}, set()
    for label in order:
        c = wanted[label]
        if c in used:
            c = next((p for p in PALETTE if p not in used), c)
        out[label] = c
        used.add(c)
    return {label: out[label] for label in labels}
