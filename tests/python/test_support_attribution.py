"""Training-image (support-vector) attribution of kernel-SVM heads (Model.support_contributions,
support_dimension_relevance, support_pixel_maps) against a numpy re-implementation over the model
file's support vectors and coefficients; the provenance of each support vector (Model.training_images) and
the training images listed by explain(training_images=K)."""

import json

import numpy as np
import pytest

import bowlrp

from conftest import read_model_file


def head_arrays(m, path):
    """Support vectors S (S x V), coefficients (C x S), biases and the per-dimension block weights w."""
    m.save(path)
    header, arrays = read_model_file(path)
    V = header["dim"]
    w = np.ones(V)
    if header["kernel"]["blocks"]:
        w[:] = 0
        for b in header["kernel"]["blocks"]:
            w[b["begin"]:b["end"]] = b["weight"]
    biases = np.array([c["bias"] for c in header["classes"]])
    return arrays["support_vectors"], arrays["coefficients"], biases, w, header


def numpy_top(c, k, sign):
    idx = np.flatnonzero(sign * c > 0)
    order = np.lexsort((idx, -sign * c[idx]))  # largest |c| first, ties by index
    return idx[order][:k]


def test_contributions_against_numpy(model, paths, scratch):
    """hik: c_i = coef_ci Σ_d w_d min(s_id, h_d); Σ_i c_i + b = the model's decision."""
    S, coef, biases, w, header = head_arrays(model, scratch / "support-attribution.bowlrp")
    assert header["kernel"]["type"] == "hik"
    for image in paths[:4]:
        h = model.encode(image)
        scores = model.decision(h[None, :])[0]
        for c in range(model.n_classes):
            sc = model.support_contributions(h, c)
            assert sc.class_index == c and sc.class_name == model.class_names[c]
            ref = coef[c] * (w[None, :] * np.minimum(S, h[None, :])).sum(axis=1)
            np.testing.assert_allclose(sc.contributions, ref, rtol=0, atol=1e-12)
            assert sc.bias == biases[c]
            assert sc.score == pytest.approx(scores[c], rel=1e-12, abs=1e-12)
            assert sc.total() + sc.bias == pytest.approx(scores[c], rel=1e-12, abs=1e-12)
            for k in (1, 3, 1000):
                np.testing.assert_array_equal(sc.top_supporting(k), numpy_top(sc.contributions, k, 1.0))
                np.testing.assert_array_equal(sc.top_opposing(k), numpy_top(sc.contributions, k, -1.0))
    by_name = model.support_contributions(h, model.class_names[1])
    np.testing.assert_array_equal(by_name.contributions, model.support_contributions(h, 1).contributions)


def test_dimension_relevance_against_numpy(model, paths, scratch):
    """R_{i,d} = coef_ci w_d min(s_id, h_d), summing over d to c_i."""
    S, coef, _, w, _ = head_arrays(model, scratch / "support-attribution-dims.bowlrp")
    h = model.encode(paths[5])
    c = 2
    sc = model.support_contributions(h, c)
    for i in list(sc.top_supporting(2)) + list(sc.top_opposing(2)):
        R = model.support_dimension_relevance(h, c, int(i))
        np.testing.assert_allclose(R, coef[c][i] * w * np.minimum(S[i], h), rtol=0, atol=1e-14)
        assert R.sum() == pytest.approx(sc.contributions[i], rel=1e-12, abs=1e-14)


