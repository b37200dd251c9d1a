"""Network (mlp) heads from Python: the fit knobs, the model's layers as numpy views (an independent
forward pass), seeded reproducibility, the model file (format_version 2, head kind "mlp", read with
numpy), layer-wise explanations under every rule (conservation per layer and end to end, the ε and z
rules' output layer by hand), bad rule strings, and BowClassifier(head="mlp")."""

import gc
import pickle
import re

import numpy as np
import pytest

import bowlrp
from bowlrp import BowClassifier
from conftest import read_model_file, shape_arrays, sklearn_clone

CLASSES = ["circle", "square", "triangle"]
PER_CLASS = 6
SIDE = 48
WORDS = 16
CELLS = 5  # the default pyramid 1x1,2x2
HIDDEN = (16,)
MLP = dict(head="mlp", words=WORDS, hidden=HIDDEN, epochs=20, seed=3)
RULES = ["z", "epsilon", "alpha1beta0", "alpha2beta1", "flat;epsilon", "w2;epsilon"]


def tol(f, rel=1e-9):
    return rel * max(1.0, abs(f))


def forward(layers, phi):
    """f of encodings phi (n x V) through [(W, b), ...]: z = W a + b, ReLU between layers."""
    a = np.atleast_2d(phi)
    for l, (W, b) in enumerate(layers):
        z = a @ W.T + b
        a = np.maximum(z, 0.0) if l + 1 < len(layers) else z
    return a


@pytest.fixture(scope="module")
def shapes():
    return shape_arrays(CLASSES, PER_CLASS, SIDE)


@pytest.fixture(scope="module")
def fitted(shapes):
    X, y = shapes
    return bowlrp.fit(X, y, report=True, **MLP)


@pytest.fixture(scope="module")
def mlp(fitted):
    return fitted[0]


@pytest.fixture(scope="module")
def deep(shapes):
    """Three dense layers, so that the hidden rule of a composite has a layer to act on."""
    X, y = shapes
    return bowlrp.fit(X, y, **dict(MLP, hidden=(8, 8)))


@pytest.fixture(scope="module")
def phi(mlp, shapes):
    return np.stack([mlp.encode(x) for x in shapes[0]])


# ---------------------------------------------------------------------------------------------
# Options


def test_fit_and_rule_knobs():
    d = bowlrp.FitOptions.defaults()
    for k in ("hidden", "epochs", "batch_size", "learning_rate", "weight_decay", "dropout"):
        assert k in d, k
    o = bowlrp.FitOptions(head="network", hidden=[32, 8], epochs=5, batch_size=4, learning_rate=0.01,
                          weight_decay=0.0, dropout=0.25)
    assert (o.head, o.hidden, o.epochs, o.batch_size) == ("mlp", (32, 8), 5, 4)
    assert (o.learning_rate, o.weight_decay, o.dropout) == (0.01, 0.0, 0.25)
    o.validate()
    assert pickle.loads(pickle.dumps(o)) == o
    assert bowlrp.FitOptions(head="mlp", hidden=()).hidden == ()  # a single linear layer
    assert bowlrp.VocProtocolOptions(head="mlp", hidden=(4,)).hidden == (4,)
    # the rule knob sits with the other rules, printed in the form that reads back
    forms = {
        "z": "input=z,hidden=z,output=z",
        "epsilon": "input=epsilon:0.01,hidden=epsilon:0.01,output=epsilon:0.01",
        "epsilon:0.5": "input=epsilon:0.5,hidden=epsilon:0.5,output=epsilon:0.5",
        "alpha2beta1": "input=alpha-beta:2:1,hidden=alpha-beta:2:1,output=alpha-beta:2:1",
        "alpha-beta:1:0": "input=alpha-beta:1:0,hidden=alpha-beta:1:0,output=alpha-beta:1:0",
        "flat;alpha1beta0": "flat;alpha-beta:1:0",
        "w2;": "w2;",
        "input=flat,hidden=alpha2beta1,output=epsilon:0.01": "input=flat,hidden=alpha-beta:2:1,output=epsilon:0.01",
        "hidden=z": "input=epsilon:0.01,hidden=z,output=epsilon:0.01",
    }
    assert bowlrp.Rules.defaults()["rule"] == forms["epsilon"]
    for text, printed in forms.items():
        assert bowlrp.Rules(rule=text).rule == printed, text
        assert bowlrp.Rules(rule=printed).rule == printed, printed
    for cls in (bowlrp.Rules, bowlrp.ExplainOptions, bowlrp.QualityOptions, bowlrp.FolderEvaluationOptions,
                bowlrp.VocProtocolOptions, bowlrp.SprayImagesOptions):
        assert cls(rule="z").rule == forms["z"], cls
    e = bowlrp.ExplainOptions(rule="flat;epsilon")
    assert pickle.loads(pickle.dumps(e)).rule == "flat;epsilon:0.01"


