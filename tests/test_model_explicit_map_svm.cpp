// Suite model/explicit_map_svm: the explicit-map linear SVM head as a model kind (model/kinds/explicit_map_svm.h,
// its model-file codec): fit on small synthetic shapes against the kernel SVM of the same kernel on the
// same data, explanations through Model::explainer conserved at every layer with R_d recomputed here
// from the head's weights and map, a model file that round-trips bit for bit, and strict reading.
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/kinds.h>
#include <bowlrp/model/model.h>
#include <bowlrp/svm/additive_map_svm.h>

#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace bd = bowlrp::decompose;
namespace bm = bowlrp::model;
using bowlrp::test::TempDir;
using bowlrp::test::throws_with;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << bytes;
}

// CRC-32 (zlib), bitwise: a crafted file's checksum, so that its content reaches the reader's checks.
std::uint32_t crc32(const std::string& s) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : s) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0xEDB88320u : c >> 1;
  }
  return ~c;
}

// Shapes images index first .. first + n - 1 of a 3-class set, 64 x 64.
bm::LabelledImages shapes(int first, int n) {
  bowlrp::datasets::ShapesOptions o;
  o.classes = {"circle", "square", "triangle"};
  o.images_per_class = 200;
  o.width = o.height = 64;
  o.min_scale = 0.4;
  o.max_scale = 0.6;
  o.seed = 4;
  const bowlrp::bow::ImageLoader loader(bowlrp::bow::ImageOptions{0});
  std::vector<bowlrp::bow::GrayImage> images;
  std::vector<std::string> labels;
  for (int i = first; i < first + n; ++i) {
    const bowlrp::datasets::ShapeImage s = bowlrp::datasets::generate_shape(o, i);
    images.push_back(loader.from_bgr8(s.bgr.data(), s.width, s.height, 3));
    labels.push_back(s.class_name);
  }
  return bm::LabelledImages::from_images(std::move(images), labels);
}

const bm::LabelledImages& train_set() {
  static const bm::LabelledImages s = shapes(0, 90);
  return s;
}
const bm::LabelledImages& test_set() {
  static const bm::LabelledImages s = shapes(90, 90);
  return s;
}

bm::FitOptions fit_options(const std::string& head, bowlrp::svm::KernelType kernel, const std::string& cache) {
  bm::FitOptions o;
  o.pipeline.image.max_side = 0;
  o.pipeline.dsift.bin_sizes = {4, 6};
  o.pipeline.dsift.step = 3;
  o.pipeline.kmeans.words = 48;
  o.pipeline.pooling.pyramid = std::vector<bowlrp::core::PyramidLevel>(1);
  o.head = head;
  o.kernel.type = kernel;
  o.additive_map.order = 2;
  o.threads = 2;
  o.cache_dir = cache;
  o.training_accuracy = false;
  return o;
}

double accuracy(const bm::Model& m, const bm::LabelledImages& data) {
  std::size_t right = 0;
  const std::size_t n = data.images.size();
  for (std::size_t i = 0; i < n; ++i) {
    const std::vector<double> s = m.scores(m.encode(data.images.decoded()[i]));
    const std::size_t top = static_cast<std::size_t>(std::max_element(s.begin(), s.end()) - s.begin());
    const std::size_t C = data.class_names.size();
    const std::size_t truth = static_cast<std::size_t>(
        std::max_element(data.labels.begin() + i * C, data.labels.begin() + (i + 1) * C) - (data.labels.begin() + i * C));
    right += m.class_names()[top] == data.class_names[truth];
  }
  return static_cast<double>(right) / static_cast<double>(n);
}

const bm::Model& map_model() {
  static const bm::Model m = [] {
    TempDir cache;
    return bm::fit(train_set(), fit_options("explicit-map-svm", bowlrp::svm::KernelType::chi2, cache / "c"));
  }();
  return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model)
BOOST_AUTO_TEST_SUITE(explicit_map_svm)

// The fit reaches the head by its registration; on the same data and encoding, its top-1 accuracy is
// within 0.06 of the kernel SVM of the kernel it approximates.
BOOST_AUTO_TEST_CASE(fit_is_close_to_the_kernel_svm) {
  TempDir cache;
  for (bowlrp::svm::KernelType k : {bowlrp::svm::KernelType::intersection, bowlrp::svm::KernelType::chi2}) {
    const auto t0 = std::chrono::steady_clock::now();
    const bm::Model exact = bm::fit(train_set(), fit_options("kernel-svm", k, cache / "c"));
    const auto t1 = std::chrono::steady_clock::now();
    const bm::Model mapped = bm::fit(train_set(), fit_options(bm::head_kind_from_string("explicit-map"), k, cache / "c"));
    const auto t2 = std::chrono::steady_clock::now();
    BOOST_TEST(mapped.head_kind() == "explicit-map-svm");
    BOOST_TEST((mapped.head_as<bowlrp::svm::AdditiveMapSvm>().map().options().kernel == k));
    const double a_exact = accuracy(exact, test_set()), a_map = accuracy(mapped, test_set());
    BOOST_TEST_MESSAGE(bowlrp::svm::to_string(k)
                       << ": test accuracy kernel SVM " << a_exact << " (fit "
                       << std::chrono::duration<double>(t1 - t0).count() << " s), explicit map " << a_map << " (fit "
                       << std::chrono::duration<double>(t2 - t1).count() << " s)");
    BOOST_TEST(a_exact > 0.5);
    BOOST_TEST(std::abs(a_map - a_exact) <= 0.06, bowlrp::svm::to_string(k) << ": " << a_map << " vs " << a_exact);
  }
  bm::FitOptions bad = fit_options("explicit-map-svm", bowlrp::svm::KernelType::rbf, "");
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bad.validate(); }, {"kernel = rbf", "hik or chi2"}));
}