def test_pixel_maps_of_a_training_image(fitted, paths, scratch):
    """The top supporter's training image: its own trace and the test image's carry the same R_{i,·} down."""
    model, report = fitted
    S, *_ = head_arrays(model, scratch / "support-attribution-maps.bowlrp")
    X = report.histograms  # the training images' encodings, in the training order (the folder's listing)
    test = paths[-1]
    h = model.encode(test)
    c = model.class_index(test.split("/")[-2])
    sc = model.support_contributions(h, c)
    i = int(sc.top_supporting(1)[0])
    rows = np.flatnonzero((X == S[i][None, :]).all(axis=1))  # the training image that became s_i
    assert rows.size >= 1
    j = int(rows[0])
    np.testing.assert_array_equal(model.encode(paths[j]), S[i])
    maps = model.support_pixel_maps(test, paths[j], c, i)
    assert maps["support_index"] == i
    assert maps["contribution"] == pytest.approx(sc.contributions[i], rel=1e-12, abs=1e-14)
    np.testing.assert_array_equal(maps["dimension_relevance"], model.support_dimension_relevance(h, c, i))
    for side, image in (("test", test), ("training", paths[j])):
        m = maps[side]
        assert m["relevance"].shape == bowlrp.read_image(image).shape[:2]
        total = m["relevance"].sum() + m["pixel_unassigned"] + m["feature_unassigned"] + m["absorbed_features"]
        assert total == pytest.approx(maps["contribution"], rel=1e-9, abs=1e-12)
        assert m["feature_relevance"].sum() + m["feature_unassigned"] == pytest.approx(maps["contribution"], abs=1e-12)
    other = next(k for k in range(len(paths)) if not (X[k] == S[i]).all())
    with pytest.raises(ValueError, match="not support vector"):
        model.support_pixel_maps(test, paths[other], c, i)


def test_refusals(model, paths):
    h = model.encode(paths[0])
    with pytest.raises(ValueError, match=r"shape \(" + str(model.dimension) + r",\)"):
        model.support_contributions(h[:-1], 0)
    with pytest.raises(ValueError, match=r"shape"):
        model.support_contributions(h[None, :], 0)
    bad = h.copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match="not finite"):
        model.support_contributions(bad, 0)
    with pytest.raises(IndexError):
        model.support_contributions(h, 7)
    with pytest.raises(ValueError, match="circle"):
        model.support_contributions(h, "hexagon")
    with pytest.raises(IndexError, match="support vector index"):
        model.support_dimension_relevance(h, 0, model.support_size)
    with pytest.raises(IndexError):
        model.support_dimension_relevance(h, 0, -1)
    with pytest.raises(TypeError):
        model.support_dimension_relevance(h, 0, 1.5)


def test_rbf_contributions_and_refusal(paths, scratch):
    """rbf: c_i = coef_ci exp(-γ ||s_i - h||²) conserves too; the per-dimension split is refused."""
    m = bowlrp.fit(paths, [p.split("/")[-2] for p in paths], words=16, kernel="rbf")
    S, coef, biases, _, header = head_arrays(m, scratch / "support-attribution-rbf.bowlrp")
    assert not header["kernel"]["blocks"]
    h = m.encode(paths[2])
    sc = m.support_contributions(h, 0)
    ref = coef[0] * np.exp(-m.gamma * ((S - h[None, :]) ** 2).sum(axis=1))
    np.testing.assert_allclose(sc.contributions, ref, rtol=1e-12, atol=1e-14)
    assert sc.total() + sc.bias == pytest.approx(m.decision(h[None, :])[0, 0], rel=1e-12, abs=1e-12)
    with pytest.raises(ValueError, match="not sum-decomposable"):
        m.support_dimension_relevance(h, 0, 0)
    e = m.explain(paths[2], 0, training_images=2)  # listed with c_i, but no maps
    assert [d["support_index"] for d in e.supporting] == list(numpy_top(ref, 2, 1.0))
    assert all(d["relevance"] is None and d["training_relevance"] is None for d in e.supporting + e.opposing)
    assert json.loads(e.to_json())["training_images"]["maps"] is False


def test_linear_head_is_refused(paths):
    m = bowlrp.fit(paths, [p.split("/")[-2] for p in paths], words=16, head="linear")
    h = m.encode(paths[0])
    for call in (lambda: m.support_contributions(h, 0), lambda: m.support_dimension_relevance(h, 0, 0),
                 lambda: m.support_pixel_maps(paths[0], paths[1], 0, 0)):
        with pytest.raises(ValueError, match="kernel-SVM head.*linear-svm"):
            call()
    assert m.training_images == []
    with pytest.raises(ValueError, match="training_images.*linear-svm.*nothing exact"):
        m.explain(paths[0], training_images=1)


