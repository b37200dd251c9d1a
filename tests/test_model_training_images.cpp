// Suite model/training_images: the provenance of a kernel head's support vectors (Model::training_images,
// recorded by fit() from image files, the model file's optional field "training_images") and the
// training images listed for a decision (ExplainOptions::training_images, explanation_json), against
// a naive reference: the explicit per-support-vector kernel sums coef_ci k(s_i, x), sorted. Eight
// 40 x 32 PNG files and a Bag-of-Words model of 6 words keep it cheap.
#include <bowlrp/decompose/support_attribution.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include "bow_fixtures.h"
#include "svm_fixtures.h"
#include "test_util.h"

#include <boost/test/unit_test.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bb = bowlrp::bow;
namespace bm = bowlrp::model;
using nlohmann::json;

namespace {

std::string read_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

void write_bytes(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary) << bytes;
}

// Eight PNG files of two classes (a bright or a dark disc, off centre, on noise) and a model of them.
struct Fixture {
  bowlrp::test::TempDir dir;
  std::vector<std::string> paths, labels;
  bm::Model model;

  static bm::FitOptions options() {
    bm::FitOptions o;
    o.pipeline.image.max_side = 0;
    o.pipeline.dsift.bin_sizes = {4};
    o.pipeline.dsift.step = 3;
    o.pipeline.kmeans.words = 6;
    o.pipeline.kmeans.samples = 600;
    o.pipeline.pooling.pyramid = {{1, 1}};
    o.mirror_training = true;  // so that some support vectors are mirrors
    o.training_accuracy = false;
    o.threads = 1;
    return o;
  }

  Fixture() : model(make()) {}

  bm::Model make() {
    std::mt19937_64 rng(11);
    std::uniform_int_distribution<int> noise(100, 150);
    for (int i = 0; i < 8; ++i) {
      const int W = 40, H = 32, cx = 12 + 3 * i, cy = 10 + i;
      cv::Mat img(H, W, CV_8UC1);
      for (int y = 0; y < H; ++y)
        for (int x = 0; x < W; ++x)
          img.at<unsigned char>(y, x) = static_cast<unsigned char>(
              (x - cx) * (x - cx) + (y - cy) * (y - cy) < 64 ? (i % 2 ? 240 : 15) : noise(rng));
      paths.push_back((dir.path() / ("img" + std::to_string(i) + ".png")).string());
      cv::imwrite(paths.back(), img);
      labels.push_back(i % 2 ? "bright" : "dark");
    }
    return bm::fit(bm::LabelledImages::from_paths(paths, labels), options());
  }
};

// One fixture for the cases that leave its files as they are (the model is fitted once).
const Fixture& shared_fixture() {
  static const Fixture f;
  return f;
}

// A model file's header and data section, and the file again from an edited header (padding,
// length and checksum as the writer makes them), so that an edit reaches the content checks.
json header_of(const std::string& buf) {
  std::uint64_t n = 0;
  for (int k = 0; k < 8; ++k) n |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
  return json::parse(buf.substr(21, n));
}

std::string with_header(const std::string& buf, const json& header) {
  std::uint64_t n = 0;
  for (int k = 0; k < 8; ++k) n |= std::uint64_t(static_cast<unsigned char>(buf[13 + k])) << (8 * k);
  std::string text = header.dump();
  text.append((8 - (21 + text.size()) % 8) % 8, ' ');
  std::string out = buf.substr(0, 13);
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((text.size() >> (8 * k)) & 0xFF));
  out += text + buf.substr(21 + n, buf.size() - 21 - n - 8);
  const std::uint32_t crc = bowlrp::test::naive_crc32(out, out.size());
  for (int k = 0; k < 8; ++k) out.push_back(static_cast<char>((std::uint64_t(crc) >> (8 * k)) & 0xFF));
  return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model)
BOOST_AUTO_TEST_SUITE(training_images)

