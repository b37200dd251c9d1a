"""Evaluation: flipping curves and AOPC, localisation in masks and boxes, aggregation, folder evaluation."""

import numpy as np
import pytest

import bowlrp
from conftest import object_mask

FAST = dict(steps=20, random_orders=2)


def test_evaluate_explanation_with_mask_and_boxes(model, paths):
    path = paths[1]
    mask = object_mask(path)
    ys, xs = np.nonzero(mask)
    box = (int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1)
    q = bowlrp.evaluate_explanation(model, path, "circle", mask=mask, boxes=[box], **FAST)
    assert q.ok and q.error == ""
    assert set(q.curves) == {"lrp", "occlusion", "sensitivity", "random"}
    for name, curve in q.curves.items():
        assert curve.shape == (FAST["steps"] + 1,)
        assert q.aopc[name] == pytest.approx(np.mean(curve[0] - curve), abs=1e-12)
        assert q.aopc[name] == pytest.approx(bowlrp.aopc(curve), abs=0)
    assert q.curves["lrp"][0] == pytest.approx(model.scores(path)[0], abs=1e-12)
    assert {"lrp_mask", "lrp_boxes", "occlusion_mask", "sensitivity_boxes"} <= set(q.localisation)
    loc = q.localisation["lrp_mask"]
    # the share against a numpy recomputation from the same explanation
    R = model.explain(path, "circle").relevance
    pos = np.maximum(R, 0)
    assert loc.relevance_share == pytest.approx(pos[mask].sum() / pos.sum(), rel=1e-12)
    assert loc.area_share == pytest.approx(mask.mean(), rel=1e-12)
    assert q.localisation["lrp_boxes"].area_share >= loc.area_share
    assert q.conservation_error <= 1e-9


def test_localise_matches_evaluate(model, paths):
    path = paths[1]
    mask = object_mask(path)
    e = model.explain(path, "circle")
    loc = bowlrp.localise(e, mask=mask)
    pos = np.maximum(e.relevance, 0)
    assert loc.relevance_share == pytest.approx(pos[mask].sum() / pos.sum(), rel=1e-12)
    void = np.zeros_like(mask)
    void[:, :10] = True
    loc_void = bowlrp.localise(e.relevance, mask=mask, void=void)
    assert loc_void.area_share == pytest.approx(mask[~void].mean(), rel=1e-12)
    vb = bowlrp.localise(e, boxes=[(1, 1, 10, 10)], voc_boxes=True)
    assert vb.area_share == pytest.approx(100 / mask.size)
    with pytest.raises(ValueError, match="exactly one"):
        bowlrp.localise(e)


def test_region_size_mismatch_is_a_value_error(model, rgb_images):
    with pytest.raises(ValueError, match="mask 'mask' is 10x10"):
        bowlrp.evaluate_explanation(model, rgb_images[0], 0, mask=np.ones((10, 10), bool), **FAST)


def test_batch_equals_single_and_totals(model, paths):
    jobs = [(paths[0], "circle"), {"path": paths[1], "class_": 1, "mask": object_mask(paths[1])}, (paths[2], 2)]
    one = bowlrp.evaluate_explanations(model, jobs, threads=1, **FAST)
    two = bowlrp.evaluate_explanations(model, jobs, threads=2, **FAST)
    assert len(one) == 3 and all(r.ok for r in one)
    for a, b in zip(one, two):  # independent of the thread count
        for name in a.curves:
            np.testing.assert_array_equal(a.curves[name], b.curves[name])
    single = bowlrp.evaluate_explanation(model, paths[2], 2, **FAST)
    np.testing.assert_array_equal(single.curves["lrp"], one[2].curves["lrp"])
    assert "lrp_mask" in one[1].localisation and not one[0].localisation
    totals = bowlrp.QualityTotals()
    for r in one:
        totals.add(r)
    assert totals.explained == 3
    aopc = totals.aopc()
    for name in ("lrp", "occlusion", "sensitivity", "random"):
        # AOPC of the mean curve = mean of the per-image AOPCs
        assert aopc[name] == pytest.approx(np.mean([r.aopc[name] for r in one]), abs=1e-12)
        np.testing.assert_allclose(totals.mean_curve(name), np.mean([r.curves[name] for r in one], axis=0), atol=1e-12)
    summaries = totals.localisation_summaries()
    assert summaries["lrp_mask"].images == 1
    assert summaries["lrp_mask"].to_dict()["images"] == 1


