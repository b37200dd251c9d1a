"""Model: fit, load/save, predict from paths and arrays, options, errors, progress and the GIL."""

import pathlib
import pickle

import numpy as np
import pytest

import bowlrp
from conftest import assert_gil_released, CLASSES, PER_CLASS, WORDS, read_model_file


def test_fit_on_folder(fitted, paths):
    model, report = fitted
    assert model.class_names == CLASSES
    assert model.n_classes == 3
    assert model.words == WORDS
    assert model.dimension == WORDS * 5  # 1x1 + 2x2 pyramid, the library's default
    assert model.kernel == "hik"
    assert report.used == len(paths)
    assert report.skipped == []
    assert report.histograms.shape == (len(paths), model.dimension)
    assert not report.histograms.flags.writeable
    assert report.encoded.all()
    # L1-normalised histograms of the training images, the same as encoding them again
    np.testing.assert_allclose(report.histograms.sum(axis=1), 1.0, rtol=1e-12)
    np.testing.assert_array_equal(report.histograms[3], model.encode(paths[3]))
    assert set(report.times) == {"codebook_extract", "kmeans", "encode", "svm"}
    assert 0.5 <= report.training_accuracy <= 1.0


def test_save_load_round_trip(model, paths, scratch):
    path = scratch / "round-trip.bowlrp"
    model.save(path)
    loaded = bowlrp.Model.load(path)
    assert loaded.class_names == model.class_names
    assert loaded.fingerprint == model.fingerprint
    np.testing.assert_array_equal(loaded.predict(paths).scores, model.predict(paths).scores)
    again = scratch / "round-trip-2.bowlrp"
    loaded.save(again)
    assert again.read_bytes() == path.read_bytes()
    # the file is the documented format: biases and dimension as a numpy reader sees them
    header, arrays = read_model_file(path)
    assert header["dim"] == model.dimension
    assert [c["name"] for c in header["classes"]] == model.class_names
    np.testing.assert_array_equal([c["bias"] for c in header["classes"]], model.biases)
    assert arrays["codebook_centres"].shape == (WORDS, 128)


def test_scores_from_paths_equal_scores_from_arrays(model, paths, rgb_images):
    by_path = model.predict(paths, threads=2)
    by_array = model.predict(rgb_images, threads=1)
    assert by_path.ok.all() and by_array.ok.all()
    np.testing.assert_array_equal(by_path.scores, by_array.scores)
    assert by_path.labels == by_array.labels
    np.testing.assert_array_equal(model.scores(paths[0]), by_path.scores[0])
    np.testing.assert_array_equal(model.scores(rgb_images[0]), by_path.scores[0])
    # RGBA: alpha is ignored; BGR order would give other scores (the shapes are coloured)
    rgba = np.concatenate([rgb_images[0], np.full(rgb_images[0].shape[:2] + (1,), 7, np.uint8)], axis=2)
    np.testing.assert_array_equal(model.scores(rgba), by_path.scores[0])
    assert not np.array_equal(model.encode(rgb_images[0][..., ::-1].copy()), model.encode(rgb_images[0]))


def test_grey_inputs(model, scratch):
    rng = np.random.default_rng(3)
    grey = rng.integers(0, 256, size=(64, 80), dtype=np.uint8)
    bowlrp.write_png(scratch / "grey.png", grey)  # written as three equal channels
    from_file = model.scores(scratch / "grey.png")
    np.testing.assert_array_equal(model.scores(np.repeat(grey[..., None], 3, axis=2)), from_file)
    # float grey in [0, 1] goes through from_gray; k/255 floats equal the uint8 grey image
    f = model.scores(grey.astype(np.float32) / np.float32(255))
    np.testing.assert_allclose(f, model.scores(grey), atol=1e-6)


def test_fit_from_arrays_and_paths_agree(paths, rgb_images, listing):
    labels = listing["labels"]
    by_paths = bowlrp.fit(paths, labels, words=WORDS, threads=2)
    by_arrays = bowlrp.fit(rgb_images, labels, words=WORDS, threads=1)
    assert by_arrays.class_names == by_paths.class_names == CLASSES
    np.testing.assert_array_equal(by_arrays.predict(paths).scores, by_paths.predict(paths).scores)


def test_fit_with_int_labels_and_label_matrix(paths, listing):
    ints = [CLASSES.index(c) for c in listing["labels"]]
    m = bowlrp.fit(paths, ints, words=WORDS)
    assert m.class_names == ["0", "1", "2"]
    matrix = -np.ones((len(paths), 2), dtype=int)
    for i, c in enumerate(listing["labels"]):
        if c == "circle":
            matrix[i, 0] = 1
        elif c == "square":
            matrix[i, 1] = 1
    m2 = bowlrp.fit(paths, matrix, class_names=["round", "boxy"], words=WORDS)
    assert m2.class_names == ["round", "boxy"]
    with pytest.raises(ValueError, match="class_names"):
        bowlrp.fit(paths, matrix, words=WORDS)
    with pytest.raises(ValueError, match="one label per image"):
        bowlrp.fit(paths, ints[:-1], words=WORDS)