BOOST_AUTO_TEST_CASE(fit_records_the_training_image_of_each_support_vector) {
  // Support vector i is, bit for bit, the encoding of the recorded file (mirrored when flagged).
  const Fixture& f = shared_fixture();
  const auto& head = f.model.head_as<bowlrp::svm::KernelSvm>();
  const std::vector<bm::TrainingImage>& t = f.model.training_images();
  BOOST_TEST_REQUIRE(t.size() == head.support_size());
  BOOST_TEST(f.model.support_size() == head.support_size());
  std::size_t mirrored = 0;
  for (std::size_t i = 0; i < t.size(); ++i) {
    BOOST_TEST((std::find(f.paths.begin(), f.paths.end(), t[i].path) != f.paths.end()));
    const bb::GrayImage image = f.model.load_image(t[i].path);
    const std::vector<double> h =
        bb::head_input(f.model.encode(t[i].mirrored ? bb::mirror_left_right(image) : image));
    BOOST_TEST((h == std::vector<double>(head.support_vector(i), head.support_vector(i) + head.dim())), "support vector " << i);
    mirrored += t[i].mirrored;
  }
  BOOST_TEST(mirrored > 0);
  BOOST_TEST(mirrored < t.size());
  // The same images decoded (no paths): nothing recorded, and the same head.
  std::vector<bb::GrayImage> decoded;
  for (const std::string& p : f.paths) decoded.push_back(f.model.load_image(p));
  const bm::Model arrays = bm::fit(bm::LabelledImages::from_images(decoded, f.labels), Fixture::options());
  BOOST_TEST(arrays.training_images().empty());
  BOOST_TEST(arrays.head_as<bowlrp::svm::KernelSvm>().support() == head.support());
  // with_training_images checks the count.
  BOOST_CHECK_THROW(f.model.with_training_images({{"a.png", false}}), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(training_images_round_trip_through_the_model_file_and_bad_ones_are_refused) {
  const Fixture& f = shared_fixture();
  const std::string path = (f.dir.path() / "m.bowlrp").string();
  f.model.save(path);
  const bm::Model loaded = bm::Model::load(path);
  BOOST_TEST((loaded.training_images() == f.model.training_images()));
  const std::string buf = read_bytes(path);
  loaded.save(path);
  BOOST_TEST((read_bytes(path) == buf));  // saved again to the same bytes
  const json h = header_of(buf);
  BOOST_TEST(h.at("training_images").size() == f.model.support_size());
  // A path that is not UTF-8 keeps its bytes (path_hex).
  std::vector<bm::TrainingImage> odd = f.model.training_images();
  odd[0].path = "bad\xff/name.png";
  f.model.with_training_images(odd).save(path);
  BOOST_TEST((bm::Model::load(path).training_images() == odd));
  BOOST_TEST(header_of(read_bytes(path)).at("training_images")[0].at("path_hex") == "626164ff2f6e616d652e706e67");
  // Without the field (a file from before it): loads, with none.
  json none = h;
  none.erase("training_images");
  write_bytes(path, with_header(buf, none));
  BOOST_TEST(bm::Model::load(path).training_images().empty());

  // Each bad edit (a value set at a JSON pointer, or removed) is refused, naming the file and the field.
  const std::string last = "/training_images/" + std::to_string(f.model.support_size() - 1);
  const struct {
    const char* what;
    std::string pointer;
    std::optional<json> value;  // nullopt: remove
    std::vector<std::string> needles;
  } edits[] = {
      {"one entry short", last, std::nullopt, {path, "training_images", "one per support vector"}},
      {"not an array", "/training_images", json("img0.png"), {"training_images", "expected an array"}},
      {"mirrored not a boolean", "/training_images/1/mirrored", json("no"), {"training_images[1].mirrored", "true or false"}},
      {"path not a string", "/training_images/0/path", json(3), {"training_images[0].path", "expected a string"}},
      {"empty path", "/training_images/0/path", json(""), {"training_images[0].path", "expected a file path"}},
      {"unknown field", "/training_images/0/row", json(1), {"training_images[0].row"}},
      {"missing field", "/training_images/0/mirrored", std::nullopt, {"training_images[0].mirrored", "missing"}},
      {"bad hex", "/training_images/0/path_hex", json("zz"), {"training_images[0].path_hex"}},
  };
  for (const auto& e : edits) {
    json edited = h;
    const json::json_pointer at(e.pointer);
    if (e.value) {
      edited[at] = *e.value;
    } else if (json& parent = edited.at(at.parent_pointer()); parent.is_array()) {
      parent.erase(std::stoul(at.back()));
    } else {
      parent.erase(at.back());
    }
    write_bytes(path, with_header(buf, edited));
    std::string message = "(nothing thrown)";
    try {
      bm::Model::load(path);
    } catch (const std::runtime_error& x) {
      message = x.what();
    }
    for (const std::string& n : e.needles)
      BOOST_TEST(message.find(n) != std::string::npos, e.what << ": '" << message << "' lacks '" << n << "'");
  }
}

BOOST_AUTO_TEST_CASE(explain_lists_the_training_images_of_the_naive_reference) {
  // The listed training images are the naive reference's: c_i = coef_ci k(s_i, x) summed explicitly
  // per support vector, sorted by c_i (ties by index); shares c_i / f; paths and mirror flags as
  // recorded; each matching map sums to c_i (Bag-of-Words absorbs nothing below the head).
  const Fixture& f = shared_fixture();
  const auto& head = f.model.head_as<bowlrp::svm::KernelSvm>();
  const std::size_t S = head.support_size(), K = 2;
  bm::ExplainOptions o;
  o.training_images = K;
  o.threads = 1;
  for (std::size_t image : {0u, 5u}) {
    const bb::GrayImage g = f.model.load_image(f.paths[image]);
    const bm::ImageExplanation e = bm::explain_image(f.model, g, o);
    const std::size_t cls = e.explanation.cls;
    const std::vector<double> x = bb::head_input(f.model.encode(g));
    std::vector<double> c(S);
    for (std::size_t i = 0; i < S; ++i)
      c[i] = head.classes()[cls].coef[i] * bowlrp::test::naive_kernel(head.kernel(), head.support_vector(i), x.data(), x.size());
    std::vector<std::size_t> order(S);
    for (std::size_t i = 0; i < S; ++i) order[i] = i;
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return c[a] > c[b]; });
    std::vector<std::size_t> up, down;
    for (std::size_t i : order)
      if (c[i] > 0 && up.size() < K) up.push_back(i);
    for (auto it = order.rbegin(); it != order.rend(); ++it)
      if (c[*it] < 0 && down.size() < K) down.push_back(*it);
    BOOST_TEST_REQUIRE(e.supporting.size() == up.size());
    BOOST_TEST_REQUIRE(e.opposing.size() == down.size());
    BOOST_TEST(!up.empty());
    BOOST_TEST(!down.empty());
    const json j = json::parse(bm::explanation_json(f.model, e, o));
    const json& listed = j.at("training_images");
    BOOST_TEST(listed.at("k") == K);
    BOOST_TEST(listed.at("support_size") == S);
    BOOST_TEST(listed.at("maps") == true);
    const auto check = [&](const std::vector<bm::ListedTrainingImage>& got, const std::vector<std::size_t>& want,
                           const json& rows) {
      for (std::size_t r = 0; r < want.size(); ++r) {
        const std::size_t i = want[r];
        BOOST_TEST(got[r].support_index == i);
        BOOST_TEST(bowlrp::test::close(got[r].contribution, c[i], 1e-12));
        BOOST_TEST_REQUIRE(got[r].image.has_value());
        BOOST_TEST((*got[r].image == f.model.training_images()[i]));
        const bowlrp::decompose::PixelRelevance& p = got[r].test_pixels;
        BOOST_TEST(p.width == g.original_width);
        BOOST_TEST(bowlrp::test::close(p.total() + p.unassigned, c[i], 1e-9));
        BOOST_TEST(rows[r].at("rank") == r + 1);
        BOOST_TEST(rows[r].at("support_index") == i);
        BOOST_TEST(rows[r].at("contribution").get<double>() == got[r].contribution);
        BOOST_TEST(rows[r].at("share").get<double>() == got[r].contribution / e.explanation.dimensions.f);
        BOOST_TEST(rows[r].at("image") == f.model.training_images()[i].path);
        BOOST_TEST(rows[r].at("mirrored") == f.model.training_images()[i].mirrored);
      }
    };
    check(e.supporting, up, listed.at("supporting"));
    check(e.opposing, down, listed.at("opposing"));
    // Without the option: nothing listed, and no field in the JSON.
    const bm::ImageExplanation plain = bm::explain_image(f.model, g, {});
    BOOST_TEST(plain.supporting.empty());
    BOOST_TEST(!json::parse(bm::explanation_json(f.model, plain, {})).contains("training_images"));
  }
}

