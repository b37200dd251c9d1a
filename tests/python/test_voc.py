"""Real data: a small PASCAL VOC2007 run (skipped loudly without the data; a failure under CI=true)."""

import os
import pathlib
import time

import numpy as np
import pytest

import bowlrp


def voc_root():
    for candidate in (os.environ.get("BOWLRP_VOC_ROOT"), os.environ.get("BOWLRP_VOC_ROOT_DEFAULT"),
                      str(pathlib.Path(__file__).resolve().parents[2] / ".." / "shared" / "datasets" / "voc2007"
                          / "VOCdevkit" / "VOC2007")):
        if candidate and (pathlib.Path(candidate) / "JPEGImages").is_dir():
            return pathlib.Path(candidate)
    if os.environ.get("CI") == "true":
        pytest.fail("VOC2007 not found (set BOWLRP_VOC_ROOT); CI=true makes its absence a failure")
    pytest.skip("SKIPPED: VOC2007 not found (set BOWLRP_VOC_ROOT or put it in ../shared/datasets/voc2007)")


@pytest.fixture(scope="module")
def root():
    return voc_root()


def test_fit_voc(root):
    model, report = bowlrp.fit_voc(root, "train", ["cat", "dog"], words=8, max_side=64, threads=2, report=True)
    assert model.class_names == ["cat", "dog"] and report.used > 0


def test_voc_protocol_small(root):
    t0 = time.monotonic()
    ev = bowlrp.run_voc_protocol(root, classes=["cat", "dog"], max_images=16, explain=1, gallery=0, words=32,
                                 steps=10, random_orders=1, threads=2)
    assert ev.classes == ["cat", "dog"]
    assert ev.scores.shape == (2, len(ev.test_ids)) and ev.labels.shape == ev.scores.shape
    assert 0 < len(ev.test_ids) <= 16 and 0 < ev.train_images <= 16
    assert ev.ap.shape == (2,) and 0 <= ev.map <= 1
    assert ev.map == pytest.approx(ev.ap.mean())
    assert ev.model is not None and ev.model.class_names == ["cat", "dog"]
    assert ev.quality.explained >= 1 and "lrp" in ev.quality.aopc()
    assert ev.quality.max_conservation_error <= 1e-9
    # the returned model scores the test images as the protocol did
    paths = [str(root / "JPEGImages" / f"{i}.jpg") for i in ev.test_ids[:4]]
    np.testing.assert_array_equal(ev.model.predict(paths).scores.T, ev.scores[:, :4])
    assert time.monotonic() - t0 < 60


def test_jpeg_paths_and_decoded_arrays_agree(root):
    ids = (root / "ImageSets" / "Main" / "val.txt").read_text().split()[:3]
    paths = [str(root / "JPEGImages" / f"{i}.jpg") for i in ids]
    images = [bowlrp.read_image(p) for p in paths]
    assert all(im.ndim == 3 and im.shape[2] == 3 for im in images)
    # libjpeg's pixels (the file path) and OpenCV's (read_image) must give the same scores
    model = bowlrp.fit(images + [im[::-1].copy() for im in images], ["a"] * 3 + ["b"] * 3, words=16, max_side=200)
    np.testing.assert_array_equal(model.predict(paths).scores, model.predict(images).scores)
