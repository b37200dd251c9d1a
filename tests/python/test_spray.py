"""Spectral relevance analysis (SpRAy): planted strategies in numpy maps, the area-average grid, the
option classes, the library's refusals, and spray_images over the synthetic shapes model."""

import pickle

import numpy as np
import pytest

import bowlrp
from conftest import assert_gil_released

GROUPS = 3
PER_GROUP = 20
WIDTH, HEIGHT = 40, 30
# Bump centres (x, y) in pixels of the 40 x 30 maps, one per planted strategy.
CENTRES = [(7.5, 7.5), (32.5, 7.5), (17.5, 22.5)]  # at grid cell centres of the 8 x 6 grid


def bump(width, height, cx, cy, sx, sy):
    y, x = np.mgrid[0:height, 0:width]
    return np.exp(-((x + 0.5 - cx) ** 2 / (2 * sx ** 2) + (y + 0.5 - cy) ** 2 / (2 * sy ** 2)))


def planted(seed=1, width=WIDTH, height=HEIGHT, noise=0.02):
    """GROUPS x PER_GROUP maps: group g has a Gaussian bump at CENTRES[g] (scaled to the map size) plus noise
    (per pixel scaled with the map's side, so that it is the same on the grid for any size)."""
    rng = np.random.default_rng(seed)
    noise *= np.sqrt(width * height / (WIDTH * HEIGHT))
    maps, truth = [], []
    for g, (cx, cy) in enumerate(CENTRES):
        for _ in range(PER_GROUP):
            amplitude = 1.0 + 0.2 * rng.standard_normal()
            fx, fy = width / WIDTH, height / HEIGHT
            m = amplitude * bump(width, height, cx * fx, cy * fy, 4.0 * fx, 4.0 * fy)
            maps.append(m + noise * rng.standard_normal((height, width)))
            truth.append(g)
    return maps, np.array(truth)


def purity(labels, truth, clusters):
    right = 0
    for c in range(clusters):
        members = truth[labels == c]
        if members.size:
            right += np.bincount(members).max()
    return right / labels.size


SMALL = dict(grid_width=8, grid_height=6, neighbours=5, eigenvalues=8)


def test_planted_strategies_are_found_by_the_eigengap():
    maps, truth = planted()
    r = bowlrp.spray(maps, **SMALL)
    n = GROUPS * PER_GROUP
    assert isinstance(r, bowlrp.SprayResult)
    assert r.images == len(r) == n
    assert (r.grid_width, r.grid_height) == (8, 6)
    assert r.eigengap_clusters == GROUPS and r.clusters == GROUPS
    assert purity(r.labels, truth, r.clusters) == 1.0
    # Shapes and dtypes.
    assert r.eigenvalues.shape == (8,) and r.eigenvalues.dtype == np.float64
    assert r.labels.shape == (n,) and r.labels.dtype == np.int64
    assert r.sizes.shape == (GROUPS,) and r.sizes.sum() == n
    assert list(r.sizes) == sorted(r.sizes, reverse=True)
    assert np.array_equal(r.sizes, np.bincount(r.labels, minlength=r.clusters))
    assert r.mean_maps.shape == (GROUPS, 6, 8)
    assert r.typical.shape == (GROUPS,)
    assert r.embedding.shape == (n, GROUPS)
    assert np.allclose(np.linalg.norm(r.embedding, axis=1), 1.0)
    assert r.inertia >= 0
    # Three components: three (near-)zero eigenvalues, ascending, within [0, 2].
    assert np.all(np.diff(r.eigenvalues) >= -1e-12)
    assert np.all(np.abs(r.eigenvalues[:GROUPS]) < 1e-8)
    assert r.eigenvalues[GROUPS] > 1e-3 and r.eigenvalues[-1] <= 2 + 1e-9
    # Each cluster's mean map peaks at its strategy's bump; typical members belong to their cluster.
    for c in range(r.clusters):
        g = np.bincount(truth[r.labels == c]).argmax()
        cx, cy = CENTRES[g]
        v, u = np.unravel_index(r.mean_maps[c].argmax(), r.mean_maps[c].shape)
        assert int(cx / (WIDTH / 8)) == u and int(cy / (HEIGHT / 6)) == v, (c, g, (u, v))
        assert r.labels[r.typical[c]] == c
    # Members ranked by their distance to the cluster's centre, the typical one first.
    assert len(r.ranked_members) == r.clusters
    for c, members in enumerate(r.ranked_members):
        assert members.dtype == np.int64 and members[0] == r.typical[c]
        assert sorted(members.tolist()) == np.flatnonzero(r.labels == c).tolist()
        centre = r.embedding[r.labels == c].mean(axis=0)
        dist = np.sum((r.embedding[members] - centre) ** 2, axis=1)
        assert np.all(np.diff(dist) >= -1e-12)
    assert r.layout.shape == (n, 2) and np.all(np.isfinite(r.layout))
    # Normalised maps: their means peak at most at 1.
    assert r.mean_maps.max() <= 1.0 + 1e-12
    # Read-only views of the result.
    with pytest.raises(ValueError):
        r.labels[0] = 1


