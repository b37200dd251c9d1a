"""Fisher-vector models from Python: fit from numpy images, the model's properties, predict, explain
(conservation with the ε rule's absorbed part, R_d of the linear head), the model file (format_version
2, read with numpy), every encoding x head combination, and BowClassifier(encoding="fisher")."""

import pickle

import numpy as np
import pytest

import bowlrp
from bowlrp import BowClassifier
from conftest import read_model_file, shape_arrays, sklearn_clone

CLASSES = ["circle", "square", "triangle"]
PER_CLASS = 8
SIDE = 64
# A small mixture on a small sample: fits in well under a second.
FISHER = dict(encoding="fisher", components=4, pca=8, fisher_samples=2000, fisher_pyramid="1x1,2x2")
CELLS = 5  # 1x1 + 2x2
G = 8 + 2  # PCA + xy (append_xy is the library's default)


def rel_tol(f, rel=1e-9):
    return rel * max(1.0, abs(f))


@pytest.fixture(scope="module")
def shapes():
    return shape_arrays(CLASSES, PER_CLASS, SIDE)


@pytest.fixture(scope="module")
def fitted_fisher(shapes):
    X, y = shapes
    return bowlrp.fit(X, y, report=True, **FISHER)


@pytest.fixture(scope="module")
def fisher(fitted_fisher):
    return fitted_fisher[0]


# ---------------------------------------------------------------------------------------------
# Options


def test_fit_options_knobs():
    d = bowlrp.FitOptions.defaults()
    assert d["encoding"] == "bag-of-words" and d["head"] is None
    for k in ("pca", "root_sift", "append_xy", "components", "fisher_samples", "fisher_iterations",
              "posterior_threshold", "fisher_pyramid"):
        assert k in d
    o = bowlrp.FitOptions(encoding="fisher", head="linear", pca=16, components=8, fisher_pyramid=[(1, 1), (1, 3)],
                          append_xy=False, root_sift=False, fisher_samples=500, seed=4)
    assert (o.encoding, o.head, o.pca, o.components, o.fisher_pyramid) == ("fisher-vector", "linear-svm", 16, 8, "1x1,1x3")
    assert (o.append_xy, o.root_sift, o.fisher_samples, o.seed) == (False, False, 500, 4)
    o.validate()
    assert o.replace(head=None).head is None and o.replace(head="kernel").head == "kernel-svm"
    assert bowlrp.FitOptions(encoding="bow").encoding == "bag-of-words"
    assert pickle.loads(pickle.dumps(o)) == o
    with pytest.raises(ValueError, match="fisher"):
        bowlrp.FitOptions(encoding="super-vector")
    with pytest.raises(ValueError, match="linear"):
        bowlrp.FitOptions(head="tree")
    with pytest.raises(ValueError, match="fisher_pyramid"):
        bowlrp.FitOptions(fisher_pyramid="1by1")
    with pytest.raises(ValueError):
        bowlrp.FitOptions(encoding="fisher", pca=0).validate()
    # the VOC protocol takes the same knobs; fisher_epsilon sits with the other rules
    assert bowlrp.VocProtocolOptions(encoding="fisher", components=16).encoding == "fisher-vector"
    for cls in (bowlrp.Rules, bowlrp.ExplainOptions, bowlrp.QualityOptions, bowlrp.FolderEvaluationOptions,
                bowlrp.VocProtocolOptions, bowlrp.SprayImagesOptions):
        assert cls.defaults()["fisher_epsilon"] > 0, cls
        assert cls(fisher_epsilon=1e-6).fisher_epsilon == 1e-6


# ---------------------------------------------------------------------------------------------
# The model


