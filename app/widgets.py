"""What pages place: charts that fail alone, small multiples, "What to notice", CSV downloads, scheme badges,
and the density section the Activations and Gradients pages share."""
from __future__ import annotations

import html
import logging
import traceback
from typing import Callable

import pandas as pd
import streamlit as st

from core.views import charts, phrases
from core.measure import density, theory
from core import export
from core.views.colours import colours
from core.formatting import number_text
from core.i18n import DEFAULT, N_, _, language

from . import spec_memo
from .compat.altair import unchecked
from .context import Context
from .results import frame_for
from .text import literal
from .views import PageView

LOG = logging.getLogger("initlab")


def show_chart(build, *args, links: bool = False, owner=None, **kwargs) -> None:
    """Draw one chart as wide as its container; if building it fails, say so briefly and let the page go on.
    Altair's checks of every object as it is made are off while it builds (a quarter of the time of a page
    of charts); tests/test_charts.py validates each builder's spec. ``links``: see core.views.charts.to_spec.
    ``owner``: the cached result the chart draws; its spec is then kept for the next run that asks for the
    same chart (app.spec_memo)."""
    def make() -> dict:
        with unchecked():
            return charts.to_spec(build(*args, **kwargs), links=links)

    try:
        spec = spec_memo.spec_for(owner, build, args, {**kwargs, "links": links}, make)
        st.vega_lite_chart(spec, width="stretch")
    except Exception as e:  # noqa: BLE001 - one broken chart must not take the page down
        LOG.error("chart %s failed:\n%s", getattr(build, "__name__", build), traceback.format_exc())
        st.error(literal(_("This chart could not be drawn ({error}). The rest of the page still works.").format(
            error=f"{type(e).__name__}: {e}")))


def panels_per_row(n: int) -> int:
    """Small multiples per row: 2 or 3 (4 schemes as 2 × 2), so that a panel stays readable at 1280 px.
    Streamlit stacks columns into one on a narrow screen (a phone)."""
    return n if n <= 3 else (2 if n == 4 else 3)


def small_multiples(schemes, build: Callable[..., object], *frames: pd.DataFrame, data: pd.DataFrame | None = None,
                    empty: str | None = None, owner=None, **params) -> None:
    """One chart per scheme, ``build(*frames, scheme=scheme, index=index, **params)``, in rows of
    ``panels_per_row`` columns (``owner``: see show_chart). A scheme with no row in ``data`` gets the ``empty``
    sentence (a model that diverged has no rows after it) instead."""
    schemes = list(schemes)
    present = set(data["scheme"]) if data is not None else set(schemes)
    k = panels_per_row(len(schemes))
    for start in range(0, len(schemes), k):
        for j, col in enumerate(st.columns(k)):
            i = start + j
            if i >= len(schemes):
                continue
            with col:
                st.markdown(scheme_badge(schemes[i], schemes), unsafe_allow_html=True)
                if schemes[i] in present:
                    show_chart(build, *frames, scheme=schemes[i], index=i, owner=owner, **params)
                else:
                    st.caption(empty or _("No values to draw here."))


def what_to_notice(sentences: list[str]) -> None:
    """The page's opening: sentences computed from the results (escaped: they quote scheme labels)."""
    if not sentences:
        return
    with st.container(border=True):
        st.markdown("**" + _("What to notice") + "**\n\n" + "\n".join(f"- {literal(s)}" for s in sentences))


def download_csv(label: str, frame_name: str, ctx: Context, key: str | None = None,
                 frame: pd.DataFrame | None = None) -> None:
    """A CSV download of one of the run's frames, or of ``frame`` (a page's small derived frame) under that name.
    A run's frame is made when clicked, from the shared cache: the button must not hold the frame itself
    (Streamlit keeps it as long as the session shows the page, past the cache's bound)."""
    config = ctx.config
    rows = len(ctx.frames[frame_name] if frame is None else frame)
    st.download_button(_("⬇ {label} (CSV, {rows} rows)").format(label=label, rows=number_text(rows, ",")),
                       data=lambda: export.csv_bytes(frame_for(config, frame_name) if frame is None else frame,
                                                     config.run_id),
                       file_name=f"initlab_{frame_name}_{ctx.config.run_id}.csv", mime="text/csv",
                       on_click="ignore", key=key or f"dl_{frame_name}")