def test_spray_is_deterministic_and_takes_options():
    maps, truth = planted(seed=2)
    a = bowlrp.spray(maps, seed=5, **SMALL)
    b = bowlrp.spray(maps, bowlrp.SprayOptions(seed=5, **SMALL))
    for name in ("eigenvalues", "labels", "sizes", "mean_maps", "typical", "embedding"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    assert a.inertia == b.inertia
    # The eigengap's floor: min_clusters=4 cannot give three.
    assert bowlrp.spray(maps, min_clusters=4, **SMALL).eigengap_clusters >= 4
    # A given cluster count wins over the eigengap, which is still reported.
    c = bowlrp.spray(maps, options=bowlrp.SprayOptions(**SMALL), clusters=2)
    assert c.clusters == 2 and c.eigengap_clusters == GROUPS
    assert c.sizes.sum() == len(maps) and c.mean_maps.shape == (2, 6, 8)


def test_maps_of_different_sizes_and_grid_arrays():
    maps, truth = planted(seed=3)
    # Half the maps at twice the size: on the grid they mean the same relative positions.
    mixed = [m if i % 2 else planted(seed=3, width=2 * WIDTH + 3, height=2 * HEIGHT - 1)[0][i] for i, m in enumerate(maps)]
    r = bowlrp.spray(mixed, **SMALL)
    assert r.clusters == GROUPS and purity(r.labels, truth, r.clusters) == 1.0
    # An (n, gh, gw) array of maps already on the grid = the list of its downsized maps.
    grid = np.stack([bowlrp.downsize_map(m, 8, 6) for m in mixed])
    assert grid.shape == (len(maps), 6, 8)
    g = bowlrp.spray(grid, **SMALL)
    assert np.array_equal(g.labels, r.labels) and np.array_equal(g.mean_maps, r.mean_maps)
    # Integer and float32 maps are converted.
    ints = [np.rint(100 * m).astype(np.int32) for m in maps]
    assert bowlrp.spray(ints, **SMALL).clusters == GROUPS
    assert bowlrp.spray([m.astype(np.float32) for m in maps], **SMALL).clusters == GROUPS


def test_downsize_map_is_an_area_average_that_keeps_the_total():
    m = np.arange(1.0, 9.0).reshape(2, 4)  # H x W = 2 x 4
    g = bowlrp.downsize_map(m, 2, 1)
    assert g.shape == (1, 2) and g.dtype == np.float64
    assert np.array_equal(g, [[(1 + 2 + 5 + 6) / 4, (3 + 4 + 7 + 8) / 4]])
    row = np.array([[1.0, 2, 3, 4, 5]])
    assert np.allclose(bowlrp.downsize_map(row, 2, 1), [[(1 + 2 + 1.5) / 2.5, (1.5 + 4 + 5) / 2.5]], rtol=0, atol=1e-15)
    rng = np.random.default_rng(4)
    for (h, w, gw, gh) in [(30, 40, 8, 6), (23, 37, 8, 5), (375, 500, 32, 32), (2, 3, 7, 5)]:
        a = rng.uniform(-1, 1, (h, w))
        cells = bowlrp.downsize_map(a, gw, gh)
        assert cells.shape == (gh, gw)
        assert abs(cells.sum() * (w / gw) * (h / gh) - a.sum()) < 1e-9 * max(1.0, abs(a.sum()))
    # A map of the grid's size is unchanged.
    a = rng.uniform(size=(6, 8))
    assert np.allclose(bowlrp.downsize_map(a, 8, 6), a, rtol=0, atol=1e-15)
    with pytest.raises(ValueError, match="expected sizes >= 1"):
        bowlrp.downsize_map(a, 0, 6)
    with pytest.raises(ValueError, match="2-D"):
        bowlrp.downsize_map(np.zeros(5), 2, 2)


def test_errors_keep_the_library_message():
    maps, _ = planted()
    with pytest.raises(ValueError, match="at least two"):
        bowlrp.spray(maps[:1], **SMALL)
    with pytest.raises(ValueError, match="at least two"):
        bowlrp.spray([], **SMALL)
    bad = [m.copy() for m in maps[:5]]
    bad[3][2, 2] = np.nan
    with pytest.raises(ValueError, match="non-finite"):
        bowlrp.spray(bad, **SMALL)
    with pytest.raises(ValueError, match="option neighbours '0': expected a value >= 1"):
        bowlrp.spray(maps, neighbours=0)
    with pytest.raises(ValueError, match="eigenvalues"):
        bowlrp.SprayOptions(eigenvalues=1).validate()
    with pytest.raises(TypeError, match="unknown option 'neighbors'"):
        bowlrp.spray(maps, neighbors=3)
    with pytest.raises(TypeError, match="expected an int"):
        bowlrp.SprayOptions(grid_width=2.5)
    with pytest.raises(ValueError, match="2-D"):
        bowlrp.spray([np.zeros((3, 4, 2)), np.zeros((3, 4, 2))])
    with pytest.raises(ValueError, match="n x H x W"):
        bowlrp.spray(np.zeros((4, 5)))
    with pytest.raises(TypeError):
        bowlrp.spray("maps")


def test_gil_is_released_during_spray():
    grid = np.random.default_rng(5).normal(size=(400, 16, 16))
    # k-means restarts make the call last a few tenths of a second.
    assert_gil_released(lambda: bowlrp.spray(grid, clusters=20, eigenvalues=32, restarts=300), "spray")


def test_option_classes():
    d = bowlrp.SprayOptions.defaults()
    assert list(d) == ["grid_width", "grid_height", "normalisation", "positive", "neighbours", "eigenvalues", "clusters", "min_clusters",
                       "restarts", "max_iterations", "seed"]
    assert bowlrp.SprayOptions().to_dict() == d
    o = bowlrp.SprayOptions(grid_width=8, seed=3)
    assert o.grid_width == 8 and o.seed == 3 and o.replace(seed=4).seed == 4
    assert pickle.loads(pickle.dumps(o)) == o
    names = bowlrp.SprayImagesOptions.names()
    for n in ("grid_width", "grid_height", "normalisation", "positive", "neighbours", "eigenvalues", "clusters", "min_clusters",
              "restarts", "max_iterations", "kmeans_seed", "thumbnail", "causal_share", "fill", "causal_images",
              "flip_region", "seed", "threads", "bias", "svm_rule"):
        assert n in names, n
    # Shared defaults with SprayOptions, its seed under another name.
    im = bowlrp.SprayImagesOptions.defaults()
    assert all(im[k] == d[k] for k in d if k != "seed") and im["kmeans_seed"] == d["seed"]
    # A whole SprayOptions as spray=..., flat knobs overriding it whatever their order.
    s = bowlrp.SprayImagesOptions(grid_height=4, spray=bowlrp.SprayOptions(grid_width=8, grid_height=9, seed=7), seed=2)
    assert (s.grid_width, s.grid_height, s.kmeans_seed, s.seed) == (8, 4, 7, 2)
    assert s.spray == bowlrp.SprayOptions(grid_width=8, grid_height=4, seed=7)
    t = s.replace(spray=bowlrp.SprayOptions(), causal_images=3)
    assert t.grid_width == d["grid_width"] and t.causal_images == 3 and t.seed == 2
    t.spray = bowlrp.SprayOptions(neighbours=3)
    assert t.neighbours == 3
    assert pickle.loads(pickle.dumps(s)) == s
    with pytest.raises(TypeError, match="SprayOptions"):
        bowlrp.SprayImagesOptions(spray={"grid_width": 8})
    with pytest.raises(TypeError, match="known: spray, grid_width"):
        bowlrp.SprayImagesOptions(grid=8)
    with pytest.raises(ValueError, match="causal_share"):
        bowlrp.SprayImagesOptions(causal_share=0.0).validate()
    assert bowlrp.SprayImagesOptions(fill="noise").fill == "noise"
    with pytest.raises(ValueError, match="expected mean or noise"):
        bowlrp.SprayImagesOptions(fill="blur")


def test_preprocessing_options_reach_spray():
    maps, _ = planted(seed=6)
    grid = np.stack([bowlrp.downsize_map(m, 8, 6) for m in maps])
    grid[::7] -= 0.3  # some negative relevance
    assert bowlrp.SprayOptions().normalisation == "max" and bowlrp.SprayOptions().positive is True
    for normalisation in ("max", "l1", "l2", "none"):
        for positive in (False, True):
            r = bowlrp.spray(grid, normalisation=normalisation, positive=positive, **SMALL)
            # The mean maps are the means of the preprocessed maps, recomputed here with numpy.
            x = np.maximum(grid, 0) if positive else grid.copy()
            flat = x.reshape(len(x), -1)
            norm = {"max": np.abs(flat).max(axis=1), "l1": np.abs(flat).sum(axis=1),
                    "l2": np.sqrt((flat ** 2).sum(axis=1)), "none": np.ones(len(x))}[normalisation]
            x = x / norm[:, None, None]
            for c in range(r.clusters):
                assert np.allclose(r.mean_maps[c], x[r.labels == c].mean(axis=0), rtol=0, atol=1e-12), (normalisation, positive)
    a = bowlrp.SprayImagesOptions(normalisation="l1", positive=True)
    assert a.spray == bowlrp.SprayOptions(normalisation="l1", positive=True)
    with pytest.raises(ValueError, match="expected max, l1, l2 or none"):
        bowlrp.SprayOptions(normalisation="sum")


SPRAY_IMAGES = dict(grid_width=8, grid_height=8, neighbours=3, eigenvalues=6, causal_images=3, thumbnail=16)


@pytest.fixture(scope="module")
def circle_paths(paths, model):
    return [p for p in paths if "circle" in str(p)]


@pytest.fixture(scope="module")
def analysis(model, circle_paths):
    events = []
    a = bowlrp.spray_images(model, circle_paths, "circle", progress=events.append, **SPRAY_IMAGES)
    return a, events


def test_spray_images_over_one_class(model, circle_paths, analysis):
    a, events = analysis
    assert isinstance(a, bowlrp.SprayAnalysis)
    assert a.paths == [str(p) for p in circle_paths]
    assert a.cls == model.class_index("circle") and a.class_name == "circle"
    assert len(a.analysed) + len(a.failures) == len(circle_paths)
    n = len(a.analysed)
    assert n >= 2 and len(set(a.analysed.tolist())) == n and all(0 <= i < len(circle_paths) for i in a.analysed)
    assert (a.grid_width, a.grid_height, a.thumbnail) == (8, 8, 16)
    assert a.scores.shape == (n,) and np.all(np.isfinite(a.scores))
    assert a.grid_maps.shape == (n, 8, 8) and a.grid_maps.dtype == np.float64
    assert a.thumbnails.shape == (n, 16, 16) and a.thumbnails.dtype == np.float32
    r = a.result
    assert isinstance(r, bowlrp.SprayResult) and r.images == n
    c = r.clusters
    assert 1 <= c <= 6 and r.eigenvalues.shape == (min(6, n),)
    assert r.labels.shape == (n,) and r.labels.min() >= 0 and r.labels.max() < c
    assert r.sizes.sum() == n and r.mean_maps.shape == (c, 8, 8)
    assert a.mean_images.shape == (c, 16, 16) and a.mean_images.dtype == np.float32
    # The clustering is spray on the grid maps with the same options.
    again = bowlrp.spray(a.grid_maps, grid_width=8, grid_height=8, neighbours=3, eigenvalues=6)
    assert np.array_equal(again.labels, r.labels)
    # Mean images are the members' mean thumbnails.
    for k in range(c):
        if r.sizes[k]:
            assert np.allclose(a.mean_images[k], a.thumbnails[r.labels == k].mean(axis=0), atol=1e-5)
    # One causal test per cluster, at most causal_images re-scored on each side.
    assert len(a.causal) == c
    for k, t in enumerate(a.causal):
        assert isinstance(t, bowlrp.SprayCausal)
        assert t.region.shape == (8, 8) and t.region.dtype == np.bool_
        assert 0 <= t.members <= 3 and 0 <= t.others <= 3
        assert t.members <= r.sizes[k] and t.others <= n - r.sizes[k]
        assert np.isfinite(t.member_drop) and np.isfinite(t.other_drop)
        if t.others == 0:
            assert t.other_drop == 0
    assert {"explain", "spectral clustering", "causal test"} <= set(a.timings)
    assert all(v >= 0 for v in a.timings.values())
    stages = {e.stage for e in events}
    assert "explain" in stages and "causal test" in stages
    assert "SprayAnalysis(" in repr(a) and "SprayResult(" in repr(r)
    # An Explanation stands for its relevance map; the analysis's grid maps are those of the explanations.
    k = int(a.analysed[0])
    e = model.explain(circle_paths[k], "circle")
    assert np.array_equal(bowlrp.downsize_map(e, 8, 8), bowlrp.downsize_map(e.relevance, 8, 8))
    assert np.allclose(bowlrp.downsize_map(e, 8, 8), a.grid_maps[0], rtol=1e-9, atol=1e-12)
    assert np.isclose(e.score, a.scores[0], rtol=1e-9, atol=1e-12)


def test_spray_images_arguments(model, circle_paths, analysis):
    a, _ = analysis
    idx = model.class_index("circle")
    few = circle_paths[:6]
    # Class by index, options object, no causal test, an unreadable file among the paths.
    missing = str(circle_paths[0]) + ".missing.png"
    o = bowlrp.SprayImagesOptions(causal_images=0, thumbnail=4, spray=bowlrp.SprayOptions(grid_width=4, grid_height=4,
                                                                                           neighbours=2, eigenvalues=4))
    b = bowlrp.spray_images(model, few + [missing], idx, options=o, threads=1)
    assert b.cls == idx and len(b.analysed) == len(few) and b.causal == []
    assert len(b.failures) == 1 and b.failures[0][0] == missing and b.failures[0][1]
    assert b.grid_maps.shape == (len(few), 4, 4) and b.mean_images.shape[1:] == (4, 4)
    with pytest.raises(ValueError, match="at least two"):
        bowlrp.spray_images(model, few[:1], "circle", causal_images=0)
    with pytest.raises(IndexError):
        bowlrp.spray_images(model, few, 99)
    with pytest.raises(TypeError):
        bowlrp.spray_images(model, few, None)
    with pytest.raises(TypeError, match="list of image paths"):
        bowlrp.spray_images(model, str(few[0]), "circle")
    with pytest.raises(ValueError, match="causal_share"):
        bowlrp.spray_images(model, few, "circle", causal_share=2.0)

    def stop(event):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        bowlrp.spray_images(model, few, "circle", progress=stop, causal_images=0)
