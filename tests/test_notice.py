""""What to notice": the sentences change with the configuration and name the right schemes and numbers.

Each expected number is recomputed here from the frames, another way than core.views.notice computes it (the
geometric mean of the layer ratios from their logarithms, counts with NumPy), and formatted with the
notice's own number formats.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from core import ExperimentConfig, run
from core.views import phrases
from core.measure import theory
from core.config import replace
from core.views.lessons import BY_SLUG, LESSONS
from core.views import activations as activations_view
from core.views import boundaries as boundaries_view
from core.views import export as export_view
from core.views import gradients as gradients_view
from core.views import lessons
from core.views import overview as overview_view
from core.views import symmetry as symmetry_view
from core.views import weights as weights_view

RELU = dict(activation="relu", width=(32,), epochs=6, record_epochs=3, seeds=2)


@pytest.fixture(scope="module")
def cache():
    store = {}

    def get(config: ExperimentConfig):
        if config not in store:
            store[config] = run(config)
        return store[config]
    return get


def geometric_factor(layer_stats, scheme, epoch, first, last):
    s = layer_stats[(layer_stats["kind"] == "preactivation") & (layer_stats["epoch"] == epoch)
                    & (layer_stats["scheme"] == scheme)]
    q = s.groupby("layer")["second_moment"].mean().loc[first:last].to_numpy()
    return float(np.exp(np.mean(np.log(q[1:] / q[:-1]))))


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
def test_activations_name_each_scheme_with_its_measured_and_predicted_factor(cache, data_seed):
    config = ExperimentConfig(schemes=("xavier_normal", "he_normal"), depth=5, data_seed=data_seed, **RELU)
    r = cache(config)
    ls = r.frames["layer_stats"]
    pred = theory.second_moment_prediction(r)
    first_sentence = activations_view.notices(ls, pred, config.schemes, 0, "preactivation", config.depth)[0]
    for scheme in config.schemes:
        measured = geometric_factor(ls, scheme, 0, 1, config.depth)
        p = pred[pred["scheme"] == scheme].set_index("layer")["second_moment"]
        predicted = (p[config.depth] / p[1]) ** (1 / (config.depth - 1))
        clause = f"{scheme}: second moment {phrases.factor(measured)} per hidden layer, predicted {phrases.factor(predicted)}"
        assert clause in first_sentence, (clause, first_sentence)
    # He keeps the second moment, Xavier halves it (He et al. 2015, equal widths): the theory says so exactly
    assert "xavier_normal: second moment" in first_sentence and "predicted ×0.50" in first_sentence
    assert "predicted ×1.00" in first_sentence


def test_activations_change_with_the_configuration(cache):
    a = ExperimentConfig(schemes=("xavier_normal", "he_normal"), depth=5, **RELU)
    b = replace(a, schemes=("normal:std=0.05", "zeros"))
    out = {}
    for config in (a, b):
        r = cache(config)
        ls = r.frames["layer_stats"]
        pred = theory.second_moment_prediction(r)
        out[config] = activations_view.notices(ls, pred, config.schemes, 0, "preactivation", config.depth)
    assert out[a] != out[b]
    assert "zeros: every pre-activation is 0" in out[b][0]
    assert "xavier_normal" not in " ".join(out[b])
    measured = geometric_factor(cache(b).frames["layer_stats"], "normal:std=0.05", 0, 1, b.depth)
    assert f"normal:std=0.05: second moment {phrases.factor(measured)} per hidden layer" in out[b][0]
    # at a later epoch the prediction (which holds at initialization) is not quoted
    later = activations_view.notices(cache(a).frames["layer_stats"], theory.second_moment_prediction(cache(a)), a.schemes, a.epochs, "preactivation", a.depth)
    assert "predicted" not in later[0] and f"At epoch {a.epochs}" in later[0]


def test_overview_says_who_diverged_when_and_for_how_many_seeds(cache):
    config = ExperimentConfig(schemes=("normal:std=0.7", "he_normal"), activation="relu", depth=4, width=(32,),
                              lr=0.1, epochs=10, seeds=4, record_epochs=3)
    r = cache(config)
    summary = r.frames["summary"]
    sentences = overview_view.notices(r.frames, config.schemes, config.depth, "classification")
    text = " ".join(sentences)
    bad = summary[summary["scheme"] == "normal:std=0.7"]["diverged_epoch"].dropna().astype(int)
    assert summary[summary["scheme"] == "he_normal"]["diverged_epoch"].isna().all()
    assert "he_normal diverged" not in text
    if len(bad):
        when = (f"at epoch {bad.min()}" if bad.min() == bad.max() else f"between epochs {bad.min()} and {bad.max()}")
        assert f"normal:std=0.7 diverged {when} for {len(bad)} of 4 seeds." in text, text
    # the best and worst final test loss, means over the seeds that did not diverge (and how many they are)
    finished = summary[summary["diverged_epoch"].isna()]
    mean = finished.groupby("scheme")["final_test_loss"].mean()
    n = int((finished["scheme"] == mean.idxmin()).sum())
    assert text.startswith(f"{mean.idxmin()} reached the lowest final test loss, {phrases.number(mean.min())} "
                           f"(mean of {n} seeds)"), text
    # a gentler start: nothing diverges, and the sentence goes
    calm = cache(replace(config, schemes=("normal:std=0.3", "he_normal")))
    assert calm.frames["summary"]["diverged_epoch"].isna().all()
    assert "diverged" not in " ".join(overview_view.notices(calm.frames, ("normal:std=0.3", "he_normal"), 4, "classification"))


@pytest.mark.parametrize("width", [6, 10])
def test_symmetry_counts_units_of_the_configured_width(cache, width):
    config = ExperimentConfig(schemes=("zeros", "constant:value=0.5", "he_normal"), activation="tanh", depth=2,
                              width=(width,), epochs=6, record_epochs=3, seeds=2)
    r = cache(config)
    d = r.frames["distinct_units"]
    sentences = symmetry_view.notices(d, r.frames["summary"], config.schemes, config.depth, "loss", "test")
    hidden = d[d["layer"] <= config.depth]
    assert (hidden[hidden["scheme"] == "zeros"]["distinct_units"] == 1).all()  # exactly 0 weights stay 0 under tanh
    for scheme in config.schemes:
        # constant weights stay equal in exact arithmetic; in float they may split at the 1e-9 level
        one = (hidden[hidden["scheme"] == scheme]["distinct_units"] == 1).all()
        clause = f"{scheme}: 1 functional unit out of {width} in every hidden layer, at every recorded epoch"
        assert (clause in sentences[0]) == one, (clause, sentences)
    he = hidden[(hidden["scheme"] == "he_normal") & (hidden["epoch"] == hidden["epoch"].max())]
    if (he["distinct_units"] == width).all():
        assert any(s.startswith("he_normal: every unit of every hidden layer is distinct") for s in sentences)
    # the restarts sentence names the scheme with the widest spread of final test loss, and its range
    s = r.frames["summary"].groupby("scheme")["final_test_loss"]
    spread = (s.max() - s.min())
    widest = spread.idxmax()
    assert any(f"{widest}: final test loss from {phrases.number(s.min()[widest])} to {phrases.number(s.max()[widest])}"
               in x for x in sentences), sentences


def test_gradients_say_which_layers_get_no_gradient_and_the_depth_ratio(cache):
    config = ExperimentConfig(schemes=("zeros", "he_normal", "normal:std=0.05"), depth=4, **RELU)
    r = cache(config)
    g = r.frames["gradient_norms"]
    sentences = gradients_view.notices(g, config.schemes, 0, "weight_grad_norm", config.depth)
    text = " ".join(sentences)
    zero_hidden = g[(g["scheme"] == "zeros") & (g["epoch"] == 0) & (g["layer"] <= config.depth)]
    assert (zero_hidden["weight_grad_norm"] == 0).all()  # ReLU at zero weights: no signal, no gradient
    assert "zeros: the weight gradient is exactly 0 in every hidden layer at epoch 0" in text
    at0 = g[g["epoch"] == 0].groupby(["scheme", "layer"])["weight_grad_norm"].mean()
    for scheme in ("he_normal", "normal:std=0.05"):
        q = at0[scheme]
        assert f"{scheme} {phrases.factor(q[1] / q[config.depth])}" in text
    bias = gradients_view.notices(g, config.schemes, 0, "bias_grad_norm", config.depth)
    assert bias != sentences


def test_weights_name_copies_and_how_far_training_moved(cache):
    config = ExperimentConfig(schemes=("zeros", "he_normal", "xavier_normal"), depth=2, **RELU)
    r = cache(config)
    ud, init = r.frames["unit_distances"], r.frames["init_distances"]
    last = config.epochs
    sentences = weights_view.notices(ud, init, config.schemes, last, 1, 1)
    layer1 = ud[(ud["epoch"] == last) & (ud["seed"] == 1) & (ud["layer"] == 1)]
    assert (layer1[layer1["scheme"] == "zeros"]["distance"] == 0).all()
    assert sentences[0].startswith(f"zeros: every pair of units in layer 1 is at distance 0 at epoch {last} (seed 1)")
    near = layer1[(layer1["unit_i"] != layer1["unit_j"]) & (layer1["scheme"] != "zeros")]
    closest = near.loc[near["distance"].idxmin()]
    assert sentences[1] == (f"Closest pair of distinct units in layer 1: {closest['scheme']}, "
                            f"{phrases.number(closest['distance'])} apart.")
    moved = init[init["epoch"] == init["epoch"].max()].groupby("scheme")["relative_distance"].mean().dropna()
    assert f"moved {moved.idxmax()}'s weights furthest, {phrases.percent(moved.max())}" in sentences[-1]
    assert f"and {moved.idxmin()}'s least, {phrases.percent(moved.min())}" in sentences[-1]
    other = weights_view.notices(ud, init, ("he_normal", "xavier_normal"), last, 1, 1)
    assert not any("copies" in s for s in other)


def test_boundaries_name_a_one_class_model_and_the_best_accuracy(cache):
    config = ExperimentConfig(schemes=("zeros", "he_normal"), activation="tanh", depth=2, width=(16,), epochs=6,
                              record_epochs=3, seeds=2)
    r = cache(config)
    b = r.frames["boundaries"]
    last = b[(b["epoch"] == config.epochs) & (b["seed"] == 0)]
    sentences = boundaries_view.notices(b, r.frames["summary"], config.schemes, config.epochs, 0)
    flat = [s for s, g in last.groupby("scheme") if g["predicted"].nunique() == 1]
    undecided = [s for s, g in last.groupby("scheme") if g["probability"].max() <= 0.5 + boundaries_view.UNDECIDED]
    for scheme in flat:
        label = int(last[last["scheme"] == scheme]["predicted"].iloc[0])
        if scheme in undecided:  # a near-tie everywhere: a constant prediction, not a class
            assert f"{scheme}: the top class gets only" in sentences[0] and f"(class {label})" not in sentences[0]
        else:
            assert f"{scheme} (class {label})" in " ".join(sentences)
    acc = r.frames["summary"].groupby("scheme")["final_test_accuracy"].mean()
    assert any(f"Best final test accuracy: {acc.idxmax()}, {phrases.percent(acc.max())}" in s for s in sentences)



def test_the_boundaries_best_accuracy_leaves_out_a_diverged_seed(cache):
    """Seed 2 diverges at epoch 1; its 'final' accuracy is its last finite one, not where its start led."""
    config = ExperimentConfig(schemes=("normal:std=0.3",), seeds=4, activation="relu", depth=6, width=(64,),
                              lr=0.1, epochs=30, record_epochs=6)
    r = cache(config)
    summary = r.frames["summary"]
    finished = summary[summary["diverged_epoch"].isna()]
    assert 0 < len(finished) < len(summary)  # the case this test is about
    sentences = boundaries_view.notices(r.frames["boundaries"], summary, config.schemes, 6, 0)
    want = (f"Best final test accuracy: normal:std=0.3, {phrases.percent(finished['final_test_accuracy'].mean())} "
            f"(mean of {len(finished)} seeds).")
    assert want in sentences, sentences

def test_export_counts_the_frames_rows(cache):
    config = ExperimentConfig(schemes=("zeros", "he_normal"), depth=2, **RELU)
    r = cache(config)
    s = export_view.notices(r.frames, 2, config.seeds)
    total = sum(len(df) for df in r.frames.values())
    assert s[0] == f"This run: 4 models (2 schemes × 2 seeds), {config.record_epochs} recorded epochs."
    assert f"{len(r.frames)} frames, {total:,} rows in all" in s[1]


def test_lessons_name_the_closest_lesson_and_what_differs():
    lesson = BY_SLUG["vanish-explode"]
    assert lessons.notices(lesson.config, LESSONS) == [f"Your current configuration is the lesson “{lesson.title}”."]
    near = replace(lesson.config, depth=9)
    assert lessons.notices(near, LESSONS) == [
        f"Your configuration is closest to the lesson “{lesson.title}”: 1 setting differs (depth)."]


def test_number_formats():
    assert phrases.factor(0.5) == "×0.50" and phrases.factor(1e-12) == "×1.0e-12" and phrases.factor(math.nan) == "—"
    assert phrases.number(0.08641) == "0.0864" and phrases.number(263248.05) == "2.63e+05"
    assert phrases.percent(0.5) == "50%" and phrases.percent(0.001) == "0.1%"


@pytest.mark.parametrize("data_seed", [0, 1, 2, 3])
def test_gradients_read_the_back_propagated_second_moment_and_the_step_sizes(cache, data_seed):
    """By default the Gradients page reads E[(dL/dz)^2] (layer_stats, kind gradient): the sentence quotes layer 1
    over the output layer from that frame; Xavier's ReLU signal vanishes on its way back (halving per layer in
    expectation), He's does not. The step-size sentence is only said for plain SGD."""
    config = ExperimentConfig(schemes=("xavier_normal", "he_normal"), depth=12, data_seed=data_seed,
                              **{**RELU, "seeds": 3})
    r = cache(config)
    g = gradients_view.gradient_frame(r.frames["gradient_norms"], r.frames["layer_stats"])
    s = r.frames["layer_stats"]
    dz = s[(s["kind"] == "gradient") & (s["epoch"] == 0)].groupby(["scheme", "layer"])["second_moment"].mean()
    text = " ".join(gradients_view.notices(g, config.schemes, 0, "dz_second_moment", config.depth, config.optimizer))
    for scheme in config.schemes:
        q = dz[scheme]
        assert f"{scheme} {phrases.factor(q[1] / q[config.depth])}" in text, text
    assert dz["xavier_normal"][1] / dz["xavier_normal"][config.depth] < 0.01  # 0.5^11 in expectation
    assert 0.05 < dz["he_normal"][1] / dz["he_normal"][config.depth] < 20  # kept between hidden layers
    assert "xavier_normal: the gradient signal vanishes on its way back to the input." in text
    # the per-weight RMS of dL/dW = a^T dz: Xavier's forward signal shrinks as its backward one does, so its
    # steps stay about level while dL/dz vanishes (why the page plots both, with their reading rules)
    w = g[g["epoch"] == 0].groupby(["scheme", "layer"])["weight_grad_rms"].mean()
    steps = {s: w[s][1] / w[s][config.depth] for s in config.schemes}
    assert 0.05 < steps["xavier_normal"] < 20, steps
    extreme = any(not 0.01 <= v <= 100 for v in steps.values())
    rms = gradients_view.notices(g, config.schemes, 0, "weight_grad_rms", config.depth, "sgd")
    adam = gradients_view.notices(g, config.schemes, 0, "weight_grad_rms", config.depth, "adam")
    assert any("with plain SGD, a weight of layer 1 takes steps" in t for t in rms) == extreme
    assert not any("takes steps" in t for t in adam)
    small = replace(config, schemes=("normal:std=0.02",))  # vanishing both ways: its steps do differ
    gs = gradients_view.gradient_frame(cache(small).frames["gradient_norms"], cache(small).frames["layer_stats"])
    ws = gs[gs["epoch"] == 0].groupby("layer")["weight_grad_rms"].mean()
    said = gradients_view.notices(gs, small.schemes, 0, "weight_grad_rms", small.depth, "sgd")
    assert (ws[1] / ws[small.depth] < 0.01 or ws[1] / ws[small.depth] > 100) == any("takes steps" in t for t in said)


