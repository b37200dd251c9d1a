// Suite model/vlad: VLAD as a model kind (model/kinds/vlad.h, its model-file codec): a model file that
// round-trips bit for bit, explanations conserved at every layer, and fit() training a VLAD model
// reproducibly from the kind's traits alone (vlad_model_fixtures.h).
#include <bowlrp/bow/vlad.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include "test_util.h"
#include "vlad_model_fixtures.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
namespace bd = bowlrp::decompose;
using namespace bowlrp::test::vlad;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model)
BOOST_AUTO_TEST_SUITE(vlad)

// The model knows the kind by its registration alone: its name, summary, dimension, and a model file
// that loads to the same pipeline (fingerprint), the same decisions bit for bit, and saves again to
// the same bytes; FitOptions::from_model gives back the VLAD options.
BOOST_AUTO_TEST_CASE(a_vlad_model_round_trips_through_its_model_file) {
  const bowlrp::model::Model m = vlad_model(5);
  BOOST_TEST(m.encoding_kind() == "vlad");
  BOOST_TEST(m.encoding_summary().find("vlad, RootSIFT, 8 words") == 0, m.encoding_summary());
  BOOST_TEST(bowlrp::model::encoding_kind_from_string("vlad") == "vlad");
  bowlrp::test::TempDir tmp;
  m.save(tmp / "v.bowlrp");
  const bowlrp::model::Model back = bowlrp::model::Model::load(tmp / "v.bowlrp");
  BOOST_TEST(back.encoding_kind() == "vlad");
  BOOST_TEST((back.fingerprint() == m.fingerprint()));
  BOOST_TEST(back.encoding_as<bb::VladPipeline>().codebook().centres() == fixture().codebook.centres());
  const bb::GrayImage image = synthetic_image(72, 52, 7);
  const bowlrp::model::Trace t = m.encode(image), tb = back.encode(image);
  const std::vector<double> f = m.scores(t), fb = back.scores(tb);
  BOOST_TEST(std::memcmp(f.data(), fb.data(), f.size() * sizeof(double)) == 0);
  back.save(tmp / "again.bowlrp");
  BOOST_TEST((file_bytes(tmp / "v.bowlrp") == file_bytes(tmp / "again.bowlrp")));
  const bowlrp::model::FitOptions o = bowlrp::model::FitOptions::from_model(back);
  BOOST_TEST(o.encoding == "vlad");
  BOOST_TEST(!o.head.has_value());  // linear SVMs are VLAD's default head
  BOOST_TEST(o.vlad.words == 8);
  BOOST_TEST((o.vlad.pyramid.size() == 2 && o.vlad.pyramid[1].cols == 2));
  BOOST_TEST(o.mirrors());
  // A head of another dimension is refused with the kind's own account of V.
  std::vector<bowlrp::svm::LinearClass> short_head = {{"a", 0, std::vector<double>(10)}};
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] {
        bowlrp::model::Model(fixture().pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(10, short_head));
      },
      {"words x 128 x pyramid cells"}));
}

// Every recorded VLAD option (VladPipelineOptions::schema(), written and read by the model file's
// generic record) survives the model file, changes the fingerprint where it changes the encoding,
// and comes back through FitOptions::from_model.
BOOST_AUTO_TEST_CASE(every_recorded_vlad_option_survives_the_model_file) {
  bb::VladPipelineOptions o = fixture().options;
  o.vlad.root_sift = false;
  o.vlad.signed_sqrt = false;
  o.vlad.intra_normalisation = false;
  o.vlad.max_iterations = 9;
  o.vlad.seed = 18446744073709551615ull;
  o.vlad.samples = 1234;
  o.dsift.contrast_threshold = 0.0125;
  auto pipeline = std::make_shared<const bb::VladPipeline>(o, fixture().codebook);
  BOOST_TEST((pipeline->fingerprint() != fixture().pipeline->fingerprint()));
  const std::size_t V = pipeline->dimension();
  const std::vector<bowlrp::svm::LinearClass> head = {{"a", 0.5, std::vector<double>(V, 0.01)},
                                                      {"b", -0.5, std::vector<double>(V, -0.01)}};
  const bowlrp::model::Model m(pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(V, head));
  bowlrp::test::TempDir tmp;
  m.save(tmp / "v.bowlrp");
  const std::string bytes = file_bytes(tmp / "v.bowlrp");
  for (const char* field : {"\"signed_sqrt\":false", "\"intra_normalisation\":false", "\"root_sift\":false",
                            "\"max_iterations\":9", "\"seed\":18446744073709551615", "\"samples\":1234",
                            "\"contrast_threshold\":0.0125"})
    BOOST_TEST(bytes.find(field) != std::string::npos, field);
  const bowlrp::model::Model back = bowlrp::model::Model::load(tmp / "v.bowlrp");
  BOOST_TEST((back.fingerprint() == m.fingerprint()));
  const bb::VladPipelineOptions& r = back.encoding_as<bb::VladPipeline>().options();
  for (const auto& spec : bb::VladPipelineOptions::schema())
    BOOST_TEST(spec.get(r).value_or("(unset)") == spec.get(o).value_or("(unset)"), spec.name);
  const bowlrp::model::FitOptions f = bowlrp::model::FitOptions::from_model(back);
  BOOST_TEST(!f.vlad.signed_sqrt);
  BOOST_TEST(!f.vlad.intra_normalisation);
  BOOST_TEST(!f.vlad.root_sift);
  BOOST_TEST(f.vlad.max_iterations == 9);
}