def test_fisher_model_properties(fisher, fitted_fisher, shapes):
    X, y = shapes
    report = fitted_fisher[1]
    assert fisher.class_names == CLASSES
    assert (fisher.encoding, fisher.head) == ("fisher-vector", "linear-svm")
    assert (fisher.encoding_kind, fisher.head_kind) == (fisher.encoding, fisher.head)
    assert (fisher.components, fisher.pca_dimension, fisher.descriptor_dimension) == (4, 8, G)
    assert fisher.dimension == 2 * 4 * G * CELLS
    assert report.used == len(X) and report.skipped == []
    assert report.training_accuracy > 1 / len(CLASSES)
    W = fisher.weights
    assert W.shape == (len(CLASSES), fisher.dimension) and W.dtype == np.float64
    w00 = W[0, 0]
    W[0, 0] = w00 + 1.0  # a copy: the model is immutable
    assert fisher.weights[0, 0] == w00
    assert fisher.biases.shape == (len(CLASSES),)
    p = fisher.fisher_parameters
    assert p["pca_mean"].shape == (128,) and p["pca_projection"].shape == (8, 128)
    assert p["gmm_means"].shape == p["gmm_variances"].shape == (4, G) and p["gmm_priors"].shape == (4,)
    assert not p["gmm_means"].flags.writeable
    assert p["gmm_priors"].sum() == pytest.approx(1.0, abs=1e-12) and (p["gmm_variances"] > 0).all()
    for name in ("words", "support_size", "kernel", "gamma"):
        with pytest.raises(AttributeError, match=f"Model.{name}: only .* models have it; this one is fisher-vector \\+ linear-svm"):
            getattr(fisher, name)
        assert not hasattr(fisher, name)
    assert fisher.encoding_summary.startswith("fisher-vector") and "4 Gaussians" in fisher.encoding_summary
    assert fisher.head_summary.startswith("linear SVM")
    r = repr(fisher)
    assert fisher.encoding_summary in r and fisher.head_summary in r and f"dimension={fisher.dimension}" in r
    o = fisher.fit_options()
    assert (o.encoding, o.head, o.pca, o.components, o.fisher_samples, o.fisher_pyramid) == \
        ("fisher-vector", None, 8, 4, 2000, "1x1,2x2")


def test_bag_of_words_model_properties(model):
    assert (model.encoding, model.head) == ("bag-of-words", "kernel-svm")
    assert model.words > 0 and model.support_size > 0 and model.kernel == "hik" and model.gamma == 0
    assert model.biases.shape == (model.n_classes,)
    for name in ("components", "pca_dimension", "descriptor_dimension", "fisher_parameters", "weights"):
        with pytest.raises(AttributeError, match="this one is bag-of-words \\+ kernel-svm"):
            getattr(model, name)
    assert model.encoding_summary.startswith("bag-of-words") and model.head_summary.startswith("kernel SVM (hik)")
    o = model.fit_options()
    assert (o.encoding, o.head, o.words, o.kernel) == ("bag-of-words", None, model.words, "hik")


def test_predict_is_the_linear_head_on_fisher_vectors(fisher, fitted_fisher, shapes):
    X, _ = shapes
    phi = np.stack([fisher.encode(x) for x in X])
    assert phi.shape == (len(X), fisher.dimension)
    # the encodings fit() trained on are the ones encode() gives (the mirrors' rows follow: Fisher
    # vectors train on mirrored copies by default)
    np.testing.assert_array_equal(phi, fitted_fisher[1].histograms[: len(X)])
    assert fitted_fisher[1].histograms.shape == (2 * len(X), fisher.dimension)
    # improved Fisher vectors: unit L2 norm over the whole vector
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0, rtol=1e-12)
    p = fisher.predict(X)
    assert p.ok.all() and p.scores.shape == (len(X), len(CLASSES))
    np.testing.assert_array_equal(fisher.decision(phi), p.scores)
    np.testing.assert_allclose(phi @ fisher.weights.T + fisher.biases, p.scores, rtol=0, atol=1e-12)
    np.testing.assert_array_equal(fisher.scores(X[3]), p.scores[3])
    assert p.labels == [CLASSES[i] for i in np.argmax(p.scores, axis=1)]


# ---------------------------------------------------------------------------------------------
# Explanations