def test_fit_options_come_from_the_library():
    d = bowlrp.FitOptions.defaults()
    o = bowlrp.FitOptions()
    assert o.to_dict() == d
    assert list(d) == bowlrp.FitOptions.names()
    assert {"words", "step", "bin_sizes", "max_side", "pyramid", "pooling", "mapping", "kernel", "C", "seed",
            "threads", "cache_dir"} <= set(d)
    o2 = bowlrp.FitOptions(words=64, pyramid=[(1, 1), (3, 2)], pooling="max", kernel="chi2", bin_sizes=[4, 8])
    assert (o2.words, o2.pyramid, o2.pooling, o2.kernel, o2.bin_sizes) == (64, "1x1,3x2", "max", "chi2", (4, 8))
    assert bowlrp.FitOptions(pooling="pmean:2.5").pooling == "pmean:2.5"
    assert pickle.loads(pickle.dumps(o2)) == o2
    assert o2.replace(words=8).words == 8 and o2.words == 64
    with pytest.raises(TypeError, match="unknown option 'wrods'"):
        bowlrp.FitOptions(wrods=3)
    with pytest.raises(TypeError, match="option words"):
        bowlrp.FitOptions(words=2.5)
    with pytest.raises(ValueError, match="pooling"):
        bowlrp.FitOptions(pooling="median")
    with pytest.raises(ValueError, match="hard"):  # the library's parser lists the kinds
        bowlrp.FitOptions(mapping="fuzzy")
    with pytest.raises(ValueError, match="words"):  # the library's validation names the field
        bowlrp.FitOptions(words=0).validate()


def test_library_errors_keep_their_message(scratch, paths, shapes_dir):
    bad = scratch / "corrupt.bowlrp"
    bad.write_bytes(b"this is not a model at all")
    with pytest.raises(RuntimeError) as e:
        bowlrp.Model.load(bad)
    assert str(bad) in str(e.value) and "not a bowlrp model file" in str(e.value)
    empty = scratch / "empty.bowlrp"
    empty.write_bytes(b"")
    with pytest.raises(RuntimeError, match="is empty"):
        bowlrp.load(empty)
    with pytest.raises(ValueError, match="words"):
        bowlrp.fit(shapes_dir, words=0)
    with pytest.raises(RuntimeError, match="missing-folder"):
        bowlrp.fit(scratch / "missing-folder", words=WORDS)


def test_unreadable_images_keep_their_row(model, paths, scratch):
    broken = scratch / "broken.png"
    broken.write_bytes(b"\x89PNG\r\n\x1a\n not really")
    p = model.predict([paths[0], broken, paths[1]])
    np.testing.assert_array_equal(p.ok, [True, False, True])
    assert p.labels[1] is None and p.labels[0] in CLASSES
    assert str(broken) in p.errors[1] and p.errors[0] == ""
    with pytest.raises(RuntimeError, match="broken.png"):
        model.scores(broken)


def test_input_checks(model, paths):
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        model.scores(np.full((40, 40), 1.5, np.float32))
    with pytest.raises(TypeError, match="uint8"):
        model.scores(np.zeros((40, 40), np.int64))
    with pytest.raises(ValueError, match="HxWx3"):
        model.scores(np.zeros((40, 40, 2), np.uint8))
    with pytest.raises(TypeError, match="not both"):
        model.predict([paths[0], np.zeros((40, 40), np.uint8)])
    assert len(model.predict([])) == 0


def test_progress_callback(model, paths):
    events = []
    model.predict(paths, threads=2, progress=events.append)
    stages = {e.stage for e in events}
    assert stages, "no progress reported"
    encode = [e for e in events if e.total == len(paths)]
    assert encode and encode[0].kind == "start" and encode[-1].kind == "finish"
    assert encode[-1].done == len(paths)
    assert tuple(encode[-1]) == (encode[-1].stage, len(paths), len(paths))


def test_progress_exception_propagates(model, paths):
    class Stop(Exception):
        pass

    def boom(event):
        if event.kind == "step":
            raise Stop("from the callback")

    with pytest.raises(Stop, match="from the callback"):
        model.predict(paths, threads=2, progress=boom)
    # the model is still usable afterwards
    assert model.predict(paths[:2]).ok.all()


def test_progress_bar_on_stderr(model, paths, capfd):
    model.predict(paths[:4], threads=1, progress=True)
    err = capfd.readouterr().err
    assert "4/4" in err and "#" in err


def test_gil_is_released_during_predict(model, paths):
    assert_gil_released(lambda: model.predict(paths * 4, threads=1), "predict")


def test_bad_inputs_get_clear_errors(scratch, model, paths, shapes_dir):
    # A single class folder: one-vs-rest needs two.
    single = scratch / "single"
    (single / "circle").mkdir(parents=True, exist_ok=True)
    for p in paths[:3]:
        (single / "circle" / pathlib.Path(p).name).write_bytes(pathlib.Path(p).read_bytes())
    with pytest.raises(ValueError, match="single class folder"):
        bowlrp.fit(single, words=WORDS)
    # An empty folder.
    empty = scratch / "empty-folder"
    empty.mkdir(exist_ok=True)
    with pytest.raises(RuntimeError, match="empty-folder"):
        bowlrp.fit(empty, words=WORDS)
    # A truncated model file names the file and says so.
    whole = scratch / "whole.bowlrp"
    model.save(str(whole))
    cut = scratch / "cut.bowlrp"
    cut.write_bytes(whole.read_bytes()[:200])
    with pytest.raises(RuntimeError) as e:
        bowlrp.Model.load(cut)
    assert str(cut) in str(e.value) and "truncated" in str(e.value)
    # Non-ASCII file names are files like any other.
    odd = scratch / "naïve ünïcode 图像.png"
    odd.write_bytes(pathlib.Path(paths[0]).read_bytes())
    np.testing.assert_array_equal(model.scores(odd), model.scores(paths[0]))
    assert model.explain(odd).ok
    # An image too small for one descriptor is refused with the size it needs (a ValueError, as from
    # explain); in a batch it keeps its row.
    tiny = np.full((3, 2, 3), 128, np.uint8)
    with pytest.raises(ValueError, match="too small for one descriptor"):
        model.scores(tiny)
    p = model.predict([tiny, bowlrp.read_image(paths[0])])
    np.testing.assert_array_equal(p.ok, [False, True])
    assert "too small" in p.errors[0]