// Every layer conserves at 1e-9, and R_d is Σ_j w_{c,d,j} ψ_j(h_d) + b / V (uniform bias) recomputed
// here from the head's weights and map values.
BOOST_AUTO_TEST_CASE(explanations_conserve_and_match_the_weights) {
  const bm::Model& m = map_model();
  const auto& head = m.head_as<bowlrp::svm::AdditiveMapSvm>();
  const std::size_t V = head.dim(), J = head.map().components();
  double worst = 0;
  for (std::size_t i = 0; i < 6; ++i) {
    const bm::Trace t = m.encode(test_set().images.decoded()[i]);
    const std::vector<double> h = bowlrp::bow::head_input(t);
    for (std::size_t cls = 0; cls < m.classes(); ++cls) {
      const bd::Explanation e = m.explainer().explain(t, cls);
      const bd::ConservationReport r = bd::check_conservation(e);
      BOOST_TEST(r.ok(), r.summary());
      BOOST_TEST(r.relative_residual <= 1e-9);
      worst = std::max(worst, r.relative_residual);
      const bowlrp::svm::LinearClass& c = head.classes()[cls];
      std::vector<double> psi(J);
      double f = c.bias, err = 0;
      for (std::size_t d = 0; d < V; ++d) {
        head.map().map_value(h[d], psi.data());
        double rd = c.bias / static_cast<double>(V);
        for (std::size_t j = 0; j < J; ++j) {
          rd += c.weights[d * J + j] * psi[j];
          f += c.weights[d * J + j] * psi[j];
        }
        err = std::max(err, std::abs(e.dimensions.R[d] - rd));
      }
      BOOST_TEST(err <= 1e-12 * std::max(1.0, std::abs(f)));
      BOOST_TEST(std::abs(e.dimensions.f - f) <= 1e-9 * std::max(1.0, std::abs(f)));
    }
    const std::vector<double> s = m.sensitivity_map(0, t);
    BOOST_TEST(std::all_of(s.begin(), s.end(), [](double v) { return v >= 0 && std::isfinite(v); }));
  }
  BOOST_TEST_MESSAGE("worst relative SVM-layer residual " << worst);
}

BOOST_AUTO_TEST_CASE(the_model_file_round_trips_bit_for_bit) {
  const bm::Model& m = map_model();
  TempDir tmp;
  m.save(tmp / "m.bowlrp");
  const bm::Model back = bm::Model::load(tmp / "m.bowlrp");
  BOOST_TEST(back.head_kind() == "explicit-map-svm");
  const auto& a = m.head_as<bowlrp::svm::AdditiveMapSvm>();
  const auto& b = back.head_as<bowlrp::svm::AdditiveMapSvm>();
  BOOST_TEST(b.map().options().order == 2);
  BOOST_TEST(b.map().options().period == a.map().options().period);
  for (std::size_t c = 0; c < a.classes().size(); ++c) {
    BOOST_TEST(b.classes()[c].weights == a.classes()[c].weights);
    BOOST_TEST(std::memcmp(&b.classes()[c].bias, &a.classes()[c].bias, sizeof(double)) == 0);
  }
  const bm::Trace t = m.encode(test_set().images.decoded()[0]);
  const std::vector<double> f = m.scores(t), fb = back.scores(back.encode(test_set().images.decoded()[0]));
  BOOST_TEST(std::memcmp(f.data(), fb.data(), f.size() * sizeof(double)) == 0);
  back.save(tmp / "again.bowlrp");
  const std::string bytes = file_bytes(tmp / "m.bowlrp");
  BOOST_TEST((bytes == file_bytes(tmp / "again.bowlrp")));
  const bm::FitOptions o = bm::FitOptions::from_model(back);
  BOOST_TEST(o.head_kind() == "explicit-map-svm");
  BOOST_TEST((o.kernel.type == bowlrp::svm::KernelType::chi2));
  BOOST_TEST(o.additive_map.order == 2);

  // Strict reading: each edit keeps the header's length, so only the named field is wrong.
  struct Edit {
    std::string from, to;
    std::vector<std::string> message;
  };
  for (const Edit& edit : {Edit{"\"order\":2", "\"order\":0", {"head.map.order"}},
                           Edit{"\"kernel\":\"chi2\"", "\"kernel\":\"lin2\"", {"head.map.kernel", "\"lin2\""}},
                           Edit{"\"window\":", "\"windov\":", {"windov"}},
                           Edit{"\"order\":2", "\"order\":3", {"weights"}}}) {
    const std::size_t at = bytes.find(edit.from);
    BOOST_REQUIRE_MESSAGE(at != std::string::npos, edit.from);
    std::string changed = bytes;
    changed.replace(at, edit.from.size(), edit.to);
    changed.resize(changed.size() - 8);  // the stored checksum: the CRC of the bytes before it, 8 bytes LE
    const std::uint64_t crc = crc32(changed);
    for (int k = 0; k < 8; ++k) changed.push_back(static_cast<char>((crc >> (8 * k)) & 0xFF));
    write_bytes(tmp / "bad.bowlrp", changed);
    bool refused = false;
    try {
      bm::Model::load(tmp / "bad.bowlrp");
    } catch (const std::exception& e) {
      refused = true;
      for (const std::string& s : edit.message)
        BOOST_TEST(std::string(e.what()).find(s) != std::string::npos, edit.to << ": " << e.what());
    }
    BOOST_TEST(refused, edit.to);
  }
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