def assert_conserves(e, rel=1e-9):
    """f = Σ_q R_q + unassigned pixels + unassigned features + ε-absorbed features + absorbed bias."""
    f = e.score
    tol = rel_tol(f, rel)
    R_d, R_l, R_q = e.dimension_relevance.sum(), e.feature_relevance.sum(), e.relevance.sum()
    assert abs(f - (R_d + e.absorbed)) <= tol
    assert abs(R_d - (R_l + e.feature_unassigned + e.absorbed_features)) <= tol
    assert abs(R_l - (R_q + e.pixel_unassigned)) <= tol
    total = R_q + e.pixel_unassigned + e.feature_unassigned + e.absorbed_features + e.absorbed
    assert abs(f - total) <= tol, (f, total)
    c = e.conservation
    assert c.ok and c.absorbed_features == e.absorbed_features and c.unassigned_features == e.feature_unassigned
    assert e.check_conservation(rel).ok


def test_explain_conserves_with_the_epsilon_rule(fisher, shapes):
    X, _ = shapes
    V = fisher.dimension
    W, b = fisher.weights, fisher.biases
    for i in (0, PER_CLASS + 1, 2 * PER_CLASS + 2):
        phi = fisher.encode(X[i])
        for cls in range(len(CLASSES)):
            e = fisher.explain(X[i], cls)
            assert e.ok and e.method == "exact" and e.class_index == cls
            assert e.score == pytest.approx(fisher.scores(X[i])[cls], abs=1e-12)
            assert e.bias == b[cls] and e.absorbed == 0.0
            assert_conserves(e)
            # the linear head's rule with the uniform bias (the default): R_d = w_d Φ_d + b / V
            np.testing.assert_allclose(e.dimension_relevance, W[cls] * phi + b[cls] / V, rtol=0,
                                       atol=1e-13 * max(1.0, abs(e.score)))
            assert e.feature_relevance.shape == (e.n_features,) and e.relevance.shape == (SIDE, SIDE)
            assert e.per_word.shape == (4,) and e.per_cell.shape == (CELLS,)  # per Gaussian, per cell
            assert e.per_cell.sum() == pytest.approx(e.dimension_relevance.sum(), abs=rel_tol(e.score, 1e-12))
    d = e.to_dict()
    assert d["absorbed_features"] == e.absorbed_features
    assert d["conservation"]["absorbed_features"] == e.absorbed_features and d["conservation"]["ok"]


def test_bias_policies_and_epsilon(fisher, shapes):
    X, _ = shapes
    e = fisher.explain(X[5], 1, bias="absorbed")
    assert e.absorbed == fisher.biases[1]
    np.testing.assert_allclose(e.dimension_relevance, fisher.weights[1] * fisher.encode(X[5]), rtol=0, atol=1e-13)
    assert_conserves(e)
    assert_conserves(fisher.explain(X[5], 1, bias="proportional"))
    base = fisher.explain(X[5], 1)
    seen = {base.absorbed_features}
    for eps in (1e-6, 1e-3, 1.0):
        for e in (fisher.explain(X[5], 1, fisher_epsilon=eps),
                  fisher.explain(X[5], 1, options=bowlrp.ExplainOptions(fisher_epsilon=eps))):
            assert_conserves(e)
            # ε changes what the feature layer keeps, not the layer above
            np.testing.assert_array_equal(e.dimension_relevance, base.dimension_relevance)
        seen.add(e.absorbed_features)
    assert len(seen) == 4
    assert abs(fisher.explain(X[5], 1, fisher_epsilon=1.0).absorbed_features) > abs(base.absorbed_features)
    with pytest.raises(ValueError, match="epsilon"):
        fisher.explain(X[5], 1, fisher_epsilon=0.0)
    # a batch, and the quality measurements through the same rules
    batch = fisher.explain(X[:4], fisher_epsilon=1e-6)
    assert [b.ok for b in batch] == [True] * 4
    q = bowlrp.evaluate_explanation(fisher, X[0], 0, fisher_epsilon=1e-6)
    assert set(q.aopc) >= {"lrp", "random"}


# ---------------------------------------------------------------------------------------------
# The model file


