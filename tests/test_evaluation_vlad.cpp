// Suite evaluation/vlad: the incremental flipper (evaluation/pixel_flipping.h) reaches VLAD through
// replace_features; its curve equals re-encoding every perturbed image, bit for bit (vlad_model_fixtures.h).
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/model/model.h>

#include "test_util.h"
#include "vlad_model_fixtures.h"

#include <vector>

namespace bb = bowlrp::bow;
using namespace bowlrp::test::vlad;

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(vlad)

// The flipper reaches VLAD through replace_features: its incremental curve equals re-encoding every
// perturbed image (VLAD's replacement is exact), bit for bit.
BOOST_AUTO_TEST_CASE(incremental_pixel_flipping_of_a_vlad_model_equals_full_reencoding) {
  const bowlrp::model::Model m = vlad_model(7);
  const bb::GrayImage image = synthetic_image(72, 54, 21);
  const bowlrp::model::Trace t = m.encode(image);
  bowlrp::evaluation::PixelFlipOptions o;
  o.region_size = 9;
  o.steps = 12;
  o.regions_per_step = 2;
  const bowlrp::evaluation::IncrementalFlipper flipper(m, 1);
  const bowlrp::evaluation::RegionGrid grid(image.width, image.height, o.region_size);
  const std::vector<int> order = bowlrp::evaluation::random_order(grid.size(), 3);
  const std::vector<double> incremental = flipper.flip_curve(image, t, order, o);
  const std::vector<double> full = bowlrp::evaluation::flip_curve(
      image, order, o, [&](const bb::GrayImage& x) { return m.scores(m.encode(x))[1]; });
  BOOST_TEST_REQUIRE(incremental.size() == full.size());
  for (std::size_t k = 0; k < full.size(); ++k) BOOST_TEST(incremental[k] == full[k], "step " << k);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
