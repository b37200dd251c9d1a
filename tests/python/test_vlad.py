"""VLAD models from Python (the third encoding kind, registered in model/kinds/vlad.h): fit from numpy
images with the vlad_* keywords, the model's properties and options, the model file (read with numpy),
predict as the linear head on unit-norm VLAD vectors, and explanations that conserve with the ε rule's
absorbed part."""

import numpy as np
import pytest

import bowlrp
from conftest import read_model_file, shape_arrays

CLASSES = ["circle", "square", "triangle"]
PER_CLASS = 8
SIDE = 64
VLAD = dict(encoding="vlad", vlad_words=6, vlad_samples=2000, seed=2)


@pytest.fixture(scope="module")
def shapes():
    return shape_arrays(CLASSES, PER_CLASS, SIDE)


@pytest.fixture(scope="module")
def vlad(shapes):
    X, y = shapes
    return bowlrp.fit(X, y, **VLAD)


def test_vlad_options_and_properties(vlad):
    o = bowlrp.FitOptions(encoding="vlad", vlad_words=16, vlad_pyramid="1x1,2x2")
    assert (o.encoding, o.vlad_words, o.vlad_pyramid) == ("vlad", 16, "1x1,2x2")
    o.validate()
    with pytest.raises(ValueError, match="encoding 'vlaad': expected bag-of-words \\(bow\\), fisher-vector \\(fisher\\) or vlad"):
        bowlrp.FitOptions(encoding="vlaad")
    assert (vlad.encoding, vlad.head) == ("vlad", "linear-svm")
    assert vlad.dimension == 6 * 128
    assert vlad.encoding_summary.startswith("vlad, RootSIFT, 6 words")
    for name in ("words", "components", "support_size"):
        with pytest.raises(AttributeError, match="this one is vlad \\+ linear-svm"):
            getattr(vlad, name)
    f = vlad.fit_options()
    assert (f.encoding, f.head, f.vlad_words, f.vlad_samples, f.seed) == ("vlad", None, 6, 2000, 2)


def test_vlad_model_file_and_predict(vlad, shapes, tmp_path):
    X, _ = shapes
    path = tmp_path / "v.bowlrp"
    vlad.save(str(path))
    header, arrays = read_model_file(path)
    assert header["format_version"] == 2 and header["encoding"]["kind"] == "vlad"
    assert header["encoding"]["pipeline"]["vlad"]["words"] == 6 and header["dim"] == 6 * 128
    centres = arrays["vlad_centres"]
    assert centres.shape == (6, 128) and centres.min() >= 0 and centres.max() <= 1
    back = bowlrp.load(str(path))
    assert back.fingerprint == vlad.fingerprint
    phi = np.stack([vlad.encode(x) for x in X])
    # signed square root, intra-normalisation and the L2 norm of the one cell: unit norm, every
    # word block of norm 1/sqrt(words used) or 0
    np.testing.assert_allclose(np.linalg.norm(phi, axis=1), 1.0, rtol=1e-12)
    p = back.predict(X)
    assert p.ok.all()
    np.testing.assert_allclose(phi @ vlad.weights.T + vlad.biases, p.scores, rtol=0, atol=1e-12)


def test_vlad_explanations_conserve(vlad, shapes):
    X, _ = shapes
    for i in (0, 9, 17):
        for cls in range(len(CLASSES)):
            e = vlad.explain(X[i], cls)
            f = e.score
            tol = 1e-9 * max(1.0, abs(f))
            R_d, R_l, R_q = e.dimension_relevance.sum(), e.feature_relevance.sum(), e.relevance.sum()
            assert abs(f - (R_d + e.absorbed)) <= tol
            assert abs(R_d - (R_l + e.feature_unassigned + e.absorbed_features)) <= tol
            assert abs(R_l - (R_q + e.pixel_unassigned)) <= tol
            assert e.conservation.ok
    # a larger ε keeps more (the VLAD layer uses the composite's ε of local sums, fisher_epsilon)
    assert abs(vlad.explain(X[0], 0, fisher_epsilon=1.0).absorbed_features) > \
        abs(vlad.explain(X[0], 0).absorbed_features)
