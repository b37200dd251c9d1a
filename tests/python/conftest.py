"""Shared fixtures of the Python suite: a tiny synthetic folder-per-class set and a model on it.

Run against the build tree: PYTHONPATH=<build>/python python3 -m pytest tests/python (ctest's
`python` entry does exactly that). Scratch files go to $BOWLRP_TEST_TMP when set (ctest sets it to
the build tree), else to pytest's temporary folder.
"""

import os
import threading
import time
import pathlib
import shutil

import numpy as np
import pytest

import bowlrp

CLASSES = ["circle", "square", "triangle"]
PER_CLASS = 12
SIDE = 96
WORDS = 32


@pytest.fixture(scope="session")
def scratch(tmp_path_factory):
    base = os.environ.get("BOWLRP_TEST_TMP")
    if base:
        d = pathlib.Path(base) / "pytest-scratch"
        shutil.rmtree(d, ignore_errors=True)  # each run starts clean
        d.mkdir(parents=True)
        return d
    return tmp_path_factory.mktemp("bowlrp")


@pytest.fixture(scope="session")
def shapes_root(scratch):
    root = scratch / "shapes"
    n = bowlrp.datasets.write_shapes(root, classes=CLASSES, images_per_class=PER_CLASS, width=SIDE, height=SIDE, seed=7)
    assert n == len(CLASSES) * PER_CLASS
    return root


@pytest.fixture(scope="session")
def shapes_dir(shapes_root):
    return shapes_root / "images"


@pytest.fixture(scope="session")
def listing(shapes_dir):
    return bowlrp.datasets.scan_folder(shapes_dir)


@pytest.fixture(scope="session")
def paths(listing):
    return listing["paths"]


@pytest.fixture(scope="session")
def fitted(shapes_dir):
    model, report = bowlrp.fit(shapes_dir, words=WORDS, report=True)
    return model, report


@pytest.fixture(scope="session")
def model(fitted):
    return fitted[0]


@pytest.fixture(scope="session")
def rgb_images(paths):
    return [bowlrp.read_image(p) for p in paths]


def object_mask(image_path):
    """The shapes generator's object mask of an image, as bool H x W."""
    return bowlrp.read_image(bowlrp.datasets.shape_mask_path(str(image_path)))[..., 0] > 0


def sklearn_clone(est):
    """sklearn.base.clone when scikit-learn is installed, else its algorithm for estimators."""
    import copy

    try:
        from sklearn.base import clone
    except ImportError:
        params = {k: copy.deepcopy(v) for k, v in est.get_params(deep=False).items()}
        new = type(est)(**params)
        for name, value in params.items():  # sklearn's check: the constructor stores what it is given
            assert new.get_params(deep=False)[name] is value, name
        return new
    return clone(est)


def shape_arrays(classes, per_class, side, seed=11):
    """In-memory synthetic shapes: (images, class names), per_class of each class, side x side px."""
    o = dict(classes=classes, images_per_class=per_class, width=side, height=side, seed=seed)
    items = [bowlrp.datasets.generate_shape(i, **o) for i in range(len(classes) * per_class)]
    return [d["image"] for d in items], [d["class_name"] for d in items]


def read_model_file(path):
    """Independent reader of the documented model file layout (README 'The model file')."""
    import json
    import zlib

    buf = pathlib.Path(path).read_bytes()
    assert buf[:13] == b"BOWLRP-MODEL\n"
    n = int.from_bytes(buf[13:21], "little")
    assert zlib.crc32(buf[:-8]) == int.from_bytes(buf[-8:], "little")
    header = json.loads(buf[21:21 + n])
    arrays = {}
    for a in header["arrays"]:
        count = int(np.prod(a["shape"]))
        arrays[a["name"]] = np.frombuffer(buf, a["dtype"], count=count, offset=21 + n + a["offset"]).reshape(a["shape"])
    return header, arrays


def assert_gil_released(call, what):
    """Runs call() while a Python thread spins, and checks that the spinner kept running: with the GIL
    held through the call it would stall (at most a few switch intervals)."""
    counter = [0]
    stop = threading.Event()

    def spin():
        while not stop.is_set():
            counter[0] += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        c0, t0 = counter[0], time.perf_counter()
        time.sleep(0.2)  # the main thread waits: the rate the spinner reaches alone
        rate = (counter[0] - c0) / (time.perf_counter() - t0)
        c0, t0 = counter[0], time.perf_counter()
        call()
        elapsed = time.perf_counter() - t0
        during = counter[0] - c0
    finally:
        stop.set()
        t.join()
    assert elapsed > 0.05, f"{what} too quick to tell"
    assert during > 0.2 * rate * elapsed, (what, during, rate, elapsed)