def test_evaluate_folder(model, shapes_dir, paths):
    ev = bowlrp.evaluate_folder(model, shapes_dir, explain=1, gallery=1, **FAST)
    n = len(paths)
    assert ev.paths == paths and ev.classes == model.class_names
    assert ev.scores.shape == (n, 3) and ev.confusion.sum() == n
    assert 0 <= ev.accuracy <= 1 and ev.ap.shape == (3,)
    assert ev.accuracy == pytest.approx(np.mean(ev.predicted == ev.truth))
    assert ev.masks.endswith("masks") and ev.masked_images >= 1  # shapes' masks found beside images/
    assert len(ev.quality_results) == len(ev.explained_images) == 3
    assert set(ev.quality.aopc()) >= {"lrp", "random"}
    per_class = ev.quality_per_class
    assert set(per_class) == set(model.class_names) and sum(t.explained for t in per_class.values()) == 3
    lrp = ev.quality.metric_summaries()["aopc"]["lrp"]
    assert lrp.mean == pytest.approx(np.mean([t.metric_summaries()["aopc"]["lrp"].mean for t in per_class.values()]))
    assert ev.gallery and ev.gallery[0]["relevance"].shape == ev.gallery[0]["image"].shape[:2]
    np.testing.assert_array_equal(ev.scores, model.predict(paths).scores)


def test_quality_options():
    d = bowlrp.QualityOptions.defaults()
    assert d["steps"] == bowlrp.QualityOptions().steps and "bias" in d and "occlusion_patch" in d
    with pytest.raises(ValueError):
        bowlrp.QualityOptions(steps=0).validate()


def test_methods_pick_what_is_measured(model, paths):
    full = bowlrp.evaluate_explanation(model, paths[1], "circle", **FAST)
    sub = bowlrp.evaluate_explanation(model, paths[1], "circle", methods=["lrp", "random"], **FAST)
    assert set(sub.curves) == {"lrp", "random"}
    assert np.array_equal(sub.curves["lrp"], full.curves["lrp"])
    assert np.array_equal(sub.curves["random"], full.curves["random"])
    assert set(sub.metrics["aopc"]) == {"lrp", "random"}
    assert bowlrp.QualityOptions(methods=["occlusion"]).methods == ["occlusion"]
    with pytest.raises(ValueError, match="gradcam"):
        bowlrp.evaluate_explanation(model, paths[1], "circle", methods=["gradcam"], **FAST)


def test_lerf_metrics_and_their_intervals(model, paths):
    path = paths[1]
    mask = object_mask(path)
    q = bowlrp.evaluate_explanation(model, path, "circle", mask=mask, lerf=True, **FAST)
    assert set(q.curves) == {"lrp", "lrp_lerf", "occlusion", "occlusion_lerf", "sensitivity", "sensitivity_lerf",
                             "random"}
    m = q.metrics
    assert set(m) == {"aopc", "aopc_lerf", "abc", "sparseness", "complexity", "mass_accuracy_mask",
                      "rank_accuracy_mask", "auc_mask"}
    R = model.explain(path, "circle").relevance
    assert m["sparseness"]["lrp"] == bowlrp.sparseness(R)
    assert m["auc_mask"]["lrp"] == bowlrp.mask_auc(R, mask)
    assert m["aopc_lerf"]["lrp"] == bowlrp.aopc(q.curves["lrp_lerf"])
    # numpy reference of the area between the curves: evenly spaced fractions (fewer steps than regions)
    gap = q.curves["lrp_lerf"] - q.curves["lrp"]
    assert m["abc"]["lrp"] == pytest.approx(np.mean((gap[1:] + gap[:-1]) / 2), rel=1e-12)
    t = bowlrp.QualityTotals()
    t.add(q)
    t.add(bowlrp.evaluate_explanation(model, paths[2], "circle", lerf=True, **FAST))
    s = t.metric_summaries()["sparseness"]["lrp"]
    assert s.n == 2
    values = [m["sparseness"]["lrp"], t.metric_summaries()["sparseness"]["lrp"].mean * 2 - m["sparseness"]["lrp"]]
    assert s.half_width == pytest.approx(12.706204736174704 * np.std(values, ddof=1) / np.sqrt(2), rel=1e-9)
    i = bowlrp.mean_interval([1.0, 2.0, 3.0, 4.0])
    assert (i.n, i.mean) == (4, 2.5) and i.half_width == pytest.approx(3.182446305284263 * np.sqrt(5 / 3) / 2)
    with pytest.raises(ValueError, match="finite"):
        bowlrp.mean_interval([1.0, float("nan")])