// The model's explainer chains the linear head's rule and the VLAD ε rule: every layer conserves,
// the absorbed part of the VLAD layer reported; the sensitivity map covers the image.
BOOST_AUTO_TEST_CASE(a_vlad_model_explains_conserving_at_every_layer) {
  const bowlrp::model::Model m = vlad_model(6);
  for (std::uint64_t seed : {11, 12, 13}) {
    const bb::GrayImage image = synthetic_image(80, 60, seed);
    const bowlrp::model::Trace t = m.encode(image);
    for (std::size_t cls = 0; cls < m.classes(); ++cls) {
      const bd::Explanation e = m.explainer().explain(t, cls);
      const bd::ConservationReport r = bd::check_conservation(e);
      BOOST_TEST(r.ok(), "class " << cls << " residual " << r.relative_residual);
      const double sum_d = r.sum_dimensions;
      BOOST_TEST(std::abs(sum_d - (r.sum_features + r.unassigned_features + r.absorbed_features)) <=
                 1e-9 * std::max(1.0, std::abs(sum_d)));
    }
    const std::vector<double> s = m.sensitivity_map(0, t);
    BOOST_TEST(s.size() == static_cast<std::size_t>(image.original_width) * image.original_height);
    BOOST_TEST(std::all_of(s.begin(), s.end(), [](double v) { return v >= 0 && std::isfinite(v); }));
  }
  // A trace of another kind of encoding is refused by the explainer.
  const bb::EncodeTrace other;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { m.explainer().explain(other, std::size_t{0}); },
                                                {"another kind of encoding"}));
}

// fit() trains a VLAD model by the common protocol from the kind's traits alone: seeded, so a second
// fit gives the same model file; a kernel that needs non-negative inputs is refused over VLAD vectors.
BOOST_AUTO_TEST_CASE(fit_trains_a_vlad_model_reproducibly) {
  std::vector<bb::GrayImage> images;
  std::vector<std::string> labels;
  for (std::uint64_t s = 0; s < 12; ++s) {
    images.push_back(synthetic_image(64, 48, 300 + s));
    labels.push_back(s % 2 ? "odd" : "even");
  }
  bowlrp::model::FitOptions o;
  o.encoding = "vlad";
  o.pipeline.dsift.bin_sizes = {4, 6};
  o.vlad.words = 6;
  o.vlad.samples = 2000;
  o.threads = 2;
  bowlrp::test::TempDir tmp;
  const auto data = bowlrp::model::LabelledImages::from_images(images, labels);
  const bowlrp::model::Model a = bowlrp::model::fit(data, o);
  BOOST_TEST(a.encoding_kind() == "vlad");
  BOOST_TEST(a.head_kind() == "linear-svm");
  BOOST_TEST(a.dimension() == 6u * 128u);
  o.threads = 1;
  const bowlrp::model::Model b = bowlrp::model::fit(data, o);
  a.save(tmp / "a.bowlrp");
  b.save(tmp / "b.bowlrp");
  BOOST_TEST((file_bytes(tmp / "a.bowlrp") == file_bytes(tmp / "b.bowlrp")));
  o.head = "kernel-svm";
  o.kernel.type = bowlrp::svm::KernelType::chi2;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"the vlad encoding's are signed"}));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
