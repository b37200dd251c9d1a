"""BowClassifier: the scikit-learn protocol (params, clone, fitted state) and its predictions."""

import inspect
import pickle

import numpy as np
import pytest

import bowlrp
from bowlrp import BowClassifier, NotFittedError
from conftest import CLASSES, WORDS, sklearn_clone


def test_params_mirror_fit_options():
    est = BowClassifier()
    params = est.get_params()
    defaults = bowlrp.FitOptions.defaults()
    expected = [("random_state" if k == "seed" else "n_jobs" if k == "threads" else k) for k in defaults]
    assert list(params) == expected
    for k, v in defaults.items():
        if k not in ("seed", "threads"):
            assert params[k] == v
    assert params["random_state"] is None and params["n_jobs"] is None
    sig = inspect.signature(BowClassifier.__init__)
    assert [p for p in sig.parameters][1:] == expected
    assert sig.parameters["words"].default == defaults["words"]
    with pytest.raises(TypeError, match="unknown parameter"):
        BowClassifier(wordz=3)


def test_set_params_and_clone():
    est = BowClassifier(words=WORDS, C=10.0)
    assert est.set_params(step=6, random_state=3) is est
    assert est.get_params()["step"] == 6 and est.random_state == 3
    with pytest.raises(ValueError, match="Invalid parameter"):
        est.set_params(nope=1)
    twin = sklearn_clone(est)
    assert twin is not est and twin.get_params() == est.get_params()
    assert not hasattr(twin, "model_")
    assert "words=32" in repr(est) and "C=10.0" in repr(est)
    o = est.fit_options()
    assert (o.words, o.C, o.step, o.seed, o.threads) == (WORDS, 10.0, 6, 3, 0)
    assert BowClassifier(n_jobs=2).fit_options().threads == 2


def test_not_fitted():
    est = BowClassifier()
    with pytest.raises(NotFittedError):
        est.predict(["x.png"])
    assert issubclass(NotFittedError, ValueError)


def test_fit_predict_decision(paths, listing, rgb_images, model):
    y = np.array([CLASSES.index(c) for c in listing["labels"]]) * 10  # ints, not the model's names
    est = BowClassifier(words=WORDS, n_jobs=2).fit(rgb_images, y)
    np.testing.assert_array_equal(est.classes_, [0, 10, 20])
    d = est.decision_function(paths)
    assert d.shape == (len(paths), 3)
    pred = est.predict(paths)
    np.testing.assert_array_equal(pred, est.classes_[np.argmax(d, axis=1)])
    # the same numbers as the plain model fitted on the folder (same images, same defaults)
    np.testing.assert_array_equal(d, model.predict(paths).scores)
    assert est.score(paths, y) == pytest.approx(np.mean(pred == y))
    e = est.explain(paths[0], 10)
    assert e.class_name == "10"
    with pytest.raises(ValueError, match="not one of"):
        est.explain(paths[0], 5)


def test_binary_decision_function(paths, listing):
    keep = [i for i, c in enumerate(listing["labels"]) if c != "triangle"]
    X = [paths[i] for i in keep]
    y = [listing["labels"][i] for i in keep]
    est = BowClassifier(words=WORDS).fit(X, y)
    d = est.decision_function(X)
    assert d.shape == (len(X),)
    np.testing.assert_array_equal(np.where(d > 0, est.classes_[1], est.classes_[0]), est.predict(X))


def test_save_load_and_pickle(paths, listing, scratch):
    est = BowClassifier(words=WORDS, random_state=5).fit(paths, listing["labels"])
    path = scratch / "estimator.bowlrp"
    est.save(path)
    back = BowClassifier.load(path)
    assert back.words == WORDS and back.random_state == 5
    np.testing.assert_array_equal(back.decision_function(paths), est.decision_function(paths))
    again = pickle.loads(pickle.dumps(est))
    np.testing.assert_array_equal(again.decision_function(paths), est.decision_function(paths))
    np.testing.assert_array_equal(again.classes_, est.classes_)
