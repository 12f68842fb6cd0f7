"""The sidebar: every experiment control, each bound to its query key (so the URL is always the link).

Returns the raw values; dashboard.py validates them with core.config like any other link.
"""
from __future__ import annotations

import streamlit as st

from core.nn import initializers
from core.config import FIELDS, format_value, scheme_label
from core.datasets import DATASETS
from core.i18n import _

BIND = "query-params"

# Variants offered in the scheme picker besides the plain names; any other
# "name:key=value" can be typed in.
SCHEME_VARIANTS = ["normal:std=0.01", "normal:std=1", "normal:std=10", "constant:value=0.5",
                   "uniform:limit=0.05", "orthogonal:gain=1.4142135623730951", "xavier_normal:gain=1.6666666666666667"]


def _on_schemes_change():
    keep, dropped = [], []
    for entry in st.session_state.get("schemes", []):
        try:
            label = scheme_label(entry)
        except ValueError as e:
            dropped.append(str(e))
            continue
        if label not in keep:
            keep.append(label)
    if dropped or keep != st.session_state.get("schemes"):
        st.session_state["schemes"] = keep or list(FIELDS["schemes"].default)
    if dropped:
        st.session_state["_scheme_errors"] = dropped


def _add_variant():
    name = st.session_state["_variant_name"]
    init = initializers.INITIALIZERS[name]
    parts = [f"{p.name}={format_value(st.session_state[f'_variant_{p.name}'])}" for p in init.params]
    entry = name + (":" + ",".join(parts) if parts else "")
    current = list(st.session_state.get("schemes", []))
    if entry not in current:
        st.session_state["schemes"] = current + [entry]


def _help(f) -> str | None:
    """A field's or a scheme parameter's help text in the visitor's language (core.config and
    core.nn.initializers own the English text)."""
    return _(f.help) if f.help else None


def _number(key: str, label: str, step=None, fmt=None, disabled=False):
    f = FIELDS[key]
    kind = int if f.integer else float
    return st.number_input(label, min_value=kind(f.lo), max_value=kind(f.hi), value=kind(f.default),
                           step=kind(step) if step is not None else None, format=fmt, key=key, bind=BIND,
                           help=_help(f), disabled=disabled)


def _select(key: str, label: str):
    f = FIELDS[key]
    return st.selectbox(label, f.choices, index=f.choices.index(f.default), key=key, bind=BIND, help=_help(f))


def sidebar() -> tuple[dict, list[str]]:
    """All experiment controls, each bound to its query key. Returns raw values and notes."""
    notes = list(st.session_state.pop("_scheme_errors", []))
    values = {}
    sb = st.sidebar
    with sb:
        options = list(dict.fromkeys([*initializers.INITIALIZERS, *SCHEME_VARIANTS]))
        values["schemes"] = st.multiselect(
            _("Schemes compared"), options, default=list(FIELDS["schemes"].default), key="schemes", bind=BIND,
            accept_new_options=True, on_change=_on_schemes_change, max_selections=12,
            help=_("A scheme name, or a name with parameters typed as name:key=value,key=value "
                   "(e.g. normal:std=0.05). Each entry is one side of the comparison."))
        with st.expander(_("Add a scheme with parameters")):
            name = st.selectbox(_("Scheme"), [n for n, i in initializers.INITIALIZERS.items() if i.params],
                                key="_variant_name")
            for p in initializers.INITIALIZERS[name].params:
                if p.choices:
                    st.selectbox(p.name, p.choices, key=f"_variant_{p.name}", help=_help(p))
                else:
                    st.number_input(p.name, value=p.default, min_value=p.lo if not p.lo_open else None,
                                    max_value=p.hi, key=f"_variant_{p.name}", format="%g",
                                    step=1 if p.integer else None, help=_help(p))
            st.button(_("Add to the comparison"), on_click=_add_variant, width="stretch")
        values["seeds"] = _number("seeds", _("Seeds per scheme"))
        with st.expander(_("Data"), expanded=False):
            values["dataset"] = _select("dataset", _("Dataset"))
            spec = DATASETS[values["dataset"]]
            st.caption(_(spec.description))
            values["n_samples"] = _number("n_samples", _("Samples"), step=50, disabled=False)
            values["noise"] = _number("noise", _("Noise"), step=0.05, disabled=not spec.uses_noise)
            values["test_size"] = _number("test_size", _("Test fraction"), step=0.05)
            values["features"] = _number("features", _("Features"), disabled=not spec.uses_features)
            values["classes"] = _number("classes", _("Classes"), disabled=not spec.uses_classes)
            values["data_seed"] = _number("data_seed", _("Data seed"))
        with st.expander(_("Network"), expanded=False):
            values["depth"] = _number("depth", _("Hidden layers"))
            values["width"] = st.text_input(_("Width"), value="32", key="width", bind=BIND, help=_help(FIELDS["width"]))
            values["activation"] = _select("activation", _("Activation"))
            values["bias"] = st.text_input(_("Bias init"), value=FIELDS["bias"].default, key="bias", bind=BIND,
                                           help=_help(FIELDS["bias"]))
        with st.expander(_("Training"), expanded=False):
            values["optimizer"] = _select("optimizer", _("Optimizer"))
            values["lr"] = _number("lr", _("Learning rate"), step=0.01, fmt="%g")
            values["momentum"] = _number("momentum", _("Momentum"), step=0.05, fmt="%g",
                                         disabled=values["optimizer"] != "momentum")
            values["batch_size"] = _number("batch_size", _("Batch size (0 = full batch)"))
            values["epochs"] = _number("epochs", _("Epochs"), step=10)
            values["weight_decay"] = _number("weight_decay", _("Weight decay (L2)"), step=0.0001, fmt="%g")
        with st.expander(_("Probes and precision"), expanded=False):
            values["record_epochs"] = _number("record_epochs", _("Recorded epochs"))
            values["dtype"] = _select("dtype", _("Precision"))
    return values, notes