def test_save_load_round_trip(fisher, shapes, scratch):
    X, _ = shapes
    path = scratch / "fisher.bowlrp"
    fisher.save(path)
    loaded = bowlrp.load(path)
    assert (loaded.encoding, loaded.head, loaded.class_names) == (fisher.encoding, fisher.head, fisher.class_names)
    assert loaded.fingerprint == fisher.fingerprint
    np.testing.assert_array_equal(loaded.predict(X).scores, fisher.predict(X).scores)
    np.testing.assert_array_equal(loaded.weights, fisher.weights)
    for k, v in fisher.fisher_parameters.items():
        np.testing.assert_array_equal(loaded.fisher_parameters[k], v)
    a, b = loaded.explain(X[2]), fisher.explain(X[2])
    np.testing.assert_array_equal(a.relevance, b.relevance)
    assert a.absorbed_features == b.absorbed_features
    again = scratch / "fisher-2.bowlrp"
    loaded.save(again)
    assert again.read_bytes() == path.read_bytes()


def test_model_file_is_readable_with_numpy(fisher, shapes, scratch):
    X, _ = shapes
    path = scratch / "fisher-numpy.bowlrp"
    fisher.save(path)
    header, arrays = read_model_file(path)
    assert header["format_version"] == 2
    assert header["encoding"]["kind"] == "fisher-vector" and header["head"] == {"kind": "linear-svm"}
    f = header["encoding"]["pipeline"]["fisher"]
    assert (f["pca_dimension"], f["components"], f["append_xy"], f["root_sift"]) == (8, 4, True, True)
    assert [(c["cols"], c["rows"]) for c in f["pyramid"]] == [(1, 1), (2, 2)]
    assert header["dim"] == fisher.dimension == 2 * f["components"] * G * CELLS
    assert [a["name"] for a in header["arrays"]] == ["pca_mean", "pca_projection", "gmm_means", "gmm_variances",
                                                     "gmm_priors", "weights"]
    for name, v in fisher.fisher_parameters.items():
        np.testing.assert_array_equal(arrays[name], v)
    np.testing.assert_array_equal(arrays["weights"], fisher.weights)
    assert [c["name"] for c in header["classes"]] == CLASSES
    biases = np.array([c["bias"] for c in header["classes"]])
    np.testing.assert_array_equal(biases, fisher.biases)
    # the file alone scores Φ(x): f_c = bias_c + weights_c . Φ(x)
    phi = np.stack([fisher.encode(x) for x in X[:6]])
    np.testing.assert_allclose(phi @ arrays["weights"].T + biases, fisher.predict(X[:6]).scores, rtol=0, atol=1e-12)


@pytest.mark.parametrize("encoding,head", [("bag-of-words", "kernel"), ("bag-of-words", "linear"),
                                           ("fisher", "kernel"), ("fisher", "linear")])
def test_every_encoding_with_every_head(shapes, scratch, encoding, head):
    X, y = shapes
    opts = dict(words=16) if encoding == "bag-of-words" else dict(FISHER, fisher_pyramid="1x1")
    opts.pop("encoding", None)
    m = bowlrp.fit(X, y, encoding=encoding, head=head, kernel="linear", **opts)
    assert m.encoding == ("fisher-vector" if encoding == "fisher" else "bag-of-words")
    assert m.head == head + "-svm"
    assert m.biases.shape == (len(CLASSES),)
    if head == "kernel":
        assert m.kernel == "linear" and m.support_size > 0
        with pytest.raises(AttributeError):
            m.weights
    else:
        assert m.weights.shape == (len(CLASSES), m.dimension)
        with pytest.raises(AttributeError):
            m.kernel
    for i in (0, 9):
        assert_conserves(m.explain(X[i]))
    path = scratch / f"combo-{encoding}-{head}.bowlrp"
    m.save(path)
    back = bowlrp.Model.load(path)
    np.testing.assert_array_equal(back.predict(X).scores, m.predict(X).scores)
    assert read_model_file(path)[0]["format_version"] == (1 if (encoding, head) == ("bag-of-words", "kernel") else 2)
    o = m.fit_options()
    assert o.encoding == m.encoding
    # head None when it is the encoding's default
    assert o.head == (None if (encoding == "fisher") == (head == "linear") else m.head)