@pytest.mark.parametrize("text", ["alpha-beta:2:2", "nonsense", "epsilon:-1", "epsilon:x", "z;;z", "input=z,input=z",
                                  "middle=z", ""])
def test_bad_rule_strings_name_the_text(mlp, shapes, text):
    X, _ = shapes
    pattern = re.escape(f"network composite '{text}'")
    with pytest.raises(ValueError, match=pattern):
        bowlrp.Rules(rule=text)
    with pytest.raises(ValueError, match=pattern):
        bowlrp.ExplainOptions(rule=text)
    with pytest.raises(ValueError, match=pattern):
        mlp.explain(X[0], rule=text)


def test_bad_network_options(shapes):
    X, y = shapes
    with pytest.raises(ValueError, match="hidden layer 1 has 0 neurons"):
        bowlrp.FitOptions(head="mlp", hidden=(0,)).validate()
    with pytest.raises(ValueError, match="hidden layer 2 has 0 neurons"):
        bowlrp.fit(X, y, **dict(MLP, hidden=(4, 0)))
    with pytest.raises(ValueError, match="hidden layer 1 has 0 neurons"):
        BowClassifier(head="mlp", hidden=(0,), words=WORDS).fit(X, y)
    with pytest.raises(TypeError, match="option hidden: expected a sequence"):
        bowlrp.FitOptions(hidden=0)
    for knob, value in (("epochs", 0), ("batch_size", 0), ("learning_rate", 0.0), ("weight_decay", -1.0),
                        ("dropout", 1.0)):
        with pytest.raises(ValueError, match=knob):
            bowlrp.FitOptions(head="mlp", **{knob: value}).validate()


# ---------------------------------------------------------------------------------------------
# The model


def test_model_properties(mlp, fitted, shapes):
    X, _ = shapes
    assert (mlp.head, mlp.head_kind, mlp.encoding) == ("mlp", "mlp", "bag-of-words")
    assert mlp.class_names == CLASSES and mlp.dimension == WORDS * CELLS
    assert mlp.hidden_sizes == HIDDEN
    assert fitted[1].used == len(X) and fitted[1].skipped == []
    layers = mlp.layers
    sizes = [mlp.dimension, *HIDDEN, len(CLASSES)]
    assert len(layers) == len(sizes) - 1
    for l, layer in enumerate(layers):
        assert set(layer) == {"weights", "biases"}
        W, b = layer["weights"], layer["biases"]
        assert W.shape == (sizes[l + 1], sizes[l]) and b.shape == (sizes[l + 1],)
        assert W.dtype == b.dtype == np.float64
        assert not W.flags.writeable and not b.flags.writeable
        with pytest.raises(ValueError):
            W[0, 0] = 1.0
        assert np.isfinite(W).all() and np.abs(W).max() > 0
    np.testing.assert_array_equal(mlp.biases, layers[-1]["biases"])
    for name in ("weights", "support_size", "kernel", "gamma", "components"):
        with pytest.raises(AttributeError, match=f"Model.{name}: only .* this one is bag-of-words \\+ mlp"):
            getattr(mlp, name)
    assert "16" in mlp.head_summary and f"dimension={mlp.dimension}" in repr(mlp)
    o = mlp.fit_options()
    assert (o.head, o.hidden, o.words) == ("mlp", HIDDEN, WORDS)
    svm = bowlrp.fit(X, shapes[1], words=WORDS, head="linear")
    for name in ("layers", "hidden_sizes"):
        with pytest.raises(AttributeError, match=f"Model.{name}: only mlp models have it"):
            getattr(svm, name)