BOOST_AUTO_TEST_CASE(listed_training_images_get_their_own_maps_from_their_files) {
  // Every support vector listed (K = S): each file re-encoded gives its own map, summing to c_i; a
  // mirror's is the map on the mirrored image flipped back onto the file. A file gone since training
  // costs only its own map, the reason kept.
  const Fixture f;
  const auto& head = f.model.head_as<bowlrp::svm::KernelSvm>();
  bm::ExplainOptions o;
  o.training_images = head.support_size();
  o.threads = 1;
  const bb::GrayImage g = f.model.load_image(f.paths[3]);
  const bm::Trace test = f.model.encode(g);
  const bm::ImageExplanation e = bm::explain_image(f.model, g, o);
  std::size_t mirrored = 0;
  for (const auto* side : {&e.supporting, &e.opposing})
    for (const bm::ListedTrainingImage& t : *side) {
      BOOST_TEST_REQUIRE(t.training_error.empty(), t.training_error);
      const bb::GrayImage file = f.model.load_image(t.image->path);
      BOOST_TEST(t.training_pixels.width == file.original_width);
      BOOST_TEST(bowlrp::test::close(t.training_pixels.total() + t.training_pixels.unassigned, t.contribution, 1e-9));
      if (!t.image->mirrored) continue;
      ++mirrored;
      const bowlrp::decompose::SupportPixelMaps m = bowlrp::decompose::support_pixel_maps(
          head, f.model.encoding(), test, f.model.encode(bb::mirror_left_right(file)), e.explanation.cls, t.support_index);
      const int W = m.training_pixels.width;
      bool flipped = true;
      for (int y = 0; y < m.training_pixels.height; ++y)
        for (int x = 0; x < W; ++x) flipped &= t.training_pixels.at(x, y) == m.training_pixels.at(W - 1 - x, y);
      BOOST_TEST(flipped);
    }
  BOOST_TEST(mirrored > 0);
  const bm::ListedTrainingImage& first = e.supporting.at(0);
  std::filesystem::remove(first.image->path);
  const bm::ImageExplanation gone = bm::explain_image(f.model, g, o);
  BOOST_TEST(gone.supporting.at(0).training_pixels.R.empty());
  BOOST_TEST(gone.supporting.at(0).training_error.find(first.image->path) != std::string::npos);
  BOOST_TEST((gone.supporting.at(0).test_pixels.R == first.test_pixels.R));
  const json row = json::parse(bm::explanation_json(f.model, gone, o)).at("training_images").at("supporting").at(0);
  BOOST_TEST(row.at("training_map") == false);
  BOOST_TEST(row.at("training_map_error").get<std::string>() == gone.supporting.at(0).training_error);
}

