// Suite evaluation/localisation: localisation scores (evaluation/localisation.h): relevance and area
// shares by hand, the pointing game's tolerance and smoothing, and a VOC2007 class mask against its boxes.
#include <bowlrp/datasets/voc.h>
#include <bowlrp/evaluation/localisation.h>

#include "test_util.h"

#include <algorithm>
#include <string>
#include <vector>

namespace bd = bowlrp::datasets;
namespace bb = bowlrp::bow;

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(localisation)

BOOST_AUTO_TEST_CASE(localisation_shares_by_hand) {
  const int W = 10, H = 10;
  std::vector<double> R(W * H, -1.0);
  const bb::Box box = bowlrp::evaluation::voc_box_to_pixels(3, 3, 5, 5);  // 1-based inclusive -> [2, 5)
  BOOST_CHECK_EQUAL(box.x0, 2);
  BOOST_CHECK_EQUAL(box.x1, 5);
  BOOST_CHECK_EQUAL(box.area(), 9);
  for (int y = 2; y < 5; ++y)
    for (int x = 2; x < 5; ++x) R[y * W + x] = 1.0;
  R[9 * W + 9] = 1.0;  // one positive pixel outside
  bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_boxes(W, H, {box, bb::Box{8, 8, 20, 20}});  // second box clipped
  BOOST_CHECK_EQUAL(std::count(mask.values.begin(), mask.values.end(), 1), 9 + 4);
  mask = bowlrp::evaluation::mask_from_boxes(W, H, {box});
  bowlrp::evaluation::LocalisationOptions o;
  o.sigma = 0;
  bowlrp::evaluation::Localisation l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK_CLOSE(l.relevance_share, 0.9, 1e-12);
  BOOST_CHECK_CLOSE(l.area_share, 0.09, 1e-12);
  BOOST_CHECK_EQUAL(l.positive_total, 10.0);
  BOOST_CHECK(l.pointing_hit);  // the first maximum (row-major) is (2, 2)
  BOOST_CHECK_EQUAL(l.point_x, 2);
  BOOST_CHECK_EQUAL(l.point_y, 2);
  // Void pixels leave every sum: voiding the outside positive pixel gives share 1, area 9/99.
  mask.values[9 * W + 9] = 255;
  l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK_EQUAL(l.relevance_share, 1.0);
  BOOST_CHECK_CLOSE(l.area_share, 9.0 / 99.0, 1e-12);
  // No positive relevance: share undefined.
  std::vector<double> neg(W * H, -1.0);
  neg[0] = -0.5;
  l = bowlrp::evaluation::localise(neg.data(), W, H, mask, o);
  BOOST_CHECK(!l.share_defined());
  BOOST_CHECK(l.pointing_defined);
  BOOST_CHECK_THROW(bowlrp::evaluation::localise(R.data(), W, H - 1, mask, o), std::invalid_argument);
  // Class masks from VOC palette labels.
  std::vector<unsigned char> labels{0, 8, 8, 255, 12, 8};
  const auto cm = bowlrp::evaluation::mask_from_labels(3, 2, labels.data(), 8);
  const std::vector<unsigned char> expect{0, 1, 1, 255, 0, 1};
  BOOST_CHECK(cm.values == expect);
}

