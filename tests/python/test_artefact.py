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
