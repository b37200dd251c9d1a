"""Load only what a command needs: importing the package and predicting map neither libtorch nor
OpenCV's image codecs (libbowlrp_nn_torch.so and libbowlrp_imgcodecs.so are loaded on first use,
README "Architecture"); training a network head loads libtorch, decoding a PNG loads the codecs;
the command-line tool's dependencies include neither."""

import os
import subprocess
import sys

import pytest

import bowlrp

HEAVY = ("libtorch", "libc10.so", "libbowlrp_nn_torch", "libopencv_imgcodecs", "libopencv_highgui",
         "libopencv_videoio", "libbowlrp_imgcodecs")

# Runs in a fresh interpreter (this one may have trained already): prints the heavy libraries mapped
# after import, after a prediction from numpy images, after training a network head, after a PNG.
SCRIPT = r"""
import sys
import numpy as np
import bowlrp
from conftest import shape_arrays

HEAVY = %r

def mapped():
    with open("/proc/self/maps") as f:
        names = {line.split()[-1].rsplit("/", 1)[-1] for line in f if ".so" in line}
    return sorted({h for h in HEAVY for n in names if n.startswith(h)})

print("import", mapped())
images, labels = shape_arrays(["circle", "square"], 4, 48)
model = bowlrp.fit(images, labels, words=8, seed=1)
model.predict(images[:1])
print("svm", mapped())
model = bowlrp.fit(images, labels, words=8, head="mlp", hidden=(4,), epochs=2, seed=1)
model.predict(images[:1])
print("mlp", mapped())
bowlrp.write_png(sys.argv[1], bowlrp.render.heatmap(model.explain(images[0])))
print("png", mapped())
""" % (HEAVY,)


def test_heavy_libraries_load_on_first_use(tmp_path):
    # This package (wherever PYTHONPATH found it) and conftest.py, from any working directory.
    package_root = os.path.dirname(os.path.dirname(os.path.abspath(bowlrp.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([package_root, os.path.dirname(os.path.abspath(__file__))]))
    done = subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path / "h.png")], capture_output=True, text=True,
                          env=env, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    seen = dict(line.split(" ", 1) for line in done.stdout.splitlines())
    assert seen["import"] == "[]"
    assert seen["svm"] == "[]"
    after_mlp = eval(seen["mlp"])
    assert "libbowlrp_nn_torch" in after_mlp and "libtorch" in after_mlp
    assert "libbowlrp_imgcodecs" not in after_mlp  # (libtorch itself maps libopencv_imgcodecs)
    assert "libbowlrp_imgcodecs" in eval(seen["png"])


CLI = os.environ.get("BOWLRP_CLI", "")


@pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="BOWLRP_CLI not set (ctest sets it)")
def test_cli_links_neither_libtorch_nor_the_codecs():
    # LD_TRACE_LOADED_OBJECTS: the loader lists the dependencies (as ldd does) without running the tool.
    done = subprocess.run([CLI], capture_output=True, text=True, env=dict(os.environ, LD_TRACE_LOADED_OBJECTS="1"))
    assert done.returncode == 0, done.stderr
    names = [line.split()[0] for line in done.stdout.splitlines() if line.strip()]
    assert any(n.startswith("libbowlrp_nn") for n in names)  # the listing is real
    assert [n for n in names if n.startswith(HEAVY)] == []
