"""Python and the command-line tool give the same numbers: scores equal to `bowlrp predict --json`
bit for bit, relevance equal to the `.npy` of `bowlrp explain` (float32, as the CLI writes it) and its
JSON summary equal to Explanation.to_json() byte for byte, and
the model file of `bowlrp.fit` byte-identical to `bowlrp train` with the same options."""

import json
import os
import pathlib
import subprocess

import numpy as np
import pytest

import bowlrp

CLI = os.environ.get("BOWLRP_CLI", "")
pytestmark = pytest.mark.skipif(not CLI or not os.path.exists(CLI), reason="BOWLRP_CLI not set (ctest sets it)")


def run(*args):
    done = subprocess.run([CLI, *map(str, args)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done


def test_fit_writes_the_same_model_file_as_the_cli(scratch, shapes_dir, model):
    cli_model = scratch / "cli_model.bowlrp"
    run("train", "--data", shapes_dir, "--out", cli_model, "--words", 32, "--quiet")
    py_model = scratch / "py_model.bowlrp"
    model.save(str(py_model))
    assert cli_model.read_bytes() == py_model.read_bytes()


def test_scores_equal_the_cli_json_bit_for_bit(scratch, model, paths):
    model_file = scratch / "eq_model.bowlrp"
    model.save(str(model_file))
    out = scratch / "scores.json"
    run("predict", "--model", model_file, "--json", out, "--quiet", *paths)
    cli = {item["image"]: item["scores"] for item in json.loads(out.read_text())}
    py = model.predict([str(p) for p in paths])
    scores = np.asarray(py.scores)
    assert scores.shape == (len(paths), len(model.class_names))
    for i, p in enumerate(paths):
        for c, name in enumerate(model.class_names):
            # JSON carries round-trip digits, so == compares the doubles bit for bit.
            assert scores[i, c] == cli[str(p)][name], (p, name)


def test_relevance_equals_the_cli_npy(scratch, model, paths):
    model_file = scratch / "eq_model2.bowlrp"
    model.save(str(model_file))
    out = scratch / "explain"
    chosen = [str(p) for p in paths[:4]]
    run("explain", "--model", model_file, "--out", out, "--quiet", *chosen)
    for p in chosen:
        e = model.explain(p)
        npy = np.load(out / (pathlib.Path(p).stem + ".relevance.npy"))
        assert npy.dtype == np.float32
        assert npy.shape == e.relevance.shape
        assert np.array_equal(npy, np.asarray(e.relevance, dtype=np.float32)), p
        cli_text = (out / (pathlib.Path(p).stem + ".json")).read_text()
        assert e.to_json() == cli_text, p  # one summary, written by the library for both
        cli_json = json.loads(cli_text)
        assert cli_json["score"] == e.score
        assert cli_json["class"] == e.class_name
        d = e.to_dict()
        assert {k: d[k] for k in cli_json} == cli_json and d["path"] == p and d["conservation"]["ok"]
        # The same files through the library's writer: the CLI's bytes.
        base = scratch / ("py_" + pathlib.Path(p).stem)
        bowlrp._bowlrp.write_heatmap_files(base, e)
        stem = out / pathlib.Path(p).stem
        for suffix in (".heatmap.png", ".relevance.npy"):
            assert pathlib.Path(str(base) + suffix).read_bytes() == pathlib.Path(str(stem) + suffix).read_bytes(), suffix
    views = scratch / "views"
    run("explain", "--model", model_file, "--out", views, "--quiet", "--view", "all", "--colormap", "seismic", chosen[0])
    e = model.explain(chosen[0])
    bowlrp._bowlrp.write_heatmap_files(scratch / "py_views", e, views="all", colormap="seismic")
    for suffix in (".heatmap.png", ".edges.png", ".mask.png", ".relevance.npy"):
        cli = views / (pathlib.Path(chosen[0]).stem + suffix)
        assert (scratch / ("py_views" + suffix)).read_bytes() == cli.read_bytes(), suffix
    with pytest.raises(ValueError, match="twice"):
        bowlrp._bowlrp.write_heatmap_files(scratch / "bad", e, views=["mask", "mask"])