def test_predictions_and_the_layers_forward_pass(mlp, phi, shapes):
    X, y = shapes
    p = mlp.predict(X)
    assert p.ok.all() and p.scores.shape == (len(X), len(CLASSES)) and np.isfinite(p.scores).all()
    assert p.labels == [CLASSES[i] for i in np.argmax(p.scores, axis=1)]
    assert np.mean(np.array(p.labels) == np.array(y)) > 1 / len(CLASSES)  # it learned something
    np.testing.assert_array_equal(mlp.decision(phi), p.scores)
    np.testing.assert_array_equal(mlp.scores(X[2]), p.scores[2])
    f = forward([(l["weights"], l["biases"]) for l in mlp.layers], phi)
    np.testing.assert_allclose(f, mlp.decision(phi), rtol=0, atol=1e-12 * max(1.0, np.abs(f).max()))

def test_layer_views_keep_the_model_alive(mlp, phi, scratch):
    path = scratch / "mlp-views.bowlrp"
    mlp.save(path)
    layers = bowlrp.load(path).layers  # the only reference to the loaded model is in the views
    gc.collect()
    f = forward([(l["weights"], l["biases"]) for l in layers], phi)
    np.testing.assert_array_equal(f, forward([(l["weights"], l["biases"]) for l in mlp.layers], phi))


def test_same_seed_same_model(mlp, shapes, scratch):
    X, y = shapes
    a, b, c = scratch / "mlp-a.bowlrp", scratch / "mlp-b.bowlrp", scratch / "mlp-c.bowlrp"
    mlp.save(a)
    mlp.save(b)
    assert a.read_bytes() == b.read_bytes()
    again = bowlrp.fit(X, y, **MLP)
    again.save(c)
    assert c.read_bytes() == a.read_bytes()
    for la, lb in zip(again.layers, mlp.layers):
        np.testing.assert_array_equal(la["weights"], lb["weights"])
        np.testing.assert_array_equal(la["biases"], lb["biases"])
    one_thread = bowlrp.fit(X, y, threads=1, **MLP)  # "results do not depend on" threads
    one_thread.save(c)
    assert c.read_bytes() == a.read_bytes()
    other = bowlrp.fit(X, y, **dict(MLP, seed=4))
    assert not np.array_equal(other.layers[0]["weights"], mlp.layers[0]["weights"])
    loaded = bowlrp.load(a)
    assert (loaded.head, loaded.hidden_sizes) == ("mlp", HIDDEN)
    np.testing.assert_array_equal(loaded.predict(X).scores, mlp.predict(X).scores)
    ea, eb = loaded.explain(X[1], rule="alpha2beta1"), mlp.explain(X[1], rule="alpha2beta1")
    np.testing.assert_array_equal(ea.relevance, eb.relevance)
    assert ea.network_layers == eb.network_layers