def table(frame: pd.DataFrame) -> None:
    """A table, numbers in the reader's language. Streamlit's number formats follow the browser's locale, not
    the page's language, so in French the numeric columns are shown as French text (right-aligned; the grid
    then sorts them as text). Only the copy shown changes: the CSV downloads export the run's frames."""
    config = {}
    if language() != DEFAULT:
        frame = frame.copy()
        for column in frame.columns:
            if pd.api.types.is_numeric_dtype(frame[column]) and not pd.api.types.is_bool_dtype(frame[column]):
                spec = "," if pd.api.types.is_integer_dtype(frame[column]) else ".4g"
                frame[column] = [number_text(v, spec) if pd.notna(v) else "" for v in frame[column]]
                config[column] = st.column_config.TextColumn(alignment="right")
    st.dataframe(frame, hide_index=True, width="stretch", column_config=config or None)


# a third button in a row cuts French labels short at 1280 px ("⬇ Statistiques par couche (CSV, 3 645 lignes)")
BUTTONS_PER_ROW = 2


def in_rows(items: list, per_row: int = BUTTONS_PER_ROW):
    """Each of ``items`` in turn, inside the next column of rows of ``per_row`` equal columns."""
    for start in range(0, len(items), per_row):
        for col, item in zip(st.columns(per_row), items[start:start + per_row]):
            with col:
                yield item


def downloads(ctx: Context, *items: tuple[str, str]) -> None:
    """CSV download buttons, one per (label, frame name), in rows: the data of the page's charts."""
    for label, frame_name in in_rows(list(items)):
        download_csv(label, frame_name, ctx)


def scheme_badge(label: str, schemes) -> str:
    """Markdown (with HTML) for a scheme's colour swatch (its colour among ``schemes``, the page's) and its
    label, on one line; the label is escaped."""
    return (f"<span style='white-space:nowrap'><span style='color:{colours(schemes)[label]}'>■</span> "
            f"**{literal(label)}**</span>")


def factor_table(factors: pd.DataFrame) -> str:
    """``core.views.notice.depth_factors`` as a small HTML table (scheme in its colour, measured, theory) that
    scrolls inside its column rather than run past the page's edge. Labels are HTML-escaped: they come from
    the link."""
    head = "".join(f"<th style='text-align:{a};padding:4px 8px'>{html.escape(t)}</th>"
                   for t, a in ((_("scheme"), "left"), (_("measured"), "right"), (_("theory"), "right")))
    rows = []
    palette = colours(factors["scheme"])
    for r in factors.itertuples():
        measured = _("all 0") if r.all_zero else phrases.factor(r.measured)
        cells = (f"<td style='padding:4px 8px;white-space:nowrap'><span style='color:{palette[r.scheme]}'>■"
                 f"</span> {html.escape(r.scheme)}</td>"
                 f"<td style='text-align:right;padding:4px 8px'>{html.escape(measured)}</td>"
                 f"<td style='text-align:right;padding:4px 8px'>{html.escape(phrases.factor(r.predicted))}</td>")
        rows.append(f"<tr>{cells}</tr>")
    return (f"<div style='overflow-x:auto'><table style='border-collapse:collapse;font-size:0.9rem'>"
            f"<thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table></div>")


def second_moment_prediction(ctx: Context) -> pd.DataFrame:
    """The theory's predicted second moment per (scheme, layer) at epoch 0: the one call site, so that a
    change of ``core.measure.theory``'s signature is one change here."""
    return spec_memo.derived(ctx.results, ("second_moment_prediction",),
                             lambda: theory.second_moment_prediction(ctx.results))


