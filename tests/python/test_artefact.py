"""Artefact projection (P-ClArC) from numpy: fitted from arrays of encodings, held by a model, applied by
decision and explain, kept by the model file; the direction against numpy's mean difference."""

import numpy as np
import pytest

import bowlrp


def test_projection_from_encodings_matches_numpy_and_the_model_applies_it(model, paths, scratch):
    X = np.stack([model.encode(p) for p in paths[:12]])
    rng = np.random.default_rng(3)
    # "with the artefact": a few bins raised, as a marker's visual words would be
    bump = np.zeros(X.shape[1])
    bump[rng.choice(X.shape[1], 4, replace=False)] = 0.05
    with_artefact, without = X[:6] + bump, X[:6]
    p = bowlrp.ArtefactProjection.from_encodings(with_artefact, without)
    d = with_artefact.mean(axis=0) - without.mean(axis=0)
    np.testing.assert_allclose(p.direction, d / np.linalg.norm(d), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(p.reference, without.mean(axis=0), rtol=1e-12)
    # Φ' = Φ - v vᵀ(Φ - z), against numpy
    v, z = p.direction, p.reference
    expected = X - np.outer((X - z) @ v, v)
    np.testing.assert_allclose(p.project(X), expected, rtol=1e-10, atol=1e-14)
    fixed = model.with_artefact_projection(p)
    assert fixed.artefact_projection is not None and model.artefact_projection is None
    np.testing.assert_allclose(fixed.decision(X), model.decision(expected), rtol=1e-12, atol=1e-12)
    np.testing.assert_array_equal(fixed.decision(X), model.decision(p.project(X)))
    # the artefact's bump no longer changes the score
    np.testing.assert_allclose(fixed.decision(X[:6] + bump), fixed.decision(X[:6]), rtol=1e-9, atol=1e-12)
    e = fixed.explain(paths[0])
    c = e.check_conservation(1e-9)
    assert c.ok and c.projection and c.projection_conserved
    assert abs(c.sum_dimensions - c.sum_projected - c.absorbed_projection) <= 1e-9 * max(1.0, abs(c.f))
    assert c.to_dict()["projection_conserved"]
    assert "projection" not in model.explain(paths[0]).check_conservation().to_dict()
    path = scratch / "fixed.bowlrp"
    fixed.save(path)
    loaded = bowlrp.Model.load(path)
    np.testing.assert_array_equal(loaded.artefact_projection.direction, p.direction)
    np.testing.assert_array_equal(loaded.decision(X), fixed.decision(X))
    assert model.with_artefact_projection(p).without_artefact_projection().artefact_projection is None
    with pytest.raises(ValueError):
        model.with_artefact_projection(bowlrp.ArtefactProjection([1.0, 0.0], [0.0, 0.0]))
    with pytest.raises(ValueError):
        bowlrp.ArtefactProjection.from_encodings(X[:3], X[:3])


def test_compare_fix_gives_both_models_numbers_against_their_scores(model, paths, listing):
    labels = list(listing["labels"])
    paths = [str(p) for p in paths]
    circles = [p for p, c in zip(paths, labels) if c == "circle"][:4]
    others = [p for p, c in zip(paths, labels) if c != "circle"][:6]
    X = np.stack([model.encode(p) for p in paths[:12]])
    bump = np.zeros(X.shape[1])
    bump[:4] = 0.05
    fixed = model.with_artefact_projection(bowlrp.ArtefactProjection.from_encodings(X[:6] + bump, X[:6]))
    regions = [{"image": p, "x": 16, "y": 16, "width": 32, "height": 32} for p in circles]
    r = bowlrp.compare_fix(model, fixed, "circle", regions, others, paths, labels, threads=1)
    assert r["class"] == "circle" and not r["failures"]
    assert (r["region_used"], r["others_used"], r["test_used"]) == (4, 6, len(paths))
    assert r["area_shares"].shape == (4,)
    np.testing.assert_allclose(r["area_shares"], 32 * 32 / 96**2, rtol=1e-12)
    assert r["area_share"] == pytest.approx(32 * 32 / 96**2)
    c = model.class_names.index("circle")
    for m, key in ((model, "before"), (fixed, "after")):
        n = r[key]
        np.testing.assert_allclose(n["region_scores"], [m.scores(p)[c] for p in circles], rtol=1e-12, atol=1e-12)
        np.testing.assert_allclose(n["other_scores"], [m.scores(p)[c] for p in others], rtol=1e-12, atol=1e-12)
        assert n["pasted_rise"] == pytest.approx(np.mean(n["pasted_scores"] - n["other_scores"]), abs=1e-12)
        assert n["causal_drop"] == pytest.approx(np.mean(n["region_scores"] - n["erased_scores"]), abs=1e-12)
        assert n["relevance_share"] == pytest.approx(np.mean(n["relevance_shares"]), abs=1e-12)
        S = np.stack([m.scores(p) for p in paths])
        order = [model.class_names.index(k) for k in r["test_classes"]]
        assert n["test_scores"].shape == (len(paths), len(r["test_classes"]))
        np.testing.assert_allclose(n["test_scores"], S[:, order], rtol=1e-12, atol=1e-12)
        truth = [r["test_classes"].index(k) for k in labels]
        assert n["accuracy"] == pytest.approx(np.mean(np.argmax(n["test_scores"], axis=1) == truth))
        assert n["ap"].shape == (3,) and n["mean_ap"] == pytest.approx(np.mean(n["ap"]))
    with pytest.raises(ValueError):
        bowlrp.compare_fix(model, fixed, "circle", [{"image": circles[0], "x": 0}], others)
    with pytest.raises(ValueError):
        bowlrp.compare_fix(model, fixed, "circle", regions, others, paths[:2], labels[:1])