def test_model_file_is_readable_with_numpy(mlp, phi, shapes, scratch):
    X, _ = shapes
    path = scratch / "mlp-numpy.bowlrp"
    mlp.save(path)
    header, arrays = read_model_file(path)
    assert header["format_version"] == 2
    assert header["encoding"]["kind"] == "bag-of-words"
    sizes = [mlp.dimension, *HIDDEN, len(CLASSES)]
    assert header["head"] == {"kind": "mlp", "layers": len(sizes) - 1, "sizes": sizes}
    assert header["dim"] == mlp.dimension
    assert header["classes"] == [{"name": c} for c in CLASSES]  # the output biases are biases_L
    names = [a["name"] for a in header["arrays"]]
    assert names == ["codebook_centres"] + [f"{k}_{l}" for l in range(1, len(sizes)) for k in ("weights", "biases")]
    assert arrays["codebook_centres"].shape == (WORDS, 128)
    file_layers = []
    for l in range(1, len(sizes)):
        W, b = arrays[f"weights_{l}"], arrays[f"biases_{l}"]
        assert W.dtype == np.dtype("<f8") and W.shape == (sizes[l], sizes[l - 1]) and b.shape == (sizes[l],)
        np.testing.assert_array_equal(W, mlp.layers[l - 1]["weights"])
        np.testing.assert_array_equal(b, mlp.layers[l - 1]["biases"])
        file_layers.append((W, b))
    # the file alone scores Φ(x)
    f = forward(file_layers, phi)
    np.testing.assert_allclose(f, mlp.predict(X).scores, rtol=0, atol=1e-12 * max(1.0, np.abs(f).max()))


# ---------------------------------------------------------------------------------------------
# Explanations


def assert_layer_wise(e, model, rule):
    """Every layer balances, the layers add up to f, the lower layers conserve, the verdict agrees."""
    f = e.score
    layers = e.network_layers
    sizes = [model.dimension, *model.hidden_sizes, model.n_classes]
    assert len(layers) == len(sizes) - 1
    expected = bowlrp.Rules(rule=rule).rule
    if ";" in expected:
        assert [l["rule"] for l in layers] == expected.split(";")
    for l, layer in enumerate(layers):
        assert set(layer) == {"rule", "inputs", "outputs", "upper", "lower", "absorbed"}
        assert (layer["inputs"], layer["outputs"]) == (sizes[l], sizes[l + 1])
        assert abs(layer["upper"] - (layer["lower"] + layer["absorbed"])) <= tol(f), (rule, l, layer)
    R_d = e.dimension_relevance.sum()
    absorbed = sum(l["absorbed"] for l in layers)
    assert abs(f - (R_d + absorbed)) <= tol(f), (rule, f, R_d, absorbed)
    assert abs(e.absorbed - absorbed) <= tol(f)
    # the Bag-of-Words layers below the network conserve as for SVM heads
    R_l, R_q = e.feature_relevance.sum(), e.relevance.sum()
    assert abs(R_d - (R_l + e.feature_unassigned)) <= tol(f)
    assert abs(R_l - (R_q + e.pixel_unassigned)) <= tol(f)
    assert e.method == "layer-wise" and e.ok and e.warning == ""
    c = e.conservation
    assert c.method == "layer-wise" and c.ok and c.network_conserved and c.svm_conserved
    assert [{k: v for k, v in l.items() if k not in ("relative_residual", "conserved")} for l in c.network_layers] == layers
    assert all(l["conserved"] for l in c.network_layers)
    assert e.check_conservation(1e-9).ok
    d = e.to_dict()
    assert d["method"] == "layer-wise"
    assert d["network"]["layers"] == [{"layer": n + 1, **l, "relative_residual": c.network_layers[n]["relative_residual"],
                                       "conserved": c.network_layers[n]["conserved"]} for n, l in enumerate(layers)]
    assert d["conservation"]["network_conserved"] and d["conservation"]["network_layers"] == c.network_layers
    assert c.to_dict()["network_conserved"] and c.to_dict()["network_layers"] == c.network_layers


@pytest.mark.parametrize("rule", RULES)
def test_every_rule_conserves_layer_by_layer(mlp, shapes, rule):
    X, _ = shapes
    for i in (0, PER_CLASS + 1, 2 * PER_CLASS + 2):
        scores = mlp.scores(X[i])
        for cls in range(len(CLASSES)):
            e = mlp.explain(X[i], cls, rule=rule)
            assert e.class_index == cls and e.score == scores[cls]
            assert_layer_wise(e, mlp, rule)
    # options objects and batches give the same numbers
    a = mlp.explain(X[3], 1, options=bowlrp.ExplainOptions(rule=rule))
    b = mlp.explain(X[:4], 1, rule=rule)[3]
    assert a.network_layers == b.network_layers == mlp.explain(X[3], 1, rule=rule).network_layers
    np.testing.assert_array_equal(a.relevance, b.relevance)