def density_section(ctx: Context, view: PageView, kind: str, epoch: int, seed: int,
                    first_tab: tuple[str, str, Callable[[], None]] | None = None) -> int:
    """The distributions of ``kind`` in tabs: every layer at ``epoch`` (layer × value, one panel per scheme),
    the chosen layer over training (epoch × value), and its recorded histograms; ``first_tab`` (its token for
    the view key ``tab``, its label marked with N_, and what draws it) goes before them. Only the open tab is
    built (each panel is a chart the browser draws). Returns the layer."""
    hist, stats = ctx.frames["histograms"], ctx.frames["layer_stats"]
    layers = sorted(hist["layer"].unique().tolist())
    c1, c2 = st.columns([2, 1])
    with c1:
        layer = view.layer(layers, ctx.config.depth, label=_("Layer followed over training"))
    with c2:
        log = view.flag("log", True, _("Symmetric log value axis"),
                        help=_("sign(x)·log10(1 + |x|/0.001): linear within about 0.001 of zero, logarithmic beyond, "
                               "so vanishing (a line at 0) and exploding (far out) values fit one axis. Off: a linear "
                               "axis."))
    options = {"every_layer": N_("Every layer"), "one_layer": N_("One layer over training"),
               "histograms": N_("Recorded histograms")}
    if first_tab:
        options = {first_tab[0]: first_tab[1], **options}
    tabs = view.tabs("tab", options, f"tabs_{kind}")
    if first_tab:
        if tabs[0].open:
            with tabs[0]:
                first_tab[2]()
        tabs = tabs[1:]
    diverged = _("No values: the model diverged before this epoch.")
    owner = ctx.results

    def rows(**equal) -> pd.DataFrame:
        """The histograms of this seed and kind whose columns equal ``equal``."""
        mask = (hist["seed"] == seed) & (hist["kind"] == kind)
        for column, value in equal.items():
            mask &= hist[column] == value
        return hist[mask]

    def spread(rows: pd.DataFrame, by: str):
        axis = density.value_axis(rows, symlog_axis=log)
        return axis, density.density(rows, stats, axis, by=by)

    if tabs[0].open:
        with tabs[0]:
            axis, dens = spec_memo.derived(owner, ("layer_density", kind, epoch, seed, log),
                                           lambda: spread(rows(epoch=epoch), "layer"))
            top = charts.share_top(dens)
            st.caption(_("Every layer at epoch {epoch} (seed {seed}): each row is a layer, each colour the share of "
                         "that layer's probe values in a value bin, on one value axis for every scheme. A signal "
                         "that vanishes shrinks to a line at 0 layer by layer; one that explodes spreads further "
                         "out.").format(epoch=epoch, seed=seed))
            small_multiples(ctx.schemes, charts.layer_density_panel, dens, axis=axis, layers=layers, kind=kind,
                            share_max=top, data=dens, empty=diverged, owner=owner)
    if tabs[1].open:
        with tabs[1]:
            axis_t, dens_t = spec_memo.derived(owner, ("epoch_density", kind, layer, seed, log),
                                               lambda: spread(rows(layer=layer), "epoch"))
            top_t = charts.share_top(dens_t)
            st.caption(_("Layer {layer} (seed {seed}), each column a recorded epoch: how the layer's values spread or "
                         "gather while the network trains (as TensorBoard's distributions).").format(
                layer=layer, seed=seed))
            small_multiples(ctx.schemes, charts.epoch_density_panel, dens_t, axis=axis_t, epochs=ctx.epochs,
                            kind=kind, share_max=top_t, data=dens_t, empty=diverged, owner=owner)
    if tabs[2].open:
        with tabs[2]:
            one = spec_memo.derived(owner, ("histograms", kind, epoch, seed, layer),
                                    lambda: rows(epoch=epoch, layer=layer))
            st.caption(_("Layer {layer} at epoch {epoch} (seed {seed}), as the probe recorded it: each model's own "
                         "bins on its own range, exact counts.").format(layer=layer, epoch=epoch, seed=seed))
            small_multiples(ctx.schemes, charts.histogram_panel, one, kind=kind, among=tuple(ctx.schemes), data=one,
                            empty=diverged, owner=owner)
    return layer


def stacked(formula: str) -> str:
    r"""A formula whose parts are set apart by ``\quad`` (the rule, then what its symbols are) as lines of one
    centred block: on one line the longer ones run past a column's edge, where KaTeX clips them."""
    parts = [p.strip().rstrip(",;").strip() for p in formula.split(r"\quad")]
    if len(parts) == 1:
        return formula
    return r"\begin{gathered}" + r" \\ ".join(parts) + r"\end{gathered}"