BOOST_AUTO_TEST_CASE(training_images_are_refused_for_a_linear_head) {
  // A linear head keeps only w_c: nothing exact per training image, refused before any work.
  bb::PipelineOptions po;
  po.kmeans.words = 4;
  po.pooling.pyramid = {{1, 1}};
  const bm::Model linear(bm::Encoding(std::make_shared<const bb::Pipeline>(po, bowlrp::test::random_codebook(4, 3))),
                         bm::Head(std::make_shared<const bowlrp::svm::LinearSvm>(bowlrp::test::random_linear_head(4, 2, 5))));
  BOOST_TEST(linear.support_size() == 0);
  BOOST_TEST(linear.training_images().empty());
  BOOST_CHECK_THROW(linear.with_training_images({{"a.png", false}}), std::invalid_argument);
  bm::ExplainOptions o;
  BOOST_CHECK_NO_THROW(bm::check_training_images(linear, o, "--training-images"));
  o.training_images = 3;
  BOOST_TEST(bowlrp::test::throws_with<std::invalid_argument>(
      [&] { bm::check_training_images(linear, o, "--training-images 3"); },
      {"--training-images 3", "linear-svm", "nothing exact"}));
  const bb::ImageLoader loader(bb::ImageOptions{0});
  const std::vector<float> px(32 * 32, 0.5f);
  BOOST_TEST(bowlrp::test::throws_with<std::invalid_argument>(
      [&] { bm::explain_image(linear, loader.from_gray(px.data(), 32, 32), o); }, {"training_images", "linear-svm"}));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
