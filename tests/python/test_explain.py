"""Explanations: conservation at every layer, numpy references of two layers, views, options."""

import gc

import numpy as np
import pytest

import bowlrp
from conftest import CLASSES, read_model_file


def conservation_error(e):
    unassigned = e.feature_unassigned + e.pixel_unassigned
    return abs(e.score - e.relevance.sum() - e.absorbed - unassigned) / max(1.0, abs(e.score))


def test_conservation_at_every_layer(model, paths):
    explanations = model.explain(paths[::4], threads=2)
    assert len(explanations) == len(paths[::4])
    for e in explanations:
        assert e.error == "" and e.ok, e.warning
        tol = 1e-9 * max(1.0, abs(e.score))
        assert conservation_error(e) <= 1e-9
        assert abs(e.score - e.dimension_relevance.sum() - e.absorbed) <= tol
        assert abs(e.dimension_relevance.sum() - e.feature_relevance.sum() - e.feature_unassigned) <= tol
        assert abs(e.feature_relevance.sum() - e.relevance.sum() - e.pixel_unassigned) <= tol
        c = e.conservation
        assert c.ok and c.method == "exact" and c.finite
        assert c.f == e.score and abs(c.sum_pixels - e.relevance.sum()) <= tol
        assert e.totals["pixels"] == pytest.approx(e.relevance.sum(), abs=tol)
        assert e.to_dict()["conservation"]["ok"] is True
        # explained class = top class by default
        assert e.class_index == int(np.argmax(e.scores)) and e.class_name == CLASSES[e.class_index]


def test_pixel_layer_against_numpy(model, paths):
    """R_q = Σ_l R_l w_l(q) / Σ_q w_l(q) with separable boundary coverage (pixel_relevance.h)."""
    e = model.explain(paths[5])
    frames, R_l = e.frames, e.feature_relevance
    assert len(frames) == len(R_l) == e.n_features > 0
    R = np.zeros((e.height, e.width))
    for f, r in zip(frames, R_l):
        x0, y0, x1, y1 = (int(v) for v in f["support"])
        cx0, cy0, cx1, cy1 = (float(v) for v in f["cover"])

        def weights(n, first, last):
            w = np.ones(n)
            if n == 1:
                w[0] = first + last - 1
            else:
                w[0], w[-1] = first, last
            return w

        w = np.outer(weights(y1 - y0, cy0, cy1), weights(x1 - x0, cx0, cx1))
        R[y0:y1, x0:x1] += r * w / w.sum()
    scale = np.abs(e.relevance).max()
    np.testing.assert_allclose(e.relevance, R, rtol=0, atol=1e-12 * scale)
    np.testing.assert_allclose(e.feature_positions, np.stack([frames["x"], frames["y"]], axis=1))
    np.testing.assert_allclose(e.feature_sizes, frames["size"])


def test_svm_layer_against_numpy(model, paths, scratch):
    """Intersection kernel, uniform bias (the paper's Eq 12-13): R_d = b/V + Σ_i coef_i w(d) min(s_id, h_d)."""
    path = scratch / "svm-layer.bowlrp"
    model.save(path)
    header, arrays = read_model_file(path)
    S, coef = arrays["support_vectors"], arrays["coefficients"]
    V = header["dim"]
    w = np.ones(V)
    blocks = header["kernel"]["blocks"]
    if blocks:
        w[:] = 0
        for b in blocks:
            w[b["begin"]:b["end"]] = b["weight"]
    for image in paths[:3]:
        h = model.encode(image)
        for c in range(model.n_classes):
            e = model.explain(image, c)
            b = header["classes"][c]["bias"]
            R_d = b / V + (coef[c][:, None] * w[None, :] * np.minimum(S, h[None, :])).sum(axis=0)
            np.testing.assert_allclose(e.dimension_relevance, R_d, rtol=0, atol=1e-12)
            assert e.score == pytest.approx(R_d.sum(), abs=1e-12)
            assert e.bias == b


