// render: the colour maps, the heatmap views and scaling, the PNG and NPY files, the heatmap options
// described once (HeatmapOptions::schema(), HeatmapFileOptions) and the files of one explained image
// (write_heatmap_files) against the single-file writers.
#include "test_util.h"

#include <bowlrp/core/io.h>
#include <bowlrp/render/heatmap.h>

#include <boost/test/unit_test.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <map>
#include <vector>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace {

using bowlrp::render::HeatmapFileOptions;
using bowlrp::render::HeatmapOptions;
using bowlrp::render::HeatmapView;

// The schema's text of option `name` of s, applied to a copy.
template <class S>
S with(S s, const std::string& name, const std::string& text) {
  const auto* o = bowlrp::core::find_option(S::schema(), name);
  BOOST_REQUIRE(o);
  o->set(s, text, name);
  return s;
}

}  // namespace

namespace bd = bowlrp::decompose;

BOOST_AUTO_TEST_SUITE(render)

BOOST_AUTO_TEST_CASE(colour_maps_are_centred_and_signed) {
  const std::map<std::string, std::array<unsigned char, 3>> neutral{
      {"bwr", {255, 255, 255}}, {"seismic", {255, 255, 255}}, {"hot-cold", {0, 0, 0}}};
  BOOST_TEST(bowlrp::render::colormap_names().size() == neutral.size());
  for (const auto& name : bowlrp::render::colormap_names()) {
    BOOST_TEST_CONTEXT(name) {
      BOOST_TEST((bowlrp::render::colormap_bgr(name, 0.0) == neutral.at(name)));
      for (double v : {0.1, 0.5, 1.0}) {
        const auto pos = bowlrp::render::colormap_bgr(name, v), neg = bowlrp::render::colormap_bgr(name, -v);
        BOOST_TEST(pos[2] > pos[0]);  // red dominates
        BOOST_TEST(neg[0] > neg[2]);  // blue dominates
        if (name != "seismic" || v <= 0.5) BOOST_TEST(pos[2] == neg[0]);  // mirror images
      }
      BOOST_TEST((bowlrp::render::colormap_bgr(name, 5.0) == bowlrp::render::colormap_bgr(name, 1.0)));
    }
  }
  BOOST_TEST((bowlrp::render::colormap_bgr("bwr", 1.0) == std::array<unsigned char, 3>{0, 0, 255}));
  BOOST_CHECK_THROW(bowlrp::render::colormap_bgr("jet", 0.0), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(heatmap_render_scales_and_views) {
  bd::PixelRelevance pr;
  pr.width = 4;
  pr.height = 3;
  pr.R = {0, 2, -2, 1, 0, 0, 0, 0, 0, 0, 0, 100};
  bowlrp::render::HeatmapOptions o;
  auto img = bowlrp::render::render_heatmap(pr, o);
  BOOST_TEST(img.width == 4);
  BOOST_TEST(img.height == 3);
  auto px = [&](const bowlrp::render::Bgr8Image& im, int x, int y) {
    const unsigned char* p = im.at(x, y);
    return std::array<unsigned char, 3>{p[0], p[1], p[2]};
  };
  BOOST_TEST((px(img, 0, 0) == bowlrp::render::colormap_bgr("bwr", 0)));
  BOOST_TEST((px(img, 3, 2) == bowlrp::render::colormap_bgr("bwr", 1)));
  BOOST_TEST((px(img, 1, 0) == bowlrp::render::colormap_bgr("bwr", 2.0 / 100)));
  // Percentile scaling (50%: the median |R| is 0, falls back; 90%: |R| = 2) saturates the rest.
  o.scaling = bowlrp::render::HeatmapScaling::percentile;
  o.percentile = 90;
  img = bowlrp::render::render_heatmap(pr, o);
  BOOST_TEST((px(img, 1, 0) == bowlrp::render::colormap_bgr("bwr", 1)));
  BOOST_TEST((px(img, 2, 0) == bowlrp::render::colormap_bgr("bwr", -1)));
  BOOST_TEST((px(img, 3, 0) == bowlrp::render::colormap_bgr("bwr", 0.5)));
  // An all-zero map is all neutral.
  bd::PixelRelevance zero{4, 3, std::vector<double>(12, 0.0), 0.0};
  o.colormap = "hot-cold";
  img = bowlrp::render::render_heatmap(zero, o);
  BOOST_TEST(std::all_of(img.data.begin(), img.data.end(), [](unsigned char c) { return c == 0; }));

  // Views needing the image.
  o = {};
  o.view = bowlrp::render::HeatmapView::mask;
  BOOST_CHECK_THROW(bowlrp::render::render_heatmap(pr, o), std::invalid_argument);
  std::vector<unsigned char> grey(12);
  for (int i = 0; i < 12; ++i) grey[i] = static_cast<unsigned char>(20 * i + 10);
  const auto image = bowlrp::render::bgr8_from_pixels(grey.data(), 4, 3, 1);
  o.mask_top_percent = 25;  // 3 of 12 pixels: 100, 2, 1 (the -2 is never kept)
  o.mask_dim = 0;
  img = bowlrp::render::render_heatmap(pr, o, &image);
  for (int q = 0; q < 12; ++q) {
    const bool kept = q == 11 || q == 1 || q == 3;
    BOOST_TEST(img.data[q * 3 + 1] == (kept ? grey[q] : 0), "pixel " << q);
  }
  const auto small = bowlrp::render::bgr8_from_pixels(grey.data(), 3, 4, 1);
  BOOST_CHECK_THROW(bowlrp::render::render_heatmap(pr, o, &small), std::invalid_argument);
  o = {};
  o.percentile = 0;
  BOOST_CHECK_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.edge_high = 10;
  BOOST_CHECK_THROW(o.validate(), std::invalid_argument);
  o = {};
  o.colormap = "viridis";
  BOOST_CHECK_THROW(bowlrp::render::render_heatmap(pr, o), std::invalid_argument);
  BOOST_TEST((bowlrp::render::heatmap_view_from_string("edges") == bowlrp::render::HeatmapView::edges));
  BOOST_CHECK_THROW(bowlrp::render::heatmap_scaling_from_string("max"), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(heatmap_edges_view_draws_image_edges) {
  // Zero relevance over an image with one vertical step: only pixels near the step change colour.
  const int W = 40, H = 30;
  std::vector<unsigned char> grey(W * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) grey[y * W + x] = x < 20 ? 30 : 220;
  const auto image = bowlrp::render::bgr8_from_pixels(grey.data(), W, H, 1);
  bd::PixelRelevance pr{W, H, std::vector<double>(W * H, 0.0), 0.0};
  bowlrp::render::HeatmapOptions o;
  o.view = bowlrp::render::HeatmapView::edges;
  for (std::string map : {"bwr", "hot-cold"}) {
    o.colormap = map;
    const auto img = bowlrp::render::render_heatmap(pr, o, &image);
    const auto neutral = bowlrp::render::colormap_bgr(map, 0);
    int changed = 0;
    for (int y = 0; y < H; ++y)
      for (int x = 0; x < W; ++x) {
        const bool same = std::equal(neutral.begin(), neutral.end(), img.at(x, y));
        if (!same) {
          ++changed;
          BOOST_TEST(std::abs(x - 19.5) <= 2.0);
        }
      }
    BOOST_TEST(changed >= H, map << ": " << changed << " edge pixels");
  }
}

BOOST_AUTO_TEST_CASE(npy_file_is_readable) {
  bowlrp::test::TempDir dir;
  bd::PixelRelevance pr;
  pr.width = 5;
  pr.height = 3;
  for (int i = 0; i < 15; ++i) pr.R.push_back((i - 7) * 0.125 + 1e-3 * i);
  const std::string path = dir / "relevance_ü.npy";
  bowlrp::render::write_npy(path, pr);
  const std::string bytes = bowlrp::core::read_file(path);
  BOOST_REQUIRE(bytes.size() > 10);
  BOOST_TEST(bytes.substr(0, 6) == std::string("\x93NUMPY", 6));
  BOOST_TEST(bytes[6] == 1);
  BOOST_TEST(bytes[7] == 0);
  const std::size_t hlen = static_cast<unsigned char>(bytes[8]) | (static_cast<unsigned char>(bytes[9]) << 8);
  BOOST_TEST((10 + hlen) % 64 == 0u);
  const std::string header = bytes.substr(10, hlen);
  BOOST_TEST(header.back() == '\n');
  BOOST_TEST(header.find("'descr': '<f4'") != std::string::npos);
  BOOST_TEST(header.find("'fortran_order': False") != std::string::npos);
  BOOST_TEST(header.find("'shape': (3, 5)") != std::string::npos);
  BOOST_REQUIRE_EQUAL(bytes.size(), 10 + hlen + 15 * 4);
  for (int i = 0; i < 15; ++i) {
    std::uint32_t u = 0;
    for (int k = 0; k < 4; ++k) u |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[10 + hlen + i * 4 + k])) << (8 * k);
    float f;
    std::memcpy(&f, &u, 4);
    BOOST_TEST(f == static_cast<float>(pr.R[i]));
  }
  pr.R.pop_back();
  BOOST_CHECK_THROW(bowlrp::render::write_npy(dir / "bad.npy", pr), std::runtime_error);
}

BOOST_AUTO_TEST_CASE(png_has_the_map_size_and_round_trips) {
  bowlrp::test::TempDir dir;
  struct {
    bd::PixelRelevance pixels;
  } e;  // a 57 x 33 signed map
  e.pixels.width = 57;
  e.pixels.height = 33;
  for (int i = 0; i < 57 * 33; ++i) e.pixels.R.push_back(std::sin(0.05 * i) * std::cos(0.3 * (i % 57)));
  const std::string path = dir / "карта.png";
  bowlrp::render::HeatmapOptions o;
  o.colormap = "seismic";
  bowlrp::render::write_png(path, e.pixels, o);
  const auto back = bowlrp::render::load_bgr8(path);
  BOOST_TEST(back.width == 57);
  BOOST_TEST(back.height == 33);
  BOOST_TEST((back.data == bowlrp::render::render_heatmap(e.pixels, o).data));
  BOOST_CHECK_THROW(bowlrp::render::load_bgr8(dir / "missing.png"), std::runtime_error);
  bowlrp::core::write_file_atomic(dir / "junk.png", "not an image");
  BOOST_CHECK_THROW(bowlrp::render::load_bgr8(dir / "junk.png"), std::runtime_error);
  // Decoding bytes already read gives the same pixels; bad bytes name the path given.
  const std::string bytes = bowlrp::core::read_file(path);
  BOOST_TEST((bowlrp::render::decode_bgr8(bytes, path).data == back.data));
  try {
    bowlrp::render::decode_bgr8(bytes.substr(0, 0), "named.png");
    BOOST_FAIL("empty bytes decoded");
  } catch (const std::runtime_error& ex) {
    BOOST_TEST(std::string(ex.what()).find("named.png") != std::string::npos);
  }
}

BOOST_AUTO_TEST_CASE(heatmap_options_schema_round_trips_and_refuses) {
  // Every option's text reads back to itself, and the defaults are the struct's.
  for (const auto& o : HeatmapOptions::schema()) {
    const HeatmapOptions d;
    const auto text = o.get(d);
    BOOST_REQUIRE(text);
    HeatmapOptions back;
    o.set(back, *text, o.name);
    BOOST_TEST(*o.get(back) == *text, o.name);
  }
  const HeatmapOptions p = with(with(HeatmapOptions{}, "scaling", "percentile"), "percentile", "97.5");
  BOOST_TEST((p.scaling == bowlrp::render::HeatmapScaling::percentile));
  BOOST_TEST(p.percentile == 97.5);
  BOOST_TEST(with(HeatmapOptions{}, "colormap", "seismic").colormap == "seismic");
  for (const auto& [name, text] : std::vector<std::pair<std::string, std::string>>{
           {"percentile", "0"}, {"percentile", "100.5"}, {"mask_dim", "1.5"}, {"edge_low", "-1"},
           {"colormap", "jet"}, {"scaling", "sqrt"}, {"view", "pie"}})
    BOOST_CHECK_THROW(with(HeatmapOptions{}, name, text), std::invalid_argument);
  // The view has no flag of its own: the files' --view lists them.
  BOOST_TEST(bowlrp::core::find_option(HeatmapOptions::schema(), "view")->flag.empty());
  BOOST_TEST(!bowlrp::core::find_option(HeatmapFileOptions::schema(), "view"));
  BOOST_TEST(bowlrp::core::find_option(HeatmapFileOptions::schema(), "colormap")->flag == "--colormap");
}

BOOST_AUTO_TEST_CASE(file_views_parse_all_lists_and_refuse_repeats) {
  const HeatmapFileOptions all = with(HeatmapFileOptions{}, "views", "all");
  BOOST_TEST(all.views.size() == 3u);
  BOOST_TEST(*bowlrp::core::find_option(HeatmapFileOptions::schema(), "views")->get(all) == "heatmap,edges,mask");
  const HeatmapFileOptions two = with(HeatmapFileOptions{}, "views", "mask,heatmap");
  BOOST_TEST((two.views == std::vector<HeatmapView>{HeatmapView::mask, HeatmapView::heatmap}));
  BOOST_CHECK_THROW(with(HeatmapFileOptions{}, "views", "heatmap,pie"), std::invalid_argument);
  BOOST_CHECK_THROW(with(HeatmapFileOptions{}, "views", ""), std::invalid_argument);
  BOOST_CHECK_THROW(with(HeatmapFileOptions{}, "views", "edges,edges").validate(), std::invalid_argument);
  HeatmapFileOptions none;
  none.views.clear();
  BOOST_CHECK_THROW(none.validate(), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(heatmap_files_are_the_single_writers_bytes) {
  bowlrp::test::TempDir dir;
  bowlrp::decompose::PixelRelevance rel;
  rel.width = 24;
  rel.height = 16;
  bowlrp::render::Bgr8Image image;
  image.width = rel.width;
  image.height = rel.height;
  for (int y = 0; y < rel.height; ++y)
    for (int x = 0; x < rel.width; ++x) {
      rel.R.push_back(std::sin(0.4 * x) * std::cos(0.3 * y) - 0.1);
      for (int c = 0; c < 3; ++c) image.data.push_back(static_cast<unsigned char>((x * 9 + y * 5 + c * 40) % 256));
    }
  HeatmapFileOptions o = with(with(HeatmapFileOptions{}, "views", "all"), "colormap", "hot-cold");
  o.heatmap.scaling = bowlrp::render::HeatmapScaling::percentile;
  o.heatmap.percentile = 90;
  bowlrp::render::write_heatmap_files(dir / "img", rel, o, &image);
  for (const HeatmapView v : o.views) {
    HeatmapOptions one = o.heatmap;
    one.view = v;
    const std::string expected = dir / ("expected." + bowlrp::render::to_string(v) + ".png");
    bowlrp::render::write_png(expected, rel, one, &image);
    BOOST_TEST(bowlrp::core::read_file(dir / ("img." + bowlrp::render::to_string(v) + ".png")) ==
               bowlrp::core::read_file(expected), bowlrp::render::to_string(v));
  }
  bowlrp::render::write_npy(dir / "expected.npy", rel);
  BOOST_TEST(bowlrp::core::read_file(dir / "img.relevance.npy") == bowlrp::core::read_file(dir / "expected.npy"));
  // The edges and mask views need the image: refused, and nothing half-written.
  BOOST_CHECK_THROW(bowlrp::render::write_heatmap_files(dir / "bare", rel, o, nullptr), std::invalid_argument);
  for (const char* file : {"bare.heatmap.png", "bare.edges.png", "bare.mask.png", "bare.relevance.npy"})
    BOOST_TEST(!std::filesystem::exists(dir / file), file);
}

BOOST_AUTO_TEST_SUITE_END()