@pytest.mark.parametrize("data_seed", [0, 1])
def test_overview_leaves_diverged_seeds_out_of_its_means_and_counts_them(cache, data_seed):
    """normal:std=1 on 8 ReLU layers of 64 diverges at once: its last finite loss (about 1e5) is no final loss,
    so the sentence about the lowest and highest final test loss names only schemes whose seeds finished."""
    config = ExperimentConfig(schemes=("normal:std=1", "xavier_normal", "he_normal"), activation="relu", depth=8,
                              width=(64,), seeds=3, epochs=5, record_epochs=2, data_seed=data_seed)
    f = cache(config).frames
    s = f["summary"]
    assert s[s["scheme"] == "normal:std=1"]["diverged_epoch"].notna().all()
    sentences = overview_view.notices(f, config.schemes, config.depth, "classification")
    finished = s[s["diverged_epoch"].isna()].groupby("scheme")["final_test_loss"].mean()
    best, worst = finished.idxmin(), finished.idxmax()
    assert sentences[0].startswith(f"{best} reached the lowest final test loss, {phrases.number(finished[best])} "
                                   f"(mean of 3 seeds); {worst} the highest, {phrases.number(finished[worst])}.")
    assert "normal:std=1 diverged at epoch" in " ".join(sentences)


# ------------------------------------------------------------------ what the chart above shows
MIXED = ExperimentConfig(schemes=("zeros", "normal:std=1", "he_normal"), activation="relu", depth=8, width=(32,),
                         seeds=2, epochs=4, record_epochs=5)


