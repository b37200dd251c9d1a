"""Rendering: shapes and dtypes, symmetric normalisation, agreement with the library's PNGs."""

import numpy as np
import pytest

import bowlrp
from bowlrp import render


@pytest.fixture(scope="module")
def explanation(model, paths):
    return model.explain(paths[6])


def test_library_heatmap_shape_and_symmetry(explanation):
    R = np.array(explanation.relevance)
    h = render.heatmap(explanation)
    assert h.shape == R.shape + (3,) and h.dtype == np.uint8
    np.testing.assert_array_equal(render.heatmap(R), h)  # the explanation's map, no copy, same pixels
    # bwr: R and -R give mirrored colours (red <-> blue), 0 is white
    np.testing.assert_array_equal(render.heatmap(-R)[..., ::-1], h)
    Z = R.copy()
    Z[:10, :10] = 0
    assert (render.heatmap(Z)[:10, :10] == 255).all()
    assert (render.heatmap(np.zeros((5, 7))) == 255).all()
    # reds where R > 0, blues where R < 0
    top = np.unravel_index(np.argmax(R), R.shape)
    bottom = np.unravel_index(np.argmin(R), R.shape)
    assert h[top][0] > h[top][2] and h[bottom][2] > h[bottom][0]


def test_library_heatmap_equals_written_png(explanation, scratch):
    for view in ("heatmap", "edges", "mask"):
        out = scratch / f"render-{view}.png"
        bowlrp._bowlrp.write_heatmap_png(out, explanation, view=view)
        rendered = render.heatmap(explanation, view=view)
        np.testing.assert_array_equal(bowlrp.read_image(out), rendered)


def test_views_need_an_image(explanation, rgb_images):
    R = np.array(explanation.relevance)
    with pytest.raises(ValueError):
        render.edges(R)
    e = render.edges(R, rgb_images[6])
    np.testing.assert_array_equal(e, render.edges(explanation))  # the explanation's own file
    m = render.mask(R, rgb_images[6], mask_top_percent=10)
    assert m.shape == rgb_images[6].shape and m.dtype == np.uint8
    p = render.heatmap(R, percentile=90)
    assert p.shape == R.shape + (3,)


def test_imgify_matches_library_colours(explanation):
    R = np.array(explanation.relevance)
    lib = render.heatmap(R)
    mine = render.imgify(R)
    assert np.abs(lib.astype(int) - mine.astype(int)).max() <= 1
    np.testing.assert_array_equal(render.imgify(-R)[..., ::-1], mine)
    assert (render.imgify(np.zeros((3, 3))) == 255).all()
    # vmin/vmax and level
    sat = render.imgify(R, level=100.0)
    strong = R > 0.01 * R.max()
    assert strong.any() and (sat[strong] == [255, 0, 0]).all()
    lo = render.imgify(R, vmin=-1e9, vmax=1e9)
    assert (lo >= 254).all()
    asym = render.imgify(np.array([[0.0, 1.0]]), symmetric=False)
    assert (asym[0, 0] == render.colorize(-1.0)).all() and (asym[0, 1] == render.colorize(1.0)).all()
    batch = render.imgify(np.stack([R, -R, R]), grid=True)
    assert batch.shape == (2 * R.shape[0] + 1, 2 * R.shape[1] + 1, 3)


def test_colorize_is_centred():
    c = render.colorize(np.array([-1.0, -0.5, 0.0, 0.5, 1.0]))
    np.testing.assert_array_equal(c[2], [255, 255, 255])
    np.testing.assert_array_equal(c[::-1][..., ::-1], c)
    assert render.colormap_names() == ["bwr", "seismic", "hot-cold"] or "bwr" in render.colormap_names()
    with pytest.raises(ValueError, match="bwr"):
        render.colorize([0.0], "viridis")


def test_visualize_image_attr(explanation, rgb_images):
    R = np.array(explanation.relevance)
    img = rgb_images[6]
    for sign in ("all", "positive", "negative", "absolute_value"):
        out = render.visualize_image_attr(R, img, method="heat_map", sign=sign)
        assert out.shape == img.shape and out.dtype == np.uint8
    pos = render.visualize_image_attr(R, sign="positive")
    assert (pos[R <= 0] == 255).all()  # no evidence -> neutral
    blend = render.visualize_image_attr(R, img, method="blended_heat_map", sign="all", alpha_overlay=0.0)
    grey = np.rint(img.astype(float) @ [0.299, 0.587, 0.114])
    np.testing.assert_array_equal(blend[..., 0], grey.astype(np.uint8))
    masked = render.visualize_image_attr(R, img, method="masked_image", sign="positive")
    assert (masked[R <= 0] == 0).all()
    with pytest.raises(ValueError, match="masked_image"):
        render.visualize_image_attr(R, img, method="masked_image", sign="all")
    with pytest.raises(ValueError, match="sign"):
        render.visualize_image_attr(R, sign="both")


def test_binary_mask_and_masked_image(explanation, rgb_images):
    R = np.array(explanation.relevance)
    m = render.binary_mask(R, top_percent=10)
    assert m.dtype == bool and m.shape == R.shape
    assert m.sum() <= int(np.ceil(R.size * 0.10)) + np.sum(R == R[m].min()) and (R[m] > 0).all()
    assert R[m].min() >= np.percentile(R, 89.9)
    np.testing.assert_array_equal(render.binary_mask(R, threshold=0.0), R > 0)
    out = render.masked_image(rgb_images[6], R, top_percent=10, dim=0.0)
    assert (out[~m] == 0).all() and (out[m] == rgb_images[6][m]).all()
