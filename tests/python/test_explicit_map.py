"""Explicit-map linear SVM heads from Python: the fit keywords (head="explicit-map", map_order,
map_period), the model file (head kind "explicit-map-svm", its map, weights [C, V(2n+1)], read with numpy),
and explanations conserved at 1e-9 through the model's explainer."""

import numpy as np
import pytest

import bowlrp
from conftest import read_model_file, shape_arrays

CLASSES = ["circle", "square", "triangle"]
WORDS = 16


@pytest.fixture(scope="module")
def shapes():
    return shape_arrays(CLASSES, 6, 48)


@pytest.fixture(scope="module")
def model(shapes):
    X, y = shapes
    return bowlrp.fit(X, y, words=WORDS, head="explicit-map", kernel="chi2", map_order=2, seed=3)


def test_keywords_and_kind(model):
    d = bowlrp.FitOptions.defaults()
    assert "map_order" in d and "map_period" in d
    assert model.head_kind == "explicit-map-svm"
    o = model.fit_options()
    assert (o.head, o.kernel, o.map_order) == ("explicit-map-svm", "chi2", 2)
    with pytest.raises(ValueError, match="map_order"):
        bowlrp.FitOptions(map_order=0)


def test_model_file(model, tmp_path):
    path = tmp_path / "m.bowlrp"
    model.save(str(path))
    header, arrays = read_model_file(path)
    head = header["head"]
    assert head["kind"] == "explicit-map-svm"
    assert head["map"]["kernel"] == "chi2" and head["map"]["order"] == 2
    V = header["dim"]
    assert arrays["weights"].shape == (len(CLASSES), V * 5)
    back = bowlrp.load(str(path))
    assert back.head_kind == "explicit-map-svm"


def test_explanations_conserve(model, shapes):
    X, _ = shapes
    for i in range(3):
        for cls in CLASSES:
            e = model.explain(X[i], cls)
            assert e.check_conservation(1e-9).ok
            f = e.score
            assert abs(f - (e.dimension_relevance.sum() + e.absorbed)) <= 1e-9 * max(1.0, abs(f))