def test_model_records_the_training_image_of_each_support_vector(model, paths, scratch):
    """bowlrp.fit on files keeps, per support vector, the file it is the encoding of (the model file's
    "training_images"); it loads back the same."""
    path = scratch / "provenance.bowlrp"
    S, _, _, _, header = head_arrays(model, path)
    recorded = model.training_images
    assert len(recorded) == model.support_size == len(header["training_images"]) == S.shape[0]
    given = set(map(str, paths))
    for i, t in enumerate(recorded):
        assert t["path"] in given and t["mirrored"] is False  # Bag-of-Words trains without mirrors by default
        np.testing.assert_array_equal(model.encode(t["path"]), S[i])
    assert bowlrp.load(path).training_images == recorded


def test_explain_lists_the_training_images_of_a_numpy_reference(model, paths, scratch):
    """training_images=K: the top K supporting / opposing support vectors of numpy's c_i, their shares,
    recorded files and matching maps (summing to c_i); in to_json() too. Without it nothing is listed."""
    S, coef, _, w, _ = head_arrays(model, scratch / "provenance-explain.bowlrp")
    e = model.explain(paths[7], training_images=3)
    h = model.encode(paths[7])
    ref = coef[e.class_index] * (w[None, :] * np.minimum(S, h[None, :])).sum(axis=1)
    record = json.loads(e.to_json())["training_images"]
    assert record["k"] == 3 and record["support_size"] == S.shape[0] and record["maps"] is True
    for side, sign in (("supporting", 1.0), ("opposing", -1.0)):
        listed = getattr(e, side)
        top = numpy_top(ref, 3, sign)
        assert len(top) > 0
        assert [d["support_index"] for d in listed] == list(top)
        for rank, d in enumerate(listed):
            i, row = d["support_index"], record[side][rank]
            assert d["contribution"] == pytest.approx(ref[i], rel=1e-12, abs=1e-12)
            assert d["share"] == d["contribution"] / e.score
            assert d["path"] == model.training_images[i]["path"] and d["mirrored"] is False
            assert d["relevance"].shape == (e.height, e.width)
            assert d["relevance"].sum() == pytest.approx(d["contribution"], rel=1e-9, abs=1e-12)
            assert d["training_error"] is None and row["training_map"] is True
            assert d["training_relevance"].sum() == pytest.approx(d["contribution"], rel=1e-9, abs=1e-12)
            assert (row["rank"], row["support_index"], row["image"]) == (rank + 1, i, d["path"])
            assert row["contribution"] == d["contribution"]
    plain = model.explain(paths[7])
    assert plain.supporting == [] and plain.opposing == []
    assert "training_images" not in json.loads(plain.to_json())
    assert bowlrp.ExplainOptions(training_images=2).training_images == 2
    with pytest.raises(ValueError, match="training_images"):
        bowlrp.ExplainOptions(training_images=-1)


def test_training_images_of_a_model_trained_from_arrays(listing, rgb_images):
    """A model trained from arrays records no files: path None in the listing, no map on a training image."""
    keep = list(range(0, len(rgb_images), 3))
    images, labels = [rgb_images[i] for i in keep], [listing["labels"][i] for i in keep]
    arrays = bowlrp.fit(images, labels, words=8, pyramid="1x1", training_accuracy=False)
    assert arrays.training_images == []
    e = arrays.explain(images[0], training_images=1)
    assert e.supporting and e.supporting[0]["path"] is None and e.supporting[0]["mirrored"] is None
    assert e.supporting[0]["training_relevance"] is None and e.supporting[0]["training_error"] is None
    assert json.loads(e.to_json())["training_images"]["supporting"][0]["image"] is None
