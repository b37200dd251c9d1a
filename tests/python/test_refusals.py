"""Refusals of the Python package (issue 25): paths with a NUL, arrays beyond max_pixels, non-finite
maps and encodings, class names no model file can hold, one exception type per problem, and
scikit-learn's tags and meta-estimators."""

import pickle
import struct
import zlib

import numpy as np
import pytest

import bowlrp
from bowlrp import BowClassifier
from conftest import CLASSES, WORDS, object_mask

FAST = dict(steps=10, random_orders=1)


# ---- paths ----------------------------------------------------------------------------------


def test_a_nul_in_a_path_is_refused_not_cut(model, paths, scratch):
    # The C library stops at the NUL: the file before it was scored, loaded or written instead.
    saved = scratch / "nul.bowlrp"
    model.save(saved)
    cases = [
        lambda: model.scores(str(paths[0]) + "\x00.png"),
        lambda: model.predict([str(paths[0]) + "\x00x"]),
        lambda: bowlrp.load(str(saved) + "\x00x"),
        lambda: bowlrp.Model.load(str(saved) + "\x00x"),
        lambda: bowlrp.read_image(str(paths[0]) + "\x00"),
    ]
    for call in cases:
        with pytest.raises(ValueError, match="embedded null byte"):
            call()
    out = scratch / "written.bowlrp"
    with pytest.raises(ValueError, match="embedded null byte"):
        model.save(str(out) + "\x00x")
    assert not out.exists()
    # A cache folder is a path too: refused by the library's options (PredictOptions, FitOptions).
    cache = scratch / "cache"
    with pytest.raises(ValueError, match="cache_dir: a NUL character at position"):
        model.predict([str(paths[0])], cache_dir=str(cache) + "\x00x")
    with pytest.raises(ValueError, match="cache_dir: a NUL character at position"):
        bowlrp.fit([str(p) for p in paths[:4]], ["a", "b", "a", "b"], cache_dir=str(cache) + "\x00x")
    assert not cache.exists()


# ---- arrays ----------------------------------------------------------------------------------


def test_array_images_are_bounded_before_any_copy(model):
    # A stride-0 view of one byte stands for 10^10 pixels: refused by max_pixels, not copied.
    huge = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=(100000, 100000), strides=(0, 0))
    for call in (lambda: model.scores(huge), lambda: model.explain(huge), lambda: model.encode(huge)):
        with pytest.raises(ValueError, match="max_pixels"):
            call()
    # A side beyond int: refused, not narrowed to a negative width.
    tall = np.lib.stride_tricks.as_strided(np.zeros(1, np.uint8), shape=(2**31 + 100, 1), strides=(0, 0))
    with pytest.raises(ValueError, match="2147483647|max_pixels"):
        model.scores(tall)
    # fit applies its own max_pixels.
    small = [np.full((40, 40), 128, np.uint8), np.full((40, 40), 30, np.uint8)]
    with pytest.raises(ValueError, match="max_pixels"):
        bowlrp.fit(small, ["a", "b"], words=WORDS, max_pixels=1000)


def test_read_image_refuses_a_declared_size_beyond_max_pixels(scratch):
    # A PNG header declaring 100000 x 100000 pixels (10^10): the max_pixels message, not OpenCV's assertion.
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 100000, 100000, 8, 0, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    path = scratch / "huge.png"
    path.write_bytes(png)
    with pytest.raises(RuntimeError, match="max_pixels") as e:
        bowlrp.read_image(path)
    assert str(path) in str(e.value)


# ---- non-finite values -------------------------------------------------------------------------


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan])
def test_library_renderer_refuses_non_finite_maps(bad):
    m = np.zeros((20, 30))
    m[5, 7] = 1.0
    m[3, 4] = bad
    for call in (lambda: bowlrp.render.heatmap(m), lambda: bowlrp.render.edges(m, np.zeros((20, 30, 3), np.uint8))):
        with pytest.raises(ValueError, match="non-finite"):
            call()
    # As the numpy renderers do.
    with pytest.raises(ValueError):
        bowlrp.render.imgify(m)


