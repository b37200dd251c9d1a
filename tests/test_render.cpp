// render: the heatmap options described once (HeatmapOptions::schema(), HeatmapFileOptions) and the
// files of one explained image (write_heatmap_files) against the single-file writers.
#include "test_util.h"

#include <bowlrp/core/io.h>
#include <bowlrp/render/heatmap.h>

#include <boost/test/unit_test.hpp>

#include <cmath>
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

BOOST_AUTO_TEST_SUITE(render)

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