def test_activations_notice_follows_the_charts_quantity_and_statistic(cache):
    """The last sentence describes what the signal chart draws: its quantity and statistic, recomputed here."""
    r = cache(MIXED)
    ls, pred = r.frames["layer_stats"], theory.second_moment_prediction(r)
    said = {}
    for kind in ("preactivation", "activation"):
        for stat in ("second_moment", "std", "mean"):
            text = activations_view.notices(ls, pred, MIXED.schemes, 0, kind, MIXED.depth, stat, r.frames["summary"])
            said[kind, stat] = next((t for t in text if t.startswith(("From layer 1", "At layer"))), "")
            s = ls[(ls["epoch"] == 0) & (ls["kind"] == kind)].groupby(["scheme", "layer"])[stat].mean()
            if stat == "mean":
                last = {sc: s[sc].iloc[-1] for sc in ("normal:std=1", "he_normal")}
                lo = min(last, key=last.get)
                assert f"the mean of the {activations_view._kind_words(kind)} runs from {phrases.number(last[lo])} for {lo}" \
                    in said[kind, stat], said[kind, stat]
            else:
                ratios = {sc: s[sc].iloc[-1] / s[sc].iloc[0] for sc in MIXED.schemes if s[sc].iloc[0] > 0}
                hi = max(ratios, key=ratios.get)
                words = {"second_moment": "second moment", "std": "standard deviation"}[stat]
                assert f"the {words} of the {activations_view._kind_words(kind)} is multiplied by" in said[kind, stat]
                assert f"by {phrases.factor(ratios[hi])} for {hi}." in said[kind, stat], said[kind, stat]
    assert len(set(said.values())) == 6, said  # every quantity and statistic its own sentence
    first = activations_view.notices(ls, pred, MIXED.schemes, 0, "activation", MIXED.depth, "std")[0]
    assert "pre-activations' second moment" in first  # the table's quantity, said so