def test_localise_refuses_a_non_finite_map():
    m = np.ones((20, 20))
    m[2, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        bowlrp.localise(m, mask=np.ones((20, 20), bool))


def test_decision_refuses_non_finite_encodings(model, paths):
    x = np.stack([model.encode(paths[0])] * 2)
    assert np.all(np.isfinite(model.decision(x)))
    x[1, 3] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        model.decision(x)
    x[1, 3] = np.inf
    with pytest.raises(ValueError, match="encoding 1"):
        model.decision(x)


# ---- fit ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a\tb", "", "line\nbreak", "sep\u2028x"])
def test_fit_refuses_class_names_a_model_file_cannot_hold(rgb_images, name):
    labels = [name if i % 2 else "plain" for i in range(len(rgb_images[:6]))]
    with pytest.raises(ValueError, match="classes\\[.\\]\\.name"):
        bowlrp.fit(rgb_images[:6], labels, words=WORDS)


def test_printable_class_names_save_load_and_pickle(rgb_images, scratch):
    labels = ["é ü" if i % 2 else "plain" for i in range(6)]
    m = bowlrp.fit(rgb_images[:6], labels, words=8, step=8)
    m.save(scratch / "names.bowlrp")
    assert bowlrp.load(scratch / "names.bowlrp").class_names == m.class_names
    est = BowClassifier.load(scratch / "names.bowlrp")
    assert list(pickle.loads(pickle.dumps(est)).classes_) == m.class_names


# ---- one problem, one exception type ---------------------------------------------------------------


def test_a_wrong_size_mask_is_a_value_error_everywhere(model, paths, rgb_images):
    e = model.explain(paths[0], 0)
    wrong = np.ones((10, 10), bool)
    with pytest.raises(ValueError, match="10x10"):
        bowlrp.localise(e, mask=wrong)
    with pytest.raises(ValueError, match="10x10"):
        bowlrp.evaluate_explanation(model, rgb_images[0], 0, mask=wrong, **FAST)
    with pytest.raises(ValueError, match="10x10"):
        bowlrp.evaluate_explanation(model, paths[0], 0, mask=wrong, **FAST)
    # The right size still works for a file.
    q = bowlrp.evaluate_explanation(model, paths[0], 0, mask=object_mask(paths[0]), **FAST)
    assert q.ok


def test_an_image_too_small_is_a_value_error_everywhere(model):
    tiny = np.zeros((1, 1), np.uint8)
    with pytest.raises(ValueError):
        model.explain(tiny, 0)
    with pytest.raises(ValueError):
        model.scores(tiny)
    with pytest.raises(ValueError):
        model.encode(tiny)


def test_unreadable_files_stay_runtime_errors(model, scratch):
    bad = scratch / "not_an_image.png"
    bad.write_bytes(b"not an image")
    with pytest.raises(RuntimeError, match="not_an_image.png"):
        model.scores(bad)


# ---- minor ---------------------------------------------------------------------------------------


def test_spray_refuses_more_clusters_than_maps():
    rng = np.random.default_rng(3)
    maps = [rng.random((30, 40)) for _ in range(5)]
    with pytest.raises(ValueError, match="clusters = 10 but only 5 maps"):
        bowlrp.spray(maps, clusters=10, grid_width=8, grid_height=6, neighbours=2, eigenvalues=4)
    assert bowlrp.spray(maps, clusters=5, grid_width=8, grid_height=6, neighbours=2, eigenvalues=5).clusters == 5


def test_an_inverted_box_is_refused():
    m = np.ones((20, 20))
    with pytest.raises(ValueError, match="inverted"):
        bowlrp.localise(m, boxes=[(10, 2, 5, 8)])
    with pytest.raises(ValueError, match="inverted"):
        bowlrp.localise(m, boxes=[(2, 10, 8, 5)], voc_boxes=True)
    assert bowlrp.localise(m, boxes=[(2, 2, 8, 8)]).area_share > 0


def test_evaluate_explanations_names_the_type_not_the_array(model, rgb_images, paths):
    image = rgb_images[0]
    with pytest.raises(TypeError) as e:
        bowlrp.evaluate_explanations(model, image, **FAST)
    assert "ndarray" in str(e.value) and len(str(e.value)) < 300
    with pytest.raises(TypeError) as e:
        bowlrp.evaluate_explanations(model, [image], **FAST)
    assert "jobs[0]" in str(e.value) and len(str(e.value)) < 300
    with pytest.raises(TypeError):
        bowlrp.evaluate_explanations(model, str(paths[0]), **FAST)


# ---- scikit-learn ----------------------------------------------------------------------------------


def test_sklearn_tags_say_classifier(monkeypatch):
    pytest.importorskip("sklearn")
    import sklearn.utils as su

    if not hasattr(su, "Tags"):  # scikit-learn < 1.6 (Debian 12 has 1.2): the dataclasses it would pass
        from dataclasses import dataclass, field

        @dataclass
        class TargetTags:
            required: bool
            one_d_labels: bool = False

        @dataclass
        class ClassifierTags:
            poor_score: bool = False

        @dataclass
        class InputTags:
            two_d_array: bool = True
            string: bool = False

        @dataclass
        class Tags:
            estimator_type: str
            target_tags: TargetTags
            classifier_tags: ClassifierTags = None
            input_tags: InputTags = field(default_factory=InputTags)
            non_deterministic: bool = False

        for name, value in dict(Tags=Tags, TargetTags=TargetTags, ClassifierTags=ClassifierTags,
                                InputTags=InputTags).items():
            monkeypatch.setattr(su, name, value, raising=False)
    tags = BowClassifier().__sklearn_tags__()
    assert tags.estimator_type == "classifier"
    assert tags.target_tags.required is False
    assert tags.input_tags.string and not tags.input_tags.two_d_array
    if hasattr(su, "get_tags"):  # scikit-learn >= 1.6 reads them itself
        assert su.get_tags(BowClassifier()).estimator_type == "classifier"


def test_sklearn_meta_estimators(rgb_images, listing):
    pytest.importorskip("sklearn")
    from sklearn.base import is_classifier
    from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
    from sklearn.pipeline import Pipeline

    X = rgb_images[:18]
    y = np.array(listing["labels"][:18])
    assert len(set(y)) >= 2
    est = BowClassifier(words=8, step=8, bin_sizes=[4], n_jobs=1)
    assert is_classifier(est)
    cv = StratifiedKFold(n_splits=2, shuffle=True, random_state=0)
    scores = cross_val_score(est, X, y, cv=cv)
    assert scores.shape == (2,) and np.all((0 <= scores) & (scores <= 1))
    grid = GridSearchCV(est, {"C": [1.0, 10.0]}, cv=cv).fit(X, y)
    assert grid.best_params_["C"] in (1.0, 10.0)
    assert set(grid.predict(X[:3])) <= set(y)
    pipe = Pipeline([("bow", BowClassifier(words=8, step=8, bin_sizes=[4], n_jobs=1))]).fit(X, y)
    assert pipe.score(X, y) >= 0.0
    assert is_classifier(pipe)
