// Suite evaluation/fisher: the incremental flipper (evaluation/pixel_flipping.h) over Fisher vectors,
// re-extracting only the reached features (replace_features), against the full re-run of the pipeline.
#include <bowlrp/bow/fisher.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/svm/linear_svm.h>

#include "fisher_fixtures.h"
#include "svm_fixtures.h"
#include "test_util.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;
namespace bs = bowlrp::svm;
using namespace bowlrp::test::fisher;
using bowlrp::test::random_linear_head;

BOOST_AUTO_TEST_SUITE(evaluation)
BOOST_AUTO_TEST_SUITE(fisher)

// The incremental flipper (re-extracting only the reached features, replace_features) against the
// full re-run score = f(pipeline.encode(x)), with one and three regions per step.
BOOST_AUTO_TEST_CASE(incremental_fisher_flipping_matches_the_full_rerun) {
  const Fixture& fx = fixture();
  const auto& pipeline = fx.pipeline;
  const auto head = std::make_shared<const bs::LinearSvm>(random_linear_head(pipeline->dimension(), 2, 25));
  const std::size_t cls = 1;
  const bowlrp::evaluation::IncrementalFlipper flipper(bowlrp::model::Encoding(pipeline), bd::Head(head), cls);
  const bb::GrayImage image = synthetic_image(64, 48, 401);
  const bb::FisherTrace trace = pipeline->encode(image);
  const bowlrp::evaluation::ImageScore score = [&](const bb::GrayImage& x) {
    return head->decision(cls, pipeline->encode(x).fisher.data());
  };
  // The relevance order of the explanation, and a random one.
  const bd::Explainer explainer(bd::Head(head), pipeline);
  const bd::Explanation e = explainer.explain(trace, cls);
  bowlrp::evaluation::PixelFlipOptions po;
  po.region_size = 9;
  po.seed = 3;
  const bowlrp::evaluation::RegionGrid grid(image.width, image.height, po.region_size);
  const std::vector<int> lrp = bowlrp::evaluation::relevance_order(grid.aggregate(e.pixels.R.data(), e.pixels.width, e.pixels.height));
  const std::vector<int> random = bowlrp::evaluation::random_order(grid.size(), 9);
  double worst = 0;
  for (int per_step : {1, 3})
    for (const auto* order : {&lrp, &random}) {
      BOOST_TEST_CONTEXT(per_step << " regions per step, " << (order == &lrp ? "relevance" : "random") << " order") {
        po.regions_per_step = per_step;
        po.steps = per_step == 1 ? 14 : 18;  // 3 x 18 > 48 regions: the last steps repeat
        const std::vector<double> fast = flipper.flip_curve(image, trace, *order, po);
        const std::vector<double> full = bowlrp::evaluation::flip_curve(image, *order, po, score);
        BOOST_TEST_REQUIRE(fast.size() == static_cast<std::size_t>(po.steps) + 1);
        BOOST_TEST(fast[0] == head->decision(cls, trace.fisher.data()));
        const double d = max_abs_diff(fast, full);
        BOOST_TEST(d < 1e-6);
        worst = std::max(worst, d);
        double moved = 0;
        for (double f : full) moved = std::max(moved, std::abs(f - full[0]));
        BOOST_TEST(moved > 1e-3);  // the curve is not flat: the comparison means something
      }
    }
  BOOST_TEST_MESSAGE("incremental vs full Fisher flip curves: worst |Δf| = " << worst);
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