# ---------------------------------------------------------------------------------------------
# The estimator


def test_estimator_with_fisher_vectors(shapes, fisher, scratch):
    X, y = shapes
    est = BowClassifier(**FISHER)
    params = est.get_params()
    assert params["encoding"] == "fisher" and params["head"] is None and params["components"] == 4
    assert "encoding='fisher'" in repr(est) and "head" not in repr(est)
    twin = sklearn_clone(est)
    assert twin.get_params() == params and not hasattr(twin, "model_")
    o = est.fit_options()
    assert (o.encoding, o.pca, o.components, o.fisher_pyramid) == ("fisher-vector", 8, 4, "1x1,2x2")
    twin.fit(X, y)
    assert twin.model_.encoding == "fisher-vector" and twin.model_.head == "linear-svm"
    np.testing.assert_array_equal(twin.classes_, CLASSES)
    # the same fit as bowlrp.fit with the same knobs
    np.testing.assert_array_equal(twin.decision_function(X), fisher.predict(X).scores)
    assert twin.score(X, y) == pytest.approx(np.mean(twin.predict(X) == np.asarray(y)))
    e = twin.explain(X[0], "square")
    assert e.class_name == "square" and e.conservation.ok
    path = scratch / "fisher-estimator.bowlrp"
    twin.save(path)
    back = BowClassifier.load(path)
    p = back.get_params()
    assert (p["encoding"], p["head"], p["pca"], p["components"], p["fisher_samples"], p["fisher_pyramid"]) == \
        ("fisher-vector", None, 8, 4, 2000, "1x1,2x2")
    np.testing.assert_array_equal(back.decision_function(X), twin.decision_function(X))
    refit = sklearn_clone(back).fit(X, y)  # the stored options fit the same model again
    np.testing.assert_array_equal(refit.decision_function(X), twin.decision_function(X))
    again = pickle.loads(pickle.dumps(twin))
    np.testing.assert_array_equal(again.decision_function(X), twin.decision_function(X))
    kernel = BowClassifier(encoding="fisher-vector", head="kernel", kernel="linear", components=4, pca=8,
                           fisher_samples=2000).fit(X, y)
    assert kernel.model_.head == "kernel-svm" and kernel.get_params()["head"] == "kernel"
    with pytest.raises(ValueError):
        BowClassifier(encoding="fisher", pca=200).fit(X, y)


def test_mirror_training_adds_the_mirrored_images(shapes):
    """mirror_training: the report holds 2n rows, row n + i the encoding of image i mirrored left-right;
    used counts the images; the head differs from the one trained without mirrors."""
    X, y = shapes
    n = len(X)
    model, report = bowlrp.fit(X, y, report=True, mirror_training=True, **FISHER)
    assert report.used == n and report.skipped == []
    H = report.histograms
    assert H.shape == (2 * n, model.dimension) and report.encoded.shape == (2 * n,) and report.encoded.all()
    for i in (0, n // 2, n - 1):
        np.testing.assert_array_equal(H[i], model.encode(X[i]))
        np.testing.assert_array_equal(H[n + i], model.encode(np.ascontiguousarray(X[i][:, ::-1])))
        assert not np.array_equal(H[i], H[n + i])
    plain = bowlrp.fit(X, y, mirror_training=False, **FISHER)
    assert not np.array_equal(plain.weights, model.weights)
    assert bowlrp.fit(X, y, report=True, mirror_training=False, **FISHER)[1].histograms.shape == (n, model.dimension)
    # None (the default): on for Fisher vectors, so the default fit is the mirrored one
    assert bowlrp.FitOptions.defaults()["mirror_training"] is None
    np.testing.assert_array_equal(bowlrp.fit(X, y, **FISHER).weights, model.weights)
    est = BowClassifier(mirror_training=True, **FISHER)
    assert est.get_params()["mirror_training"] is True and sklearn_clone(est).mirror_training is True
    assert BowClassifier().mirror_training is None