def test_a_diverged_model_is_named_where_its_chart_leaves_it_out(cache):
    r = cache(MIXED)
    f = r.frames
    diverged = f["summary"].query("scheme == 'normal:std=1'")["diverged_epoch"]
    assert (diverged == 1).all()
    ls, pred = f["layer_stats"], theory.second_moment_prediction(r)
    later = " ".join(activations_view.notices(ls, pred, MIXED.schemes, 2, "preactivation", MIXED.depth,
                                        "second_moment", f["summary"]))
    assert "normal:std=1 diverged at epoch 1 for 2 of 2 seeds" in later and "leave those models out" in later
    assert ls.query("scheme == 'normal:std=1' and epoch == 2").empty  # the chart indeed has nothing to draw
    at0 = " ".join(activations_view.notices(ls, pred, MIXED.schemes, 0, "preactivation", MIXED.depth,
                                      "second_moment", f["summary"]))
    assert "diverged" not in at0  # at epoch 0 it is still drawn
    bnd = " ".join(boundaries_view.notices(f["boundaries"], f["summary"], MIXED.schemes, 2, 0))
    assert "normal:std=1 diverged at epoch 1" in bnd
    grad = gradients_view.gradient_frame(f["gradient_norms"], ls)
    for text in (gradients_view.notices(grad, MIXED.schemes, 2, "weight_grad_rms", MIXED.depth, "sgd", f["summary"]),
                 weights_view.notices(f["unit_distances"], f["init_distances"], MIXED.schemes, 2, 0, 1, f["summary"])):
        assert any(t.startswith("normal:std=1 diverged at epoch 1") for t in text), text