def test_randomisation_checks(model, paths):
    path = paths[1]
    levels = bowlrp.randomisation_check(model, path, "circle", seed=3, occlusion_patch=32)
    assert [l.name for l in levels] == ["head 1/1", "random logit"]
    assert model.head_parameter_layers == 1
    assert levels[1].compared_class != 0 and levels[0].layers == 1
    # the first level is the randomised model's LRP map against the original, recomputed here
    original = model.explain(path, "circle").relevance
    randomised = model.with_randomised_head(1, seed=3).explain(path, "circle").relevance
    assert levels[0].spearman["lrp"] == pytest.approx(bowlrp.spearman_correlation(original, randomised), abs=1e-12)
    assert levels[0].ssim["lrp"] == pytest.approx(bowlrp.map_ssim(original, randomised), abs=1e-12)
    assert levels[0].spearman["lrp"] < 0.95
    # numpy reference of Spearman on magnitudes: average ranks of ties, then Pearson
    def ranks(v):
        _, inverse, counts = np.unique(np.abs(v).ravel(), return_inverse=True, return_counts=True)
        end = np.cumsum(counts)
        return ((end - counts + 1 + end) / 2)[inverse]
    assert bowlrp.spearman_correlation(original, randomised) == pytest.approx(
        np.corrcoef(ranks(original), ranks(randomised))[0, 1], abs=1e-9)
    with pytest.raises(ValueError, match="parameter layer"):
        model.with_randomised_head(2)
    q = bowlrp.evaluate_explanation(model, path, "circle", randomisation=True, flip_seed=3, faithfulness_subsets=6,
                                    faithfulness_regions=8, **FAST)
    assert q.metrics["randomisation_spearman"]["lrp"] == levels[0].spearman["lrp"]
    assert set(q.metrics["faithfulness_correlation"]) == {"lrp", "sensitivity", "occlusion"}
    assert all(-1 <= v <= 1 for v in q.metrics["faithfulness_correlation"].values())
    with pytest.raises(ValueError, match="at least 2"):
        bowlrp.evaluate_explanation(model, path, "circle", faithfulness_subsets=1, **FAST)


def test_robustness_metrics(model, paths):
    q = bowlrp.evaluate_explanation(model, paths[1], "circle", robustness_samples=2, robustness_noise=0.02,
                                    occlusion_patch=48, **FAST)
    for metric in ("max_sensitivity", "local_lipschitz", "mirror_spearman", "mirror_difference", "shift_difference"):
        assert set(q.metrics[metric]) == {"lrp", "sensitivity", "occlusion"}
    assert q.metrics["shift_difference"]["lrp"] < 1e-3  # dense SIFT reads gradients: a constant shift changes nothing
    assert q.metrics["max_sensitivity"]["lrp"] > 0
    assert -1 <= q.metrics["mirror_spearman"]["lrp"] <= 1
    with pytest.raises(ValueError, match="robustness_noise"):
        bowlrp.evaluate_explanation(model, paths[1], "circle", robustness_samples=1, robustness_noise=2.0, **FAST)
