"""The metrics of one relevance map (bowlrp.sparseness, complexity, relevance_mass_accuracy,
relevance_rank_accuracy, mask_auc, pointing_game, lerf_morf_area) against numpy re-implementations,
plus the argument conventions of the bindings (Explanation-like objects, void masks, refusals)."""

import types

import numpy as np
import pytest

import bowlrp


# --- numpy re-implementations -------------------------------------------------------------------

def np_sparseness(r):
    a = np.sort(np.abs(r).ravel())
    n = a.size
    if a.sum() == 0:
        return 0.0
    return float(np.sum((2 * np.arange(1, n + 1) - n - 1) * a) / (n * a.sum()))


def np_complexity(r):
    a = np.abs(r).ravel()
    if a.sum() == 0:
        return float(np.log(a.size))
    p = a[a > 0] / a.sum()
    return float(-np.sum(p * np.log(p)))


def np_mass(r, inside, valid):
    pos = np.where(valid & (r > 0), r, 0.0)
    return float(pos[inside & valid].sum() / pos.sum()) if pos.sum() > 0 else 0.0


def np_rank_no_ties(r, inside, valid):
    v, m = r[valid], inside[valid]
    k = int(m.sum())
    top = np.argsort(-v, kind="stable")[:k]
    return float(m[top].mean())


def np_auc(r, inside, valid):
    pos, neg = r[inside & valid], r[~inside & valid]
    if neg.size == 0:
        return 0.5
    d = pos[:, None] - neg[None, :]
    return float(((d > 0) + 0.5 * (d == 0)).mean())


def np_pointing(r, inside, tol):
    y, x = np.unravel_index(np.argmax(r), r.shape)  # numpy's argmax: the first maximum, row-major
    yy, xx = np.nonzero(inside)
    return bool(np.any((yy - y) ** 2 + (xx - x) ** 2 < tol * tol))


def np_lerf_morf(x, lerf, morf):
    x, d = np.asarray(x, float), np.asarray(lerf, float) - np.asarray(morf, float)
    return float(np.sum(np.diff(x) * (d[1:] + d[:-1]) / 2) / (x[-1] - x[0]))


def case(seed, shape=(13, 17), ties=False, void=True):
    rng = np.random.default_rng(seed)
    r = rng.integers(-3, 4, shape).astype(float) if ties else rng.normal(size=shape)
    inside = rng.random(shape) < 0.3
    inside.flat[0] = True
    void_mask = (rng.random(shape) < 0.1) & ~inside if void else np.zeros(shape, bool)
    return r, inside, void_mask


# --- against numpy --------------------------------------------------------------------------------

@pytest.mark.parametrize("seed", range(6))
def test_complexity_metrics_match_numpy(seed):
    for ties in (False, True):
        r, _, _ = case(seed, ties=ties)
        assert bowlrp.sparseness(r) == pytest.approx(np_sparseness(r), rel=1e-12)
        assert bowlrp.complexity(r) == pytest.approx(np_complexity(r), rel=1e-12)
        # Scaling (either sign) changes neither.
        assert bowlrp.sparseness(-7.5 * r) == pytest.approx(np_sparseness(r), rel=1e-12)
        assert bowlrp.complexity(1e-3 * r) == pytest.approx(np_complexity(r), rel=1e-12)


@pytest.mark.parametrize("seed", range(6))
def test_localisation_metrics_match_numpy(seed):
    for ties in (False, True):
        r, inside, void = case(100 + seed, ties=ties)
        valid = ~void
        assert bowlrp.relevance_mass_accuracy(r, inside, void=void) == pytest.approx(np_mass(r, inside, valid), rel=1e-12)
        assert bowlrp.mask_auc(r, inside, void=void) == pytest.approx(np_auc(r, inside, valid), rel=1e-12)
        if not ties:
            assert bowlrp.relevance_rank_accuracy(r, inside, void=void) == pytest.approx(
                np_rank_no_ties(r, inside, valid), rel=1e-12)
        # The mass accuracy is localise()'s relevance share.
        assert bowlrp.relevance_mass_accuracy(r, inside, void=void) == pytest.approx(
            bowlrp.localise(r, mask=inside, void=void).relevance_share, rel=1e-12)
        # Positive scaling changes none of them.
        assert bowlrp.mask_auc(3 * r, inside, void=void) == pytest.approx(np_auc(r, inside, valid), rel=1e-12)