def test_a_model_stuck_at_one_half_is_described_as_a_constant_prediction(cache):
    """zeros: the probability of the top class stays within a hair of 1/2 over the whole plane. The old notice
    said its predicted class "changed on 100% of the plane"; the new one calls it a constant prediction and
    leaves it out of the changed-class comparison."""
    f = cache(MIXED).frames
    b = f["boundaries"].query("scheme == 'zeros' and seed == 0 and epoch == 4")
    assert b["probability"].max() <= 0.5 + boundaries_view.UNDECIDED
    assert set(boundaries_view.undecided(f["boundaries"], MIXED.schemes, 4, 0, 2)) == {"zeros"}
    text = boundaries_view.notices(f["boundaries"], f["summary"], MIXED.schemes, 4, 0, 2)
    flat = next(t for t in text if "constant prediction" in t)
    assert flat.startswith("At epoch 4 (seed 0), zeros: the top class gets only")
    assert f"{b['probability'].max():.3f} over the whole plane" in flat
    assert not any("changed" in t and "for zeros" in t for t in text)


def test_activations_notice_changes_with_the_pages_quantity_and_statistic():
    """AppTest: the page's opening sentences follow the Statistic and Quantity controls."""
    from tests.test_app import notice_text, open_at
    query = MIXED.to_query()
    texts = []
    for view in ("", "&stat=std", "&stat=std&quantity=activation"):
        at = open_at("activations", query + view)
        assert not at.exception
        texts.append(notice_text(at))
    assert len(set(texts)) == 3, texts
    assert "standard deviation of the pre-activations" in texts[1]
    assert "standard deviation of the activations" in texts[2]