def test_class_selection_and_batch_errors(model, paths, scratch):
    by_name = model.explain(paths[0], "square")
    by_index = model.explain(paths[0], 1)
    assert by_name.class_name == by_index.class_name == "square"
    np.testing.assert_array_equal(by_name.relevance, by_index.relevance)
    with pytest.raises(ValueError, match="circle"):  # the library lists the known names
        model.explain(paths[0], "hexagon")
    with pytest.raises(IndexError):
        model.explain(paths[0], 7)
    broken = scratch / "broken-explain.png"
    broken.write_bytes(b"GIF89a nothing")
    batch = model.explain([paths[0], broken])
    assert batch[0].ok and batch[1].error and str(broken) in batch[1].error
    assert batch[1].index == 1 and batch[1].path == str(broken)
    with pytest.raises(RuntimeError, match="broken-explain"):
        model.explain(broken)


def test_arrays_are_views_that_keep_their_owner(model, paths):
    e = model.explain(paths[2])
    R = e.relevance
    copy = R.copy()
    assert not R.flags.writeable and not R.flags.owndata
    frames = e.frames
    del e
    gc.collect()
    np.testing.assert_array_equal(R, copy)  # the explanation lives as long as its views
    assert frames["size"].min() > 0


def test_array_input_equals_path_input(model, paths, rgb_images):
    a = model.explain(rgb_images[4])
    p = model.explain(paths[4])
    np.testing.assert_array_equal(a.relevance, p.relevance)
    assert a.path == "" and p.path == paths[4]


def test_rules_as_keywords(model, paths):
    e = model.explain(paths[1], bias="absorbed")
    assert e.absorbed == e.bias != 0
    assert conservation_error(e) <= 1e-9
    assert abs(e.dimension_relevance.sum() - (e.score - e.bias)) <= 1e-9 * max(1, abs(e.score))
    prop = model.explain(paths[1], options=bowlrp.ExplainOptions(bias="proportional"))
    assert prop.absorbed == 0 and conservation_error(prop) <= 1e-9
    assert bowlrp.ExplainOptions.defaults()["bias"] == "uniform"
    with pytest.raises(ValueError, match="uniform"):
        model.explain(paths[1], bias="everywhere")
    with pytest.raises(TypeError, match="unknown option"):
        model.explain(paths[1], biass="uniform")


def test_rbf_model_is_conservative_with_integrated_gradients(paths):
    m = bowlrp.fit(paths, [p.split("/")[-2] for p in paths], words=16, kernel="rbf")
    e = m.explain(paths[0])
    assert e.method == "integrated-gradients"
    assert e.conservation.lower_layers_ok
    assert e.root.shape == (m.dimension,)
    if e.root_found:
        assert e.conservation.relative_residual < 1e-6


def test_taylor_rule_against_numpy(paths, scratch):
    """rbf head, svm_rule='taylor' (the paper's Eq 16): R_d = (h - x0)_d df/dx_d(x0), with
    df/dx_d(x) = Σ_i coef_i exp(-γ ||x - s_i||²) (-2γ) (x_d - s_id)."""
    m = bowlrp.fit(paths, [p.split("/")[-2] for p in paths], words=16, kernel="rbf")
    path = scratch / "rbf.bowlrp"
    m.save(path)
    header, arrays = read_model_file(path)
    assert not header["kernel"]["blocks"]
    S, coef, gamma = arrays["support_vectors"], arrays["coefficients"], header["kernel"]["gamma"]
    assert gamma == m.gamma > 0
    checked = 0
    for image in paths[:6]:
        e = m.explain(image, svm_rule="taylor")
        assert e.method == "taylor" and e.conservation.lower_layers_ok
        if not e.root_found:
            continue
        h, x0, c = m.encode(image), e.root, e.class_index
        k = np.exp(-gamma * ((x0[None, :] - S) ** 2).sum(axis=1))
        grad = (coef[c] * k) @ (-2.0 * gamma * (x0[None, :] - S))
        np.testing.assert_allclose(e.dimension_relevance, (h - x0) * grad, rtol=1e-9, atol=1e-12)
        assert e.residual == pytest.approx(e.score - e.dimension_relevance.sum() - e.absorbed, abs=1e-12)
        checked += 1
    assert checked > 0, "no root found on any image"