@pytest.mark.parametrize("rule", ["flat;alpha2beta1;epsilon", "input=flat,hidden=alpha2beta1,output=epsilon:0.01",
                                  "input=w2,hidden=z,output=alpha1beta0", "epsilon:0.5"])
def test_composites_on_three_layers(deep, shapes, rule):
    X, _ = shapes
    assert len(deep.layers) == 3
    for i in (1, PER_CLASS + 2):
        e = deep.explain(X[i], rule=rule)
        assert_layer_wise(e, deep, rule)
        if "=" in rule:  # the three-way form: input, hidden, output
            printed = bowlrp.Rules(rule=rule).rule
            parts = dict(p.split("=") for p in printed.split(","))
            assert [l["rule"] for l in e.network_layers] == [parts["input"], parts["hidden"], parts["output"]]


@pytest.mark.parametrize("model_name", ["mlp", "deep"])
def test_epsilon_layer_totals_chain(request, shapes, model_name):
    """Relevance flows down: each layer's upper is what the layer above sent down (its lower), the
    output layer's upper is f, the input layer's lower is Σ_d R_d."""
    model = request.getfixturevalue(model_name)
    X, _ = shapes
    for i in (0, 7, 13):
        e = model.explain(X[i], rule="epsilon")
        layers = e.network_layers
        f = e.score
        assert abs(layers[-1]["upper"] - f) <= tol(f, 1e-12)
        for k in range(len(layers) - 1):
            assert abs(layers[k]["upper"] - layers[k + 1]["lower"]) <= tol(f, 1e-12), (k, layers)
        assert abs(layers[0]["lower"] - e.dimension_relevance.sum()) <= tol(f, 1e-12)


@pytest.mark.parametrize("rule,eps", [("z", 0.0), ("epsilon", 0.01), ("epsilon:0.5", 0.5)])
def test_output_layer_by_hand(mlp, shapes, rule, eps):
    """The output layer of class c gets R_c = z_c; the z / ε rules pass down (z_c - b_c) z_c / (z_c + ε sign z_c)
    and absorb the rest."""
    X, _ = shapes
    b = mlp.layers[-1]["biases"]
    for i in (2, 9):
        z = mlp.scores(X[i])
        for cls in range(len(CLASSES)):
            out = mlp.explain(X[i], cls, rule=rule).network_layers[-1]
            zc = z[cls]
            assert out["upper"] == zc
            lower = (zc - b[cls]) * zc / (zc + eps * np.sign(zc))
            assert abs(out["lower"] - lower) <= tol(zc, 1e-12), (rule, out, lower)
            assert abs(out["absorbed"] - (zc - lower)) <= tol(zc, 1e-12)


def test_explicit_list_of_the_wrong_length(mlp, deep, shapes):
    X, _ = shapes
    for model, rule in ((mlp, "flat;epsilon;z"), (mlp, "z;"), (deep, "flat;epsilon")):
        layers = len(model.layers)
        with pytest.raises(ValueError, match=f"explicit list has {len(rule.strip(';').split(';'))} rules .* "
                                             f"the network has {layers} layers"):
            model.explain(X[0], rule=rule)
        # a batch is refused before any image is explained (it used to fail on every image)
        with pytest.raises(ValueError, match="explicit list"):
            model.explain(X[:2], rule=rule)