@pytest.mark.parametrize("seed", range(8))
def test_pointing_game_matches_numpy(seed):
    r, _, _ = case(200 + seed, shape=(40, 50), ties=seed % 2 == 1)
    rng = np.random.default_rng(300 + seed)
    inside = np.zeros(r.shape, bool)
    y0, x0 = rng.integers(0, 36), rng.integers(0, 46)
    inside[y0:y0 + 4, x0:x0 + 4] = True
    for tol in (1.0, 4.0, 9.5, 15.0):
        assert bowlrp.pointing_game(r, inside, tolerance=tol) == np_pointing(r, inside, tol), tol
    assert bowlrp.pointing_game(r, inside) == np_pointing(r, inside, 15.0)  # the default tolerance


def test_lerf_morf_area_matches_numpy():
    rng = np.random.default_rng(5)
    x = np.cumsum(rng.random(21))
    lerf, morf = rng.random(21), rng.random(21)
    assert bowlrp.lerf_morf_area(x, lerf, morf) == pytest.approx(np_lerf_morf(x, lerf, morf), rel=1e-12)
    assert bowlrp.lerf_morf_area([0.0, 0.5, 1.0], [1.0, 1.0, 0.5], [1.0, 0.2, 0.0]) == pytest.approx(0.525, rel=1e-12)


# --- conventions and edge cases -------------------------------------------------------------------

def test_hand_cases_and_edge_values():
    r = np.array([[3.0, -1.0], [1.0, 0.0]])
    top = np.array([[1, 1], [0, 0]])
    assert bowlrp.relevance_mass_accuracy(r, top) == pytest.approx(0.75)
    assert bowlrp.relevance_rank_accuracy(r, top) == pytest.approx(0.5)
    # Ties at the K-th value split evenly: K = 1 among three tied maxima, one inside.
    assert bowlrp.relevance_rank_accuracy([[2.0, 2.0, 2.0, 0.0]], [[1, 0, 0, 0]]) == pytest.approx(1 / 3)
    zero = np.zeros((3, 4))
    assert bowlrp.sparseness(zero) == 0.0
    assert bowlrp.complexity(zero) == pytest.approx(np.log(12))
    assert bowlrp.mask_auc(zero, zero == 0) == 0.5  # full mask
    assert bowlrp.mask_auc(zero, np.arange(12).reshape(3, 4) < 5) == 0.5  # constant map
    assert bowlrp.relevance_rank_accuracy(zero, np.arange(12).reshape(3, 4) < 5) == pytest.approx(5 / 12)
    assert bowlrp.sparseness([[5.0]]) == 0.0 and bowlrp.complexity([[5.0]]) == 0.0


def test_explanation_like_objects_and_integer_masks():
    r, inside, _ = case(9, void=False)
    e = types.SimpleNamespace(relevance=r)  # anything with .relevance, as an Explanation
    assert bowlrp.sparseness(e) == bowlrp.sparseness(r)
    assert bowlrp.mask_auc(e, inside.astype(np.uint8) * 255) == bowlrp.mask_auc(r, inside)  # non-zero = inside
    assert bowlrp.evaluation.pointing_game is bowlrp.pointing_game


def test_bad_input_is_a_value_error():
    m = np.ones((4, 4), bool)
    bad = np.ones((4, 4))
    bad[1, 2] = np.nan
    with pytest.raises(ValueError, match=r"\(x 2, y 1\).*finite"):
        bowlrp.sparseness(bad)
    with pytest.raises(ValueError, match="finite"):
        bowlrp.mask_auc(bad, m)
    with pytest.raises(ValueError, match="H x W"):
        bowlrp.complexity(np.ones(5))
    with pytest.raises(ValueError, match="empty"):
        bowlrp.sparseness(np.ones((0, 3)))
    with pytest.raises(ValueError, match="4x4.*3x3|3x3.*4x4"):
        bowlrp.relevance_mass_accuracy(np.ones((3, 3)), m)
    with pytest.raises(ValueError, match="no inside pixel"):
        bowlrp.relevance_rank_accuracy(np.ones((4, 4)), np.zeros((4, 4)))
    with pytest.raises(ValueError, match="no inside pixel"):
        bowlrp.mask_auc(np.ones((4, 4)), m, void=m)  # everything void
    with pytest.raises(ValueError, match="void mask"):
        bowlrp.mask_auc(np.ones((4, 4)), m, void=np.ones((2, 2)))
    with pytest.raises(ValueError, match="tolerance"):
        bowlrp.pointing_game(np.ones((4, 4)), m, tolerance=0)
    with pytest.raises(ValueError, match="non-decreasing"):
        bowlrp.lerf_morf_area([0.0, 1.0, 0.5], [1, 1, 1], [0, 0, 0])
    with pytest.raises(ValueError, match="same number"):
        bowlrp.lerf_morf_area([0.0, 1.0], [1, 1, 1], [0, 0])