BOOST_AUTO_TEST_CASE(pointing_game_tolerance_and_smoothing) {
  const int W = 80, H = 60;
  const bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_boxes(W, H, {bb::Box{50, 10, 60, 20}});
  bowlrp::evaluation::LocalisationOptions o;
  o.sigma = 0;
  o.tolerance = 15;
  std::vector<double> R(W * H, 0.0);
  R[15 * W + 35] = 1.0;  // nearest box pixel (50, 15): distance 15 -> hit
  BOOST_CHECK(bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  R.assign(W * H, 0.0);
  R[15 * W + 34] = 1.0;  // distance 16 -> miss
  BOOST_CHECK(!bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  o.tolerance = 16;
  BOOST_CHECK(bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  // Smoothing: a lone spike far away loses to a broad blob on the object.
  o.tolerance = 0;
  R.assign(W * H, 0.0);
  R[50 * W + 5] = 3.0;
  for (int y = 10; y < 20; ++y)
    for (int x = 50; x < 60; ++x) R[y * W + x] = 1.0;
  BOOST_CHECK(!bowlrp::evaluation::localise(R.data(), W, H, mask, o).pointing_hit);
  o.sigma = 3;
  const auto l = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK(l.pointing_hit);
  BOOST_CHECK(l.point_x >= 50 && l.point_x < 60 && l.point_y >= 10 && l.point_y < 20);
  // Constant map: undefined, a miss.
  R.assign(W * H, 0.25);
  const auto c = bowlrp::evaluation::localise(R.data(), W, H, mask, o);
  BOOST_CHECK(!c.pointing_defined);
  BOOST_CHECK(!c.pointing_hit);
  o.tolerance = -1;
  BOOST_CHECK_THROW(o.validate(), std::invalid_argument);
  // Summary.
  bowlrp::evaluation::Localisation a, b;
  a.relevance_share = 0.8;
  a.area_share = 0.2;
  a.positive_total = 1;
  a.pointing_hit = true;
  b.positive_total = 0;
  const auto s = bowlrp::evaluation::summarise({a, b});
  BOOST_CHECK_EQUAL(s.images, 2u);
  BOOST_CHECK_EQUAL(s.share_images, 1u);
  BOOST_CHECK_CLOSE(s.mean_relevance_share, 0.8, 1e-12);
  BOOST_CHECK_CLOSE(s.pointing_accuracy, 0.5, 1e-12);
}

BOOST_AUTO_TEST_CASE(localisation_on_voc_class_mask) {
  if (!bowlrp::test::have_voc()) return;
  const std::string root = bowlrp::test::voc_root();
  const auto ids = bd::voc_segmentation_ids(root, "val");
  BOOST_REQUIRE(!ids.empty());
  const bd::ClassMask cm = bd::load_voc_class_mask(root, ids[0]);
  const bd::VocAnnotation ann = bd::load_voc_annotation(root, ids[0]);
  BOOST_REQUIRE(!ann.objects.empty());
  const std::string& cls = ann.objects[0].name;
  const auto& names = bd::voc_classes();
  const auto label = static_cast<unsigned char>(std::find(names.begin(), names.end(), cls) - names.begin() + 1);
  const bowlrp::evaluation::RegionMask mask = bowlrp::evaluation::mask_from_labels(cm.width, cm.height, cm.labels.data(), label);
  BOOST_REQUIRE_GT(std::count(mask.values.begin(), mask.values.end(), 1), 0);
  // A map equal to the class mask puts all positive relevance on the object.
  std::vector<double> R(mask.values.size());
  for (std::size_t i = 0; i < R.size(); ++i) R[i] = mask.values[i] == 1 ? 1.0 : 0.0;
  const bowlrp::evaluation::Localisation l = bowlrp::evaluation::localise(R.data(), cm.width, cm.height, mask);
  BOOST_CHECK_CLOSE(l.relevance_share, 1.0, 1e-12);
  BOOST_CHECK(l.pointing_hit);
  // Boxes of that class cover the mask's object pixels (mask inside the union of boxes, up to
  // the box rebuild's 1 px rounding).
  std::vector<bb::Box> boxes;
  for (const auto& o : ann.objects)
    if (o.name == cls) boxes.push_back(bowlrp::evaluation::voc_box_to_pixels(o.xmin, o.ymin, o.xmax, o.ymax));
  const bowlrp::evaluation::RegionMask bm = bowlrp::evaluation::mask_from_boxes(cm.width, cm.height, boxes);
  const bowlrp::evaluation::Localisation lb = bowlrp::evaluation::localise(R.data(), cm.width, cm.height, bm);
  BOOST_CHECK_GT(lb.relevance_share, 0.97);
  BOOST_CHECK_GE(lb.area_share, l.area_share);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