@pytest.mark.parametrize("bias", ["proportional", "absorbed"])
def test_a_bias_policy_is_refused_for_network_heads(mlp, shapes, bias):
    """A network head has a bias per neuron, treated by each layer's rule: an SVM bias policy would be
    ignored, so it is refused (as the CLI's --bias is) instead of being reported as applied."""
    X, _ = shapes
    with pytest.raises(ValueError, match=f"bias policy '{bias}' applies to SVM heads only"):
        mlp.explain(X[0], bias=bias)
    with pytest.raises(ValueError, match="applies to SVM heads only"):
        mlp.explain(X[:2], options=bowlrp.ExplainOptions(bias=bias))
    assert mlp.explain(X[0], bias="uniform").ok  # the default: nothing to refuse


def test_network_and_kernel_bounds_are_checked_before_training(shapes):
    """The model file's bounds (at most 2^20 neurons per layer, 64 layers) and the kernels that need
    inputs >= 0 over (signed) Fisher vectors are refused by validate(), before any work."""
    X, y = shapes
    with pytest.raises(ValueError, match="1048577 neurons; expected 1 .. 1048576"):
        bowlrp.FitOptions(head="mlp", hidden=(2**20 + 1,)).validate()
    with pytest.raises(ValueError, match="64 hidden layers; expected at most 63"):
        bowlrp.fit(X, y, **dict(MLP, hidden=(4,) * 64))
    bowlrp.FitOptions(head="mlp", hidden=(2**20,)).validate()
    for kernel in ("chi2", "hellinger", "expchi2"):
        with pytest.raises(ValueError, match=f"FitOptions.kernel = {kernel}: it needs inputs >= 0"):
            bowlrp.FitOptions(encoding="fisher", head="kernel", kernel=kernel).validate()
        bowlrp.FitOptions(encoding="bow", head="kernel", kernel=kernel).validate()
    bowlrp.FitOptions(encoding="fisher", head="kernel", kernel="hik").validate()


def test_svm_heads_have_no_network_layers(shapes):
    X, y = shapes
    svm = bowlrp.fit(X, y, words=WORDS, head="linear")
    e = svm.explain(X[0], rule="flat;z;z")  # the network rule is not used by SVM heads
    assert e.network_layers == [] and e.method == "exact"
    assert e.conservation.network_conserved and e.conservation.network_layers == []
    assert "network" not in e.to_dict() and e.to_dict()["conservation"]["network_layers"] == []


# ---------------------------------------------------------------------------------------------
# The estimator


def test_estimator_with_an_mlp_head(shapes, mlp, scratch):
    X, y = shapes
    est = BowClassifier(head="mlp", hidden=HIDDEN, epochs=20, words=WORDS, random_state=3)
    params = est.get_params()
    assert (params["head"], params["hidden"], params["epochs"]) == ("mlp", HIDDEN, 20)
    assert "head='mlp'" in repr(est) and "hidden=(16,)" in repr(est)
    twin = sklearn_clone(est)
    assert twin.get_params() == params and not hasattr(twin, "model_")
    twin.fit(X, y)
    assert twin.model_.head == "mlp" and twin.model_.hidden_sizes == HIDDEN
    np.testing.assert_array_equal(twin.classes_, CLASSES)
    # the same fit as bowlrp.fit with the same knobs
    np.testing.assert_array_equal(twin.decision_function(X), mlp.predict(X).scores)
    assert list(twin.predict(X)) == mlp.predict(X).labels
    e = twin.explain(X[0], "square", rule="alpha2beta1")
    assert e.class_name == "square" and e.conservation.ok and e.method == "layer-wise"
    again = pickle.loads(pickle.dumps(twin))
    assert again.model_.head == "mlp"
    np.testing.assert_array_equal(again.decision_function(X), twin.decision_function(X))
    path = scratch / "mlp-estimator.bowlrp"
    twin.save(path)
    back = BowClassifier.load(path, epochs=20)  # training options are not in the file
    p = back.get_params()
    assert (p["head"], p["hidden"], p["words"], p["random_state"]) == ("mlp", HIDDEN, WORDS, 3)
    np.testing.assert_array_equal(back.decision_function(X), twin.decision_function(X))
    refit = sklearn_clone(back).fit(X, y)
    np.testing.assert_array_equal(refit.decision_function(X), twin.decision_function(X))
