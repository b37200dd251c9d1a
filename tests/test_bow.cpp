// Tests of the bow module: loading, dense SIFT (against a direct vl_dsift call), codebook,
// mapping (against naive nearest-word searches), pooling (against the formulas), pipeline.
#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/dsift.h>
#include <bowlrp/bow/fingerprint.h>
#include <bowlrp/bow/fisher.h>
#include <bowlrp/bow/image.h>
#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>
#include <bowlrp/bow/mapping.h>
#include <bowlrp/core/parallel.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/bow/pooling.h>
#include <bowlrp/bow/vlad.h>
#include <bowlrp/core/shared_library.h>

#include <bowlrp/core/option_text.h>
#include "test_util.h"

extern "C" {
#include <vl/dsift.h>
#include <vl/imopv.h>
#include <vl/kmeans.h>
#include <vl/random.h>
}

#include <cstdio>  // jpeglib.h needs FILE
extern "C" {
#include <jpeglib.h>
}

#include <opencv2/core.hpp>
#include <opencv2/core/utility.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <tbb/global_control.h>

#include <dlfcn.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cfloat>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <memory>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <tuple>
#include <vector>

namespace bw = bowlrp::bow;
using bowlrp::test::TempDir;

namespace {

// The i-th image of VOC2007's train list.
std::string voc_image(std::size_t i) {
  std::ifstream list(bowlrp::test::voc_root() + "/ImageSets/Main/train.txt");
  std::string id;
  for (std::size_t k = 0; k <= i; ++k) std::getline(list, id);
  return bowlrp::test::voc_root() + "/JPEGImages/" + id + ".jpg";
}

using bowlrp::test::throws_with;

// SIFT-like random descriptors: non-negative, unit norm.
std::vector<float> random_descriptors(std::size_t n, int dim, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  std::vector<float> d(n * dim);
  for (std::size_t i = 0; i < n; ++i) {
    double s = 0;
    for (int j = 0; j < dim; ++j) {
      float v = u(rng);
      v = v * v * v;  // sparse-ish, like SIFT
      d[i * dim + j] = v;
      s += double(v) * v;
    }
    for (int j = 0; j < dim; ++j) d[i * dim + j] = float(d[i * dim + j] / std::sqrt(s));
  }
  return d;
}

double dist2(const float* a, const float* b, int dim) {
  double s = 0;
  for (int j = 0; j < dim; ++j) s += (double(a[j]) - b[j]) * (double(a[j]) - b[j]);
  return s;
}

// A trace with frames at given centres in a w x h image (descriptors unused by pooling).
bw::FeatureTrace frames_at(const std::vector<std::pair<float, float>>& centres, int w, int h) {
  bw::FeatureTrace t;
  t.width = t.work_width = w;
  t.height = t.work_height = h;
  for (auto [x, y] : centres) {
    bw::Frame f;
    f.x = x;
    f.y = y;
    t.frames.push_back(f);
  }
  t.descriptors.assign(t.frames.size() * bw::FeatureTrace::kDim, 0.0F);
  return t;
}

// A trace of n frames at random centres in [0, w - 1) x [0, h - 1), in steps of 0.01 px, drawn from rng.
bw::FeatureTrace random_frames(int n, int w, int h, std::mt19937& rng) {
  std::vector<std::pair<float, float>> centres;
  for (int i = 0; i < n; ++i)
    centres.emplace_back(float(rng() % ((w - 1) * 100)) / 100.0F, float(rng() % ((h - 1) * 100)) / 100.0F);
  return frames_at(centres, w, h);
}

// Random sparse assignment of n features over K words, r entries each, weights in (0, 1].
bw::Assignment random_assignment(std::size_t n, int K, int r, std::uint32_t seed) {
  std::mt19937 rng(seed);
  bw::Assignment a;
  a.offsets.assign(1, 0);
  for (std::size_t l = 0; l < n; ++l) {
    std::set<int> words;
    while (int(words.size()) < r) words.insert(int(rng() % K));
    for (int k : words) {
      a.words.push_back(k);
      a.weights.push_back(0.05F + 0.95F * float(rng() % 1000) / 1000.0F);
    }
    a.offsets.push_back(std::uint32_t(a.words.size()));
  }
  return a;
}

// Naive Eq 9: x_d over features of cell c, straight from the definition.
std::vector<double> naive_pool(const bw::FeatureTrace& t, const bw::Assignment& a, int K,
                               const std::vector<bowlrp::core::PyramidLevel>& pyr, double p) {
  int cells = 0;
  for (auto& L : pyr) cells += L.cols * L.rows;
  std::vector<double> x(std::size_t(cells) * K, 0.0);
  int base = 0;
  for (auto& L : pyr) {
    for (int cy = 0; cy < L.rows; ++cy)
      for (int cx = 0; cx < L.cols; ++cx) {
        const int c = base + cy * L.cols + cx;
        std::vector<std::size_t> members;
        for (std::size_t l = 0; l < t.size(); ++l) {
          const double u = (t.frames[l].x + 0.5) / t.width, v = (t.frames[l].y + 0.5) / t.height;
          const int mx = std::min(L.cols - 1, int(std::floor(u * L.cols)));
          const int my = std::min(L.rows - 1, int(std::floor(v * L.rows)));
          if (mx == cx && my == cy) members.push_back(l);
        }
        for (int k = 0; k < K; ++k) {
          double acc = 0;
          for (std::size_t l : members) {
            double m = 0;
            for (auto e = a.offsets[l]; e < a.offsets[l + 1]; ++e)
              if (a.words[e] == k) m = a.weights[e];
            if (std::isinf(p)) acc = std::max(acc, m);
            else acc += std::pow(m, p);
          }
          if (!std::isinf(p) && !members.empty()) acc = std::pow(acc / members.size(), 1.0 / p);
          x[std::size_t(c) * K + k] = acc;
        }
      }
    base += L.cols * L.rows;
  }
  return x;
}

struct DsiftDeleter {
  void operator()(VlDsiftFilter* f) const { vl_dsift_delete(f); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(bow)

// ---------------------------------------------------------------- image loading

BOOST_AUTO_TEST_CASE(image_grey_bgr_bgra_16bit_accepted) {
  TempDir dir;
  const int w = 40, h = 30;
  cv::Mat grey(h, w, CV_8UC1), bgr(h, w, CV_8UC3), bgra(h, w, CV_8UC4), g16(h, w, CV_16UC1);
  std::mt19937 rng(7);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      grey.at<uchar>(y, x) = uchar(rng() % 256);
      bgr.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar(rng() % 256), uchar(rng() % 256), uchar(rng() % 256));
      bgra.at<cv::Vec4b>(y, x) = cv::Vec4b(uchar(rng() % 256), uchar(rng() % 256), uchar(rng() % 256), uchar(rng() % 256));
      g16.at<std::uint16_t>(y, x) = std::uint16_t(rng() % 65536);
    }
  BOOST_REQUIRE(cv::imwrite(dir / "grey.png", grey));
  BOOST_REQUIRE(cv::imwrite(dir / "bgr.png", bgr));
  BOOST_REQUIRE(cv::imwrite(dir / "bgra.png", bgra));
  BOOST_REQUIRE(cv::imwrite(dir / "g16.png", g16));
  const bw::ImageLoader loader;
  const auto a = loader.load(dir / "grey.png");
  const auto b = loader.load(dir / "bgr.png");
  const auto c = loader.load(dir / "bgra.png");
  const auto d = loader.load(dir / "g16.png");
  for (const auto* im : {&a, &b, &c, &d}) {
    BOOST_TEST(im->width == w);
    BOOST_TEST(im->height == h);
    BOOST_TEST(im->scale == 1.0);
  }
  double e8 = 0, e3 = 0, e4 = 0, e16 = 0;
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x) {
      e8 = std::max(e8, std::fabs(a.at(x, y) - grey.at<uchar>(y, x) / 255.0));
      const auto p = bgr.at<cv::Vec3b>(y, x);
      e3 = std::max(e3, std::fabs(b.at(x, y) - (0.114 * p[0] + 0.587 * p[1] + 0.299 * p[2]) / 255.0));
      const auto q = bgra.at<cv::Vec4b>(y, x);
      e4 = std::max(e4, std::fabs(c.at(x, y) - (0.114 * q[0] + 0.587 * q[1] + 0.299 * q[2]) / 255.0));
      e16 = std::max(e16, std::fabs(d.at(x, y) - g16.at<std::uint16_t>(y, x) / 65535.0));
    }
  BOOST_TEST(e8 < 1e-6);
  BOOST_TEST(e3 < 1e-5);
  BOOST_TEST(e4 < 1e-5);
  BOOST_TEST(e16 < 1e-6);
}

BOOST_AUTO_TEST_CASE(image_non_ascii_path) {
  TempDir dir;
  cv::Mat m(20, 50, CV_8UC1, cv::Scalar(128));
  std::vector<uchar> png;
  BOOST_REQUIRE(cv::imencode(".png", m, png));
  const std::string path = dir / "bildér_猫.png";
  bowlrp::core::write_file_atomic(path, std::string(png.begin(), png.end()));
  const auto im = bw::ImageLoader().load(path);
  BOOST_TEST(im.width == 50);
  BOOST_TEST(im.height == 20);
  BOOST_TEST(std::fabs(im.at(3, 4) - 128 / 255.0) < 1e-6);
  BOOST_TEST(im.source == path);
}

BOOST_AUTO_TEST_CASE(image_zero_byte_file_rejected) {
  TempDir dir;
  const std::string path = dir / "empty.jpg";
  std::ofstream(path).close();
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().load(path); }, {path, "empty"}));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().load(dir / "missing.jpg"); },
                                             {"missing.jpg"}));
}

BOOST_AUTO_TEST_CASE(image_truncated_jpeg_rejected) {
  if (!bowlrp::test::have_voc()) return;
  TempDir dir;
  const std::string bytes = bowlrp::core::read_file(voc_image(0));
  const std::string path = dir / "half.jpg";
  bowlrp::core::write_file_atomic(path, bytes.substr(0, bytes.size() / 2));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().load(path); }, {path, "truncated"}));
  // The complete file loads.
  BOOST_TEST(bw::ImageLoader().load(voc_image(0)).width > 0);
}

BOOST_AUTO_TEST_CASE(image_text_file_rejected) {
  TempDir dir;
  const std::string path = dir / "notes.png";
  bowlrp::core::write_file_atomic(path, "this is not an image, just some text\n");
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().load(path); }, {path, "not a readable image"}));
}

BOOST_AUTO_TEST_CASE(image_size_cap_and_scale_recorded) {
  bw::ImageOptions o;
  o.max_side = 500;
  const bw::ImageLoader loader(o);
  std::vector<float> px(1001 * 333, 0.25F);
  const auto im = loader.from_gray(px.data(), 1001, 333);
  BOOST_TEST(im.width == 500);
  BOOST_TEST(im.height == 166);  // round(333 * 500 / 1001) = round(166.33)
  BOOST_TEST(im.original_width == 1001);
  BOOST_TEST(im.original_height == 333);
  BOOST_TEST(im.scale == 500.0 / 1001.0);
  BOOST_TEST(im.scale_x == 500.0 / 1001.0);
  BOOST_TEST(im.scale_y == 166.0 / 333.0);
  BOOST_TEST(std::fabs(im.at(250, 80) - 0.25F) < 1e-6);  // area resampling keeps a flat image flat
  // No upscaling, and 0 disables the cap.
  const auto small = loader.from_gray(px.data(), 333, 100);
  BOOST_TEST(small.width == 333);
  BOOST_TEST(small.scale == 1.0);
  bw::ImageOptions none;
  none.max_side = 0;
  BOOST_TEST(bw::ImageLoader(none).from_gray(px.data(), 1001, 333).width == 1001);
  // Frames of a capped image map back inside the original picture with supports of 4s / scale.
  const auto t = bw::DenseSift().extract(im);
  BOOST_REQUIRE(t.size() > 0);
  for (const auto& f : t.frames) {
    BOOST_TEST_REQUIRE(f.support.x0 >= 0);
    BOOST_TEST_REQUIRE(f.support.x1 <= 1001);
    BOOST_TEST_REQUIRE(f.support.y1 <= 333);
    BOOST_TEST_REQUIRE(f.support.area() > 0);
    BOOST_TEST_REQUIRE(std::fabs(f.size - 4.0 * f.bin_size * 1001.0 / 500.0) < 1e-3);
  }
}

// The digest texts are generated from the schemas (core::record_text); they name the pipelines'
// fingerprints and every cache key, so their form is fixed: these are the texts written since
// format_version 1.
BOOST_AUTO_TEST_CASE(fingerprint_texts_keep_their_form) {
  namespace bb = bowlrp::bow;
  const std::string image_dsift =
      "image.max_side=500;dsift.bin_sizes=4,6,8,10,;dsift.step=4;dsift.magnif=6;dsift.contrast_threshold=0.0050000000000000001;"
      "dsift.window_size=1.5;dsift.fast=1;";
  bb::PipelineOptions p;
  const std::string words = image_dsift +
                            "mapping.kind=hard;mapping.neighbours=5;mapping.beta=1;mapping.rank_decay=0.5;pooling.p=1;"
                            "pooling.pyramid=1x1,2x2,;pooling.normalisation=l1;pooling.hellinger=0;";
  BOOST_TEST(bb::canonical_encoding_options(p) == words);
  BOOST_TEST(bb::canonical_codebook_options(p) ==
             words + "kmeans.words=1024;kmeans.samples=100000;kmeans.max_iterations=100;kmeans.seed=0;"
                     "kmeans.algorithm=lloyd_gemm;kmeans.tolerance=0.001;");
  p.pooling.p = std::numeric_limits<double>::infinity();
  p.mapping.beta = 0.1;
  p.dsift.bin_sizes = {4};
  BOOST_TEST(bb::canonical_encoding_options(p).find("dsift.bin_sizes=4,;") != std::string::npos);
  BOOST_TEST(bb::canonical_encoding_options(p).find("mapping.beta=0.10000000000000001;") != std::string::npos);
  BOOST_TEST(bb::canonical_encoding_options(p).find("pooling.p=inf;") != std::string::npos);

  bb::FisherPipelineOptions f;
  const std::string fisher = image_dsift +
                             "fisher.pca_dimension=80;fisher.root_sift=1;fisher.append_xy=1;fisher.components=256;"
                             "fisher.posterior_threshold=0.0001;fisher.pyramid=1x1,;";
  BOOST_TEST(bb::canonical_encoding_options(f) == fisher + "fisher.skip_zeroed=1;");
  BOOST_TEST(bb::canonical_training_options(f) ==
             fisher + "fisher.skip_zeroed=1;fisher.samples=100000;fisher.max_iterations=40;fisher.seed=0;");
  f.fisher.skip_zeroed = false;  // absent, as in the text of the models written before the option
  BOOST_TEST(bb::canonical_encoding_options(f) == fisher);

  bb::VladPipelineOptions v;
  const std::string vlad = image_dsift +
                           "vlad.words=256;vlad.root_sift=1;vlad.signed_sqrt=1;vlad.intra_normalisation=1;vlad.pyramid=1x1,;";
  BOOST_TEST(bb::canonical_encoding_options(v) == vlad);
  BOOST_TEST(bb::canonical_training_options(v) == vlad + "vlad.samples=100000;vlad.max_iterations=100;vlad.seed=0;");
}

BOOST_AUTO_TEST_CASE(options_validate_reject_bad_values) {
  bw::ImageOptions io;
  io.max_side = -1;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { io.validate(); }, {"max_side", "-1"}));
  bw::DsiftOptions d;
  d.step = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::DenseSift{d}; }, {"step"}));
  d = {};
  d.bin_sizes.clear();
  BOOST_TEST(throws_with<std::invalid_argument>([&] { d.validate(); }, {"bin_sizes"}));
  d = {};
  d.magnif = 1e-9;  // sigma = 1e10 pixels: a smoothing kernel that would not fit in memory
  BOOST_TEST(throws_with<std::invalid_argument>([&] { d.validate(); }, {"magnif", "0.01"}));
  d.magnif = 0.01;
  BOOST_CHECK_NO_THROW(d.validate());
  bw::KMeansOptions k;
  k.words = 10;
  k.samples = 5;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { k.validate(); }, {"samples", "5"}));
  bw::MappingOptions m;
  m.rank_decay = 0;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { m.validate(); }, {"rank_decay"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::mapping_kind_from_string("fuzzy"); }, {"fuzzy"}));
  bw::PoolingOptions p;
  p.p = -2;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::Pooler(10, p); }, {"p = -2"}));
  p = {};
  p.pyramid = {{2, 0}};
  BOOST_TEST(throws_with<std::invalid_argument>([&] { p.validate(); }, {"pyramid[0]"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::normalisation_from_string("l3"); }, {"l3"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::Mapper(bw::Codebook{}); }, {"empty"}));
  bw::PipelineOptions po;
  po.pooling.normalisation = bw::Normalisation::l2;
  po.mapping.neighbours = 0;
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bw::Pipeline(po, bw::Codebook(128, std::vector<float>(128, 0.1F))); }, {"neighbours"}));
}

// ---------------------------------------------------------------- dense SIFT

BOOST_AUTO_TEST_CASE(dsift_image_smaller_than_descriptor_rejected) {
  std::vector<float> px(20 * 20, 0.5F);
  auto im = bw::ImageLoader().from_gray(px.data(), 20, 20);
  im.source = "tiny.png";
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::DenseSift().extract(im); }, {"tiny.png", "20x20"}));
  // A single scale of bin 4 fits into 13 px (3 * 4 + 1) and gives one frame.
  bw::DsiftOptions o;
  o.bin_sizes = {4};
  std::vector<float> px13(13 * 13, 0.5F);
  const auto t = bw::DenseSift(o).extract(bw::ImageLoader().from_gray(px13.data(), 13, 13));
  BOOST_TEST(t.size() == 1u);
}

// Our direct-convolution dense SIFT against vl_dsift on a real image: same frames and supports,
// descriptors equal up to the rounding of vl_dsift's running sums, same contrast zeroing.
void compare_with_vl_dsift(bool fast, int crop) {
  const auto full = bw::ImageLoader().load(voc_image(1));
  const int W = std::min(full.width, crop), H = std::min(full.height, crop);
  std::vector<float> px(std::size_t(W) * H);
  for (int y = 0; y < H; ++y)
    for (int x = 0; x < W; ++x) px[std::size_t(y) * W + x] = full.at(x, y);
  const auto im = bw::ImageLoader().from_gray(px.data(), W, H);
  bw::DsiftOptions o;
  o.fast = fast;
  const auto t = bw::DenseSift(o).extract(im);
  std::size_t at = 0, zeroed = 0;
  double max_err = 0;
  for (int s : o.bin_sizes) {
    const int off = int(std::floor(1.5 * (10 - s)));
    std::vector<float> sm(px.size());
    vl_imsmooth_f(sm.data(), W, px.data(), W, H, W, s / o.magnif, s / o.magnif);
    std::unique_ptr<VlDsiftFilter, DsiftDeleter> f(vl_dsift_new_basic(W, H, o.step, s));
    vl_dsift_set_bounds(f.get(), off, off, W - 1, H - 1);
    vl_dsift_set_flat_window(f.get(), fast);
    vl_dsift_set_window_size(f.get(), o.window_size);
    vl_dsift_process(f.get(), sm.data());
    const int n = vl_dsift_get_keypoint_num(f.get());
    const VlDsiftKeypoint* kp = vl_dsift_get_keypoints(f.get());
    const float* d = vl_dsift_get_descriptors(f.get());
    BOOST_TEST_REQUIRE(n > 0);
    for (int i = 0; i < n; ++i, ++at) {
      BOOST_REQUIRE(at < t.size());
      const auto& fr = t.frames[at];
      BOOST_TEST_REQUIRE(fr.bin_size == s);
      BOOST_TEST_REQUIRE(fr.x == float(kp[i].x));
      BOOST_TEST_REQUIRE(fr.y == float(kp[i].y));
      // Support: the 4s x 4s square of the bins centred on the centre, [c - 2s, c + 2s] in pixel
      // centres, i.e. edges [c - 2s + 1/2, c + 2s + 1/2), clipped to the image: the pixels it
      // touches and the covered fraction of the boundary ones (1/2 when c is a pixel centre).
      auto expect_span = [](double c, int s, int n, int a, int b, float ca, float cb) {
        const double e0 = std::max(0.0, c - 2 * s + 0.5), e1 = std::min(double(n), c + 2 * s + 0.5);
        const int a0 = int(std::floor(e0)), b0 = int(std::ceil(e1));
        return a == a0 && b == b0 && ca == float(a0 + 1 - e0) && cb == float(e1 - (b0 - 1));
      };
      BOOST_TEST_REQUIRE(expect_span(kp[i].x, s, W, fr.support.x0, fr.support.x1, fr.cover.x0, fr.cover.x1));
      BOOST_TEST_REQUIRE(expect_span(kp[i].y, s, H, fr.support.y0, fr.support.y1, fr.cover.y0, fr.cover.y1));
      if (std::fabs(kp[i].norm - o.contrast_threshold) < 1e-6) continue;  // a near-tie of the threshold
      const float* ours = t.descriptor(at);
      if (kp[i].norm < o.contrast_threshold) {
        ++zeroed;
        for (int b = 0; b < 128; ++b) BOOST_TEST_REQUIRE(ours[b] == 0.0F);
      } else {
        for (int b = 0; b < 128; ++b) max_err = std::max(max_err, double(std::fabs(ours[b] - d[i * 128 + b])));
      }
    }
  }
  BOOST_TEST(at == t.size());
  BOOST_TEST_MESSAGE("vl_dsift (" << (fast ? "flat" : "gaussian") << " window): " << t.size() << " frames, " << zeroed
                                  << " low-contrast, max |descriptor diff| = " << max_err);
  BOOST_TEST(max_err < (fast ? 1e-4 : 5e-6));  // running sums vs direct sums; order only
}

BOOST_AUTO_TEST_CASE(dsift_matches_vl_dsift_flat_window_on_voc) {
  if (!bowlrp::test::have_voc()) return;
  compare_with_vl_dsift(true, 10000);
}

BOOST_AUTO_TEST_CASE(dsift_matches_vl_dsift_gaussian_window_on_voc) {
  if (!bowlrp::test::have_voc()) return;
  compare_with_vl_dsift(false, 160);
}

BOOST_AUTO_TEST_CASE(dsift_scales_share_centres_and_grid_counts) {
  std::vector<float> px(101 * 77);
  std::mt19937 rng(3);
  for (auto& v : px) v = float(rng() % 1000) / 1000.0F;
  const bw::DenseSift sift;
  const auto t = sift.extract(bw::ImageLoader().from_gray(px.data(), 101, 77));
  const auto grid = sift.grid(101, 77);
  std::size_t total = 0;
  for (std::size_t si = 0; si < grid.size(); ++si) {
    const int s = sift.options().bin_sizes[si];
    // vl_dsift's count: (W - 1 - off - 3s) / step + 1 per axis.
    const int off = int(std::floor(1.5 * (10 - s)));
    BOOST_TEST(grid[si].first == (101 - 1 - off - 3 * s) / 4 + 1);
    BOOST_TEST(grid[si].second == (77 - 1 - off - 3 * s) / 4 + 1);
    // First frame of every scale is centred at 15 (PHOW alignment).
    BOOST_TEST(t.frames[total].x == 15.0F);
    BOOST_TEST(t.frames[total].y == 15.0F);
    total += std::size_t(grid[si].first) * grid[si].second;
  }
  BOOST_TEST(total == t.size());
  BOOST_TEST(t.descriptors.size() == total * 128);
  for (std::size_t l = 0; l < t.size(); ++l) {  // non-zero descriptors are unit norm, clamped
    double s = 0;
    for (int b = 0; b < 128; ++b) s += double(t.descriptor(l)[b]) * t.descriptor(l)[b];
    BOOST_TEST_REQUIRE((s == 0 || std::fabs(s - 1) < 1e-3));
  }
}

// Replacing the region's rows in the old trace gives exactly the full extraction of the new image.
void check_region(const bw::GrayImage& before, const bw::GrayImage& after, const bw::Box& box, bool fast) {
  bw::DsiftOptions o;
  o.fast = fast;
  const bw::DenseSift sift(o);
  const auto t0 = sift.extract(before), t1 = sift.extract(after);
  std::vector<std::size_t> idx;
  const auto r = sift.extract_region(after, box, &idx);
  BOOST_TEST_REQUIRE(r.size() == idx.size());
  BOOST_TEST_REQUIRE(!idx.empty());
  BOOST_TEST_REQUIRE(idx.size() < t1.size());
  std::vector<char> in(t1.size(), 0);
  for (std::size_t i = 0; i < idx.size(); ++i) {
    BOOST_TEST_REQUIRE(idx[i] < t1.size());
    if (i) BOOST_TEST_REQUIRE(idx[i] > idx[i - 1]);
    in[idx[i]] = 1;
    BOOST_TEST_REQUIRE(std::memcmp(r.descriptor(i), t1.descriptor(idx[i]), 128 * sizeof(float)) == 0);
    BOOST_TEST_REQUIRE(r.frames[i].x == t1.frames[idx[i]].x);
    BOOST_TEST_REQUIRE(r.frames[i].support.x0 == t1.frames[idx[i]].support.x0);
  }
  std::size_t changed_outside = 0, meets_support = 0, changed_inside = 0;
  for (std::size_t l = 0; l < t1.size(); ++l) {
    const bool same = std::memcmp(t0.descriptor(l), t1.descriptor(l), 128 * sizeof(float)) == 0;
    if (!in[l] && !same) ++changed_outside;
    if (in[l] && !same) ++changed_inside;
    if (t1.frames[l].support.intersects(box)) {
      ++meets_support;
      BOOST_TEST_REQUIRE(in[l]);  // every support meeting the box is recomputed
    }
  }
  BOOST_TEST(changed_outside == 0u);
  BOOST_TEST(changed_inside > 0u);
  BOOST_TEST_MESSAGE("region " << box.x0 << "," << box.y0 << "-" << box.x1 << "," << box.y1 << ": " << idx.size()
                               << " of " << t1.size() << " recomputed, " << meets_support << " supports meet it");
}

BOOST_AUTO_TEST_CASE(dsift_extract_region_bit_identical) {
  if (!bowlrp::test::have_voc()) return;
  const bw::ImageLoader loader;
  const auto before = loader.load(voc_image(2));
  std::mt19937 rng(11);
  auto flip = [&](bw::GrayImage im, const bw::Box& b) {
    for (int y = b.y0; y < b.y1; ++y)
      for (int x = b.x0; x < b.x1; ++x) im.pixels[std::size_t(y) * im.width + x] = float(rng() % 1000) / 999.0F;
    return im;
  };
  const bw::Box mid{100, 80, 117, 93};
  check_region(before, flip(before, mid), mid, true);
  const bw::Box corner{0, 0, 9, 5};
  check_region(before, flip(before, corner), corner, true);
  const bw::Box edge{before.width - 3, before.height - 20, before.width, before.height};
  check_region(before, flip(before, edge), edge, true);
  const bw::Box pixel{200, 150, 201, 151};
  check_region(before, flip(before, pixel), pixel, false);
}

BOOST_AUTO_TEST_CASE(dsift_extract_region_on_capped_image) {
  if (!bowlrp::test::have_voc()) return;
  // Flip pixels of the original picture, then cap both versions at 300 px: the region given in
  // original pixels must cover every feature the area resampling lets the change reach.
  const auto orig = bw::ImageLoader(bw::ImageOptions{0}).load(voc_image(3));
  std::vector<float> a = orig.pixels, b = orig.pixels;
  const bw::Box box{150, 100, 171, 140};
  for (int y = box.y0; y < box.y1; ++y)
    for (int x = box.x0; x < box.x1; ++x) b[std::size_t(y) * orig.width + x] = 1.0F - b[std::size_t(y) * orig.width + x];
  const bw::ImageLoader capped(bw::ImageOptions{300});
  const auto ia = capped.from_gray(a.data(), orig.width, orig.height);
  const auto ib = capped.from_gray(b.data(), orig.width, orig.height);
  BOOST_TEST_REQUIRE(ia.scale < 1.0);
  check_region(ia, ib, box, true);
}

// ---------------------------------------------------------------- codebook

std::vector<float> clustered_data(std::size_t per, int clusters, int dim, std::uint32_t seed,
                                  std::vector<float>* truth) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> noise(0.0F, 0.05F);
  std::uniform_real_distribution<float> u(0.0F, 1.0F);
  truth->assign(std::size_t(clusters) * dim, 0);
  for (auto& v : *truth) v = u(rng) * 4.0F;
  std::vector<float> d;
  for (std::size_t i = 0; i < per * clusters; ++i) {
    const int c = int(i % clusters);
    for (int j = 0; j < dim; ++j) d.push_back((*truth)[std::size_t(c) * dim + j] + noise(rng));
  }
  return d;
}

// Naive nearest centre (plain double distance, lowest index on ties) and its distance.
std::pair<int, double> naive_nearest(const float* x, const std::vector<float>& c, int dim) {
  int best = 0;
  double bd = dist2(x, c.data(), dim);
  for (int k = 1; k < int(c.size() / dim); ++k) {
    const double d = dist2(x, c.data() + std::size_t(k) * dim, dim);
    if (d < bd) bd = d, best = k;
  }
  return {best, bd};
}

// Naive energy sum_i min_k |x_i - c_k|^2.
double naive_energy(const std::vector<float>& x, const std::vector<float>& c, int dim) {
  double e = 0;
  for (std::size_t i = 0; i < x.size() / dim; ++i) e += naive_nearest(x.data() + i * dim, c, dim).second;
  return e;
}

BOOST_AUTO_TEST_CASE(kmeans_deterministic_under_seed) {
  std::vector<float> truth;
  const int dim = 16, K = 12;
  const auto data = clustered_data(200, K, dim, 5, &truth);
  for (auto alg : {bw::KMeansAlgorithm::lloyd_gemm, bw::KMeansAlgorithm::vlfeat_elkan, bw::KMeansAlgorithm::vlfeat_ann}) {
    BOOST_TEST_CONTEXT(bw::to_string(alg)) {
      bw::KMeansOptions o;
      o.words = K;
      o.samples = 1500;  // < 2400: exercises the seeded sample too
      o.seed = 42;
      o.algorithm = alg;
      const auto a = bw::Codebook::train(data.data(), data.size() / dim, dim, o);
      const auto b = bw::Codebook::train(data.data(), data.size() / dim, dim, o);
      BOOST_TEST(a.size() == K);
      BOOST_TEST(a.dim() == dim);
      BOOST_TEST(a.centres() == b.centres());  // bit-identical
      o.seed = 43;
      const auto c = bw::Codebook::train(data.data(), data.size() / dim, dim, o);
      BOOST_TEST(a.centres() != c.centres());
      // Well-separated clusters are found: every true centre has a learned word close by.
      std::size_t found = 0;
      for (int t = 0; t < K; ++t) {
        double best = 1e30;
        for (int k = 0; k < K; ++k) best = std::min(best, dist2(truth.data() + t * dim, a.centre(k), dim));
        if (best < 0.01) ++found;
      }
      BOOST_TEST(found >= std::size_t(K - 1));
      BOOST_TEST(throws_with<std::invalid_argument>(
          [&] { bw::Codebook::train(data.data(), 5, dim, o); }, {"5 descriptors", "12"}));
    }
  }
}

BOOST_AUTO_TEST_CASE(kmeans_options_and_algorithm_names) {
  for (auto alg : {bw::KMeansAlgorithm::lloyd_gemm, bw::KMeansAlgorithm::vlfeat_elkan, bw::KMeansAlgorithm::vlfeat_ann})
    BOOST_TEST((bw::kmeans_algorithm_from_string(bw::to_string(alg)) == alg));
  BOOST_TEST(bw::to_string(bw::KMeansAlgorithm::lloyd_gemm) == "lloyd_gemm");
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::kmeans_algorithm_from_string("elkan"); }, {"'elkan'"}));
  bw::KMeansOptions o;
  BOOST_TEST((o.algorithm == bw::KMeansAlgorithm::lloyd_gemm));
  o.tolerance = -1e-3;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"tolerance", "-0.001"}));
  o.tolerance = std::numeric_limits<double>::quiet_NaN();
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"tolerance"}));
  o = {};
  o.algorithm = static_cast<bw::KMeansAlgorithm>(7);
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"algorithm", "7"}));
  o = {};
  o.words = 3;
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bw::Codebook::refine(std::vector<float>(40, 0.5F).data(), 10, bw::Codebook(4, std::vector<float>(8, 1)), o); },
      {"2 words", "words = 3"}));
}

// One Lloyd step from given centres against the naive step: nearest centre, mean in double in
// sample order; a centre nobody chooses takes the sample farthest from its centre.
BOOST_AUTO_TEST_CASE(kmeans_lloyd_step_matches_naive_and_reseeds_empty) {
  const int dim = 24, K = 20;
  const std::size_t n = 3000;
  const auto x = random_descriptors(n, dim, 17);
  std::vector<float> init(x.begin(), x.begin() + std::size_t(K) * dim);
  for (int j = 0; j < dim; ++j) init[std::size_t(7) * dim + j] = 50.0F;  // far from everything: empty
  bw::KMeansOptions o;
  o.words = K;
  o.max_iterations = 1;
  bw::KMeansReport rep;
  const auto got = bw::Codebook::refine(x.data(), n, bw::Codebook(dim, init), o, &rep);
  // Naive step.
  std::vector<int> lab(n);
  std::vector<double> d(n);
  std::vector<std::size_t> cnt(K, 0);
  double e0 = 0;
  for (std::size_t i = 0; i < n; ++i) {
    std::tie(lab[i], d[i]) = naive_nearest(x.data() + i * dim, init, dim);
    ++cnt[lab[i]];
    e0 += d[i];
  }
  BOOST_TEST_REQUIRE(cnt[7] == 0u);
  std::size_t far = 0;
  for (std::size_t i = 1; i < n; ++i)
    if (d[i] > d[far]) far = i;
  --cnt[lab[far]];
  lab[far] = 7;
  cnt[7] = 1;
  std::vector<float> want(init.size());
  for (int k = 0; k < K; ++k) {
    std::vector<double> sum(dim, 0.0);
    for (std::size_t i = 0; i < n; ++i)
      if (lab[i] == k)
        for (int j = 0; j < dim; ++j) sum[j] += x[i * dim + j];
    for (int j = 0; j < dim; ++j) want[std::size_t(k) * dim + j] = float(sum[j] / double(cnt[k]));
  }
  BOOST_TEST(got.centres() == want, boost::test_tools::per_element());
  BOOST_TEST(rep.reseeded == 1u);
  BOOST_TEST(rep.iterations == 1);
  BOOST_TEST(!rep.converged);
  BOOST_TEST_REQUIRE(rep.energy.size() == 1u);
  BOOST_TEST(rep.energy[0] == e0, boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rep.final_energy == naive_energy(x, want, dim), boost::test_tools::tolerance(1e-12));
  BOOST_TEST(rep.final_energy < e0);
}

// Run to a fixed point (tolerance 0): the energy never rises and the result is a true Lloyd fixed
// point (every centre is the naive mean of the samples nearest to it).
BOOST_AUTO_TEST_CASE(kmeans_lloyd_energy_non_increasing_to_fixed_point) {
  const int dim = 32, K = 40;
  const std::size_t n = 4000;
  const auto x = random_descriptors(n, dim, 23);
  bw::KMeansOptions o;
  o.words = K;
  o.samples = n;
  o.tolerance = 0;
  o.max_iterations = 500;
  o.seed = 5;
  bw::KMeansReport rep;
  const auto cb = bw::Codebook::train(x.data(), n, dim, o, &rep);
  BOOST_TEST(rep.converged);
  BOOST_TEST(rep.iterations > 2);
  BOOST_TEST(int(rep.energy.size()) == rep.iterations);
  for (std::size_t t = 1; t < rep.energy.size(); ++t)
    BOOST_TEST(rep.energy[t] <= rep.energy[t - 1] * (1 + 1e-12), "iteration " << t);
  BOOST_TEST(rep.final_energy == rep.energy.back());  // converged on an unchanged assignment
  BOOST_TEST(rep.final_energy == naive_energy(x, cb.centres(), dim), boost::test_tools::tolerance(1e-12));
  std::vector<double> sum(std::size_t(K) * dim, 0.0);
  std::vector<std::size_t> cnt(K, 0);
  for (std::size_t i = 0; i < n; ++i) {
    const int k = naive_nearest(x.data() + i * dim, cb.centres(), dim).first;
    ++cnt[k];
    for (int j = 0; j < dim; ++j) sum[std::size_t(k) * dim + j] += x[i * dim + j];
  }
  for (int k = 0; k < K; ++k) {
    BOOST_TEST_REQUIRE(cnt[k] > 0u);
    for (int j = 0; j < dim; ++j)
      BOOST_TEST_REQUIRE(cb.centre(k)[j] == float(sum[std::size_t(k) * dim + j] / double(cnt[k])));
  }
  // A positive tolerance stops earlier, at no lower energy.
  o.tolerance = 1e-2;
  bw::KMeansReport loose;
  bw::Codebook::train(x.data(), n, dim, o, &loose);
  BOOST_TEST(loose.converged);
  BOOST_TEST(loose.iterations < rep.iterations);
  BOOST_TEST(loose.final_energy >= rep.final_energy * (1 - 1e-12));
  // max_iterations caps the assignment steps.
  o.tolerance = 0;
  o.max_iterations = 2;
  bw::KMeansReport capped;
  bw::Codebook::train(x.data(), n, dim, o, &capped);
  BOOST_TEST(capped.iterations == 2);
  BOOST_TEST(!capped.converged);
  BOOST_TEST(capped.energy[0] == rep.energy[0]);
  BOOST_TEST(capped.energy[1] == rep.energy[1]);
}

BOOST_AUTO_TEST_CASE(kmeans_lloyd_independent_of_thread_count) {
  const int dim = 128, K = 64;
  const std::size_t n = 9000;  // several row blocks
  const auto x = random_descriptors(n, dim, 31);
  bw::KMeansOptions o;
  o.words = K;
  o.samples = 8000;
  o.seed = 11;
  bw::KMeansReport r1, r2;
  std::vector<float> one, two;
  {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 1);
    one = bw::Codebook::train(x.data(), n, dim, o, &r1).centres();
  }
  {
    tbb::global_control gc(tbb::global_control::max_allowed_parallelism, 2);
    two = bw::Codebook::train(x.data(), n, dim, o, &r2).centres();
  }
  BOOST_TEST(std::memcmp(one.data(), two.data(), one.size() * sizeof(float)) == 0);
  BOOST_TEST(r1.energy == r2.energy, boost::test_tools::per_element());
  BOOST_TEST(r1.iterations == r2.iterations);
  BOOST_TEST(r1.iterations > 1);
}

// Fewer distinct samples than words: k-means++ runs out of D^2 mass, clusters stay empty and
// nothing can be re-seeded; every distinct sample still ends up a centre and nothing breaks.
BOOST_AUTO_TEST_CASE(kmeans_lloyd_duplicates_and_empty_clusters) {
  const int dim = 8, K = 30, distinct = 20;
  const auto base = random_descriptors(distinct, dim, 3);
  std::vector<float> x;
  for (int rep = 0; rep < 5; ++rep) x.insert(x.end(), base.begin(), base.end());
  bw::KMeansOptions o;
  o.words = K;
  o.seed = 9;
  bw::KMeansReport rep;
  const auto cb = bw::Codebook::train(x.data(), x.size() / dim, dim, o, &rep);
  BOOST_TEST(cb.size() == K);
  BOOST_TEST(rep.converged);
  BOOST_TEST(rep.final_energy == 0.0);
  for (int i = 0; i < distinct; ++i) BOOST_TEST(naive_nearest(base.data() + i * dim, cb.centres(), dim).second == 0.0);
}

// The VLFeat algorithms are the previous code path exactly: a direct vl_kmeans run with the same
// settings and seed gives the same bits.
BOOST_AUTO_TEST_CASE(kmeans_vlfeat_algorithms_match_direct_vlfeat) {
  const int dim = 32, K = 16;
  const std::size_t n = 1200;
  const auto x = random_descriptors(n, dim, 41);
  for (bool elkan : {true, false}) {
    bw::KMeansOptions o;
    o.words = K;
    o.samples = n;
    o.seed = 0x1234567890ULL;
    o.max_iterations = 30;
    o.algorithm = elkan ? bw::KMeansAlgorithm::vlfeat_elkan : bw::KMeansAlgorithm::vlfeat_ann;
    bw::KMeansReport rep;
    const auto got = bw::Codebook::train(x.data(), n, dim, o, &rep);
    VlRand saved = *vl_get_rand();
    vl_uint32 key[2] = {vl_uint32(o.seed & 0xffffffffu), vl_uint32(o.seed >> 32)};
    vl_rand_seed_by_array(vl_get_rand(), key, 2);
    VlKMeans* km = vl_kmeans_new(VL_TYPE_FLOAT, VlDistanceL2);
    vl_kmeans_set_algorithm(km, elkan ? VlKMeansElkan : VlKMeansANN);
    vl_kmeans_set_initialization(km, VlKMeansPlusPlus);
    vl_kmeans_set_max_num_iterations(km, 30);
    vl_kmeans_set_num_repetitions(km, 1);
    if (!elkan) {
      vl_kmeans_set_num_trees(km, 2);
      vl_kmeans_set_max_num_comparisons(km, 100);
    }
    vl_kmeans_cluster(km, x.data(), dim, n, K);
    const float* c = static_cast<const float*>(vl_kmeans_get_centers(km));
    const std::vector<float> want(c, c + std::size_t(K) * dim);
    vl_kmeans_delete(km);
    *vl_get_rand() = saved;
    BOOST_TEST(got.centres() == want, boost::test_tools::per_element());
    BOOST_TEST(rep.final_energy == naive_energy(x, want, dim), boost::test_tools::tolerance(1e-12));
    BOOST_TEST(rep.energy.empty());
  }
}

BOOST_AUTO_TEST_CASE(codebook_save_load_round_trip) {
  TempDir dir;
  const auto centres = random_descriptors(37, 128, 9);
  const bw::Codebook cb(128, centres);
  const std::string path = dir / "sub/words.codebook";
  cb.save(path);
  const auto back = bw::Codebook::load(path);
  BOOST_TEST(back.size() == 37);
  BOOST_TEST(back.dim() == 128);
  BOOST_TEST(std::memcmp(back.centres().data(), centres.data(), centres.size() * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(codebook_truncated_or_garbage_rejected) {
  TempDir dir;
  const bw::Codebook cb(128, random_descriptors(10, 128, 1));
  const std::string good = dir / "good.cb";
  cb.save(good);
  const std::string bytes = bowlrp::core::read_file(good);
  const std::string trunc = dir / "trunc.cb";
  bowlrp::core::write_file_atomic(trunc, bytes.substr(0, bytes.size() - 7));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::Codebook::load(trunc); }, {trunc, "truncated"}));
  const std::string garbage = dir / "garbage.cb";
  bowlrp::core::write_file_atomic(garbage, std::string(300, 'x'));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::Codebook::load(garbage); }, {garbage, "not a bowlrp codebook"}));
  std::string v2 = bytes;
  v2[16] = 2;
  const std::string ver = dir / "v2.cb";
  bowlrp::core::write_file_atomic(ver, v2);
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::Codebook::load(ver); }, {ver, "version 2"}));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::Codebook::load(dir / "none.cb"); }, {"none.cb"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::Codebook(128, std::vector<float>(100)); }, {"100"}));
}

// ---------------------------------------------------------------- mapping

namespace {

// dist2 as mapping.h specifies it: double differences, lane j mod 8 accumulated by fused
// multiply-adds, lanes combined pairwise. (The textbook sum differs in the last bits.)
double spec_dist2(const float* x, const float* c, int dim) {
  double s[8] = {0, 0, 0, 0, 0, 0, 0, 0};
  for (int j = 0; j < dim; ++j) {
    const double d = double(x[j]) - double(c[j]);
    s[j % 8] = std::fma(d, d, s[j % 8]);
  }
  return ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

// The r nearest words of x by an exhaustive search, ties to the lowest index.
std::vector<std::pair<double, int>> naive_nearest(const float* x, const std::vector<float>& cent, int dim, int r,
                                                  bool textbook = false) {
  const int K = int(cent.size() / dim);
  std::vector<std::pair<double, int>> d;
  for (int k = 0; k < K; ++k) {
    const float* c = cent.data() + std::size_t(k) * dim;
    d.emplace_back(textbook ? dist2(x, c, dim) : spec_dist2(x, c, dim), k);
  }
  std::partial_sort(d.begin(), d.begin() + std::min(r, K), d.end());
  d.resize(std::min(r, K));
  return d;
}

// The weights of mapping.h from distances sorted ascending.
std::vector<double> naive_weights(const std::vector<std::pair<double, int>>& d, bw::MappingKind kind, double beta,
                                  double decay) {
  const int r = int(d.size());
  double mean = 0;
  for (auto& e : d) mean += e.first;
  mean /= r;
  std::vector<double> w(r);
  double z = 0;
  for (int j = 0; j < r; ++j) {
    w[j] = kind == bw::MappingKind::soft ? (mean > 0 ? std::exp(-beta * d[j].first / mean) : 1.0) : std::pow(decay, j);
    z += w[j];
  }
  for (auto& v : w) v /= z;
  return w;
}

// Whether feature i of a and feature j of b have bit-identical (word, weight) lists.
bool same_row(const bw::Assignment& a, std::size_t i, const bw::Assignment& b, std::size_t j) {
  const auto na = a.offsets[i + 1] - a.offsets[i], nb = b.offsets[j + 1] - b.offsets[j];
  if (na != nb) return false;
  return std::equal(a.words.begin() + a.offsets[i], a.words.begin() + a.offsets[i + 1], b.words.begin() + b.offsets[j]) &&
         std::memcmp(a.weights.data() + a.offsets[i], b.weights.data() + b.offsets[j], na * sizeof(float)) == 0;
}

// A codebook of K words whose first `pairs` descriptors each sit between two words of a pair:
// the words differ only in coordinate 0, mirrored about x_0, so dist2 ties exactly (dyadic
// coordinates, every difference exact) or, for odd t, differs by one float ulp of one
// coordinate (a relative gap ~1e-8, far below SGEMM's resolution). Pair members get random,
// interleaved word indices. The next 4 descriptors are zero (VLFeat's low-contrast features),
// nearly equidistant from all the unit-norm words; the rest are random SIFT-like vectors.
struct TieSet {
  std::vector<float> centres, descriptors;
  std::vector<std::pair<int, int>> pair_words;  // (word of a, word of b) per tie descriptor
};
TieSet tie_set(int K, int pairs, std::size_t n, std::uint32_t seed) {
  const int dim = 128;
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> noise(-0.02F, 0.02F);
  TieSet s;
  s.centres = random_descriptors(K, dim, seed + 1);
  s.descriptors = random_descriptors(n, dim, seed + 2);
  std::vector<int> perm(K);
  std::iota(perm.begin(), perm.end(), 0);
  std::shuffle(perm.begin(), perm.end(), rng);
  for (int t = 0; t < pairs; ++t) {
    float* x = s.descriptors.data() + std::size_t(t) * dim;
    x[0] = 0.25F;
    const int ka = perm[2 * t], kb = perm[2 * t + 1];
    float* a = s.centres.data() + std::size_t(ka) * dim;
    float* b = s.centres.data() + std::size_t(kb) * dim;
    for (int j = 1; j < dim; ++j) a[j] = b[j] = std::max(0.0F, x[j] + noise(rng));
    a[0] = 0.265625F;
    b[0] = 0.234375F;  // |x_0 - a_0| == |x_0 - b_0| == 2^-6 exactly
    if (t % 2) b[0] = std::nextafter(b[0], t % 4 == 1 ? 1.0F : 0.0F);
    s.pair_words.emplace_back(ka, kb);
  }
  std::fill(s.descriptors.begin() + std::size_t(pairs) * dim, s.descriptors.begin() + std::size_t(pairs + 4) * dim, 0.0F);
  return s;
}

// OpenBLAS's thread-count setter, found at run time (the test binary links OpenBLAS only
// through libbowlrp_bow); fails the test if absent.
void set_blas_threads(int n) {
  using Fn = void (*)(int);
  static const auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  BOOST_TEST_REQUIRE(fn != nullptr, "openblas_set_num_threads not found: is bow linked to OpenBLAS?");
  fn(n);
}
int blas_threads() {
  using Fn = int (*)();
  static const auto fn = reinterpret_cast<Fn>(dlsym(RTLD_DEFAULT, "openblas_get_num_threads"));
  BOOST_TEST_REQUIRE(fn != nullptr, "openblas_get_num_threads not found");
  return fn();
}
// Restores the BLAS and OpenCV thread counts at scope exit.
struct ThreadCountGuard {
  int blas = blas_threads(), cv_threads = cv::getNumThreads();
  ~ThreadCountGuard() {
    set_blas_threads(blas);
    cv::setNumThreads(cv_threads);
  }
};

bw::MappingOptions mapping_options(bw::MappingKind kind) {
  bw::MappingOptions o;
  o.kind = kind;
  o.neighbours = 5;
  o.beta = 2.0;
  o.rank_decay = 0.5;
  return o;
}

}  // namespace

BOOST_AUTO_TEST_CASE(mapping_hard_equals_naive_exactly) {
  // Random descriptors over three GEMM blocks (the last partial), then deliberate ties.
  {
    const int K = 300, dim = 128;
    const std::size_t n = 2500;
    const auto cent = random_descriptors(K, dim, 21);
    const bw::Mapper mapper(bw::Codebook(dim, cent));
    const auto x = random_descriptors(n, dim, 22);
    const auto got = mapper.nearest(x.data(), n);
    for (std::size_t i = 0; i < n; ++i) {
      BOOST_TEST_REQUIRE(got[i] == naive_nearest(x.data() + i * dim, cent, dim, 1)[0].second, "feature " << i);
      // The specified dist2 is the textbook one up to double rounding.
      const auto tb = naive_nearest(x.data() + i * dim, cent, dim, 2, true);
      if (tb[1].first - tb[0].first > 1e-12 * tb[1].first) BOOST_TEST_REQUIRE(got[i] == tb[0].second);
    }
    const auto a = mapper.assign(x.data(), n);
    BOOST_TEST(a.features() == n);
    for (std::size_t i = 0; i < n; ++i) {
      BOOST_TEST_REQUIRE(a.offsets[i + 1] - a.offsets[i] == 1u);
      BOOST_TEST_REQUIRE(a.words[i] == got[i]);
      BOOST_TEST_REQUIRE(a.weights[i] == 1.0F);
    }
  }
  const int K = 256, pairs = 100, dim = 128;
  const auto s = tie_set(K, pairs, pairs + 4, 7);
  const bw::Mapper mapper(bw::Codebook(dim, s.centres));
  const auto got = mapper.nearest(s.descriptors.data(), pairs + 4);
  for (int t = pairs; t < pairs + 4; ++t)  // zero descriptors
    BOOST_TEST(got[t] == naive_nearest(s.descriptors.data() + std::size_t(t) * dim, s.centres, dim, 1)[0].second);
  int exact_ties = 0, below_float = 0, float_wrong = 0;
  for (int t = 0; t < pairs; ++t) {
    const float* x = s.descriptors.data() + std::size_t(t) * dim;
    const auto [ka, kb] = s.pair_words[t];
    const double da = spec_dist2(x, s.centres.data() + std::size_t(ka) * dim, dim);
    const double db = spec_dist2(x, s.centres.data() + std::size_t(kb) * dim, dim);
    exact_ties += da == db;
    below_float += da != db && std::fabs(da - db) < FLT_EPSILON * da;
    const int truth = naive_nearest(x, s.centres, dim, 1)[0].second;
    BOOST_TEST_REQUIRE((truth == ka || truth == kb));
    if (da == db) BOOST_TEST_REQUIRE(truth == std::min(ka, kb));
    BOOST_TEST_REQUIRE(got[t] == truth, "tie descriptor " << t << ": words " << ka << ", " << kb);
    // What a float GEMM-style score (|c|^2 - 2 x.c in float) would choose between the two.
    auto fscore = [&](int k) {
      float dot = 0, nn = 0;
      const float* c = s.centres.data() + std::size_t(k) * dim;
      for (int j = 0; j < dim; ++j) { dot += x[j] * c[j]; nn += c[j] * c[j]; }
      return nn - 2 * dot;
    };
    const float fa = fscore(ka), fb = fscore(kb);
    const int fpick = fa < fb || (fa == fb && ka < kb) ? ka : kb;
    float_wrong += fpick != truth;
  }
  BOOST_TEST_MESSAGE("tie set: " << exact_ties << " exact ties, " << below_float << " gaps below FLT_EPSILON, "
                                 << float_wrong << " decided wrongly by float scores");
  BOOST_TEST(exact_ties == pairs / 2);
  BOOST_TEST(below_float == pairs / 2);
  BOOST_TEST(float_wrong > 0);  // the cases are beyond float resolution, so the test has teeth
}

BOOST_AUTO_TEST_CASE(mapping_ties_pick_lowest_index) {
  // Words 2 and 5 are the same point; a descriptor at that point must map to 2.
  std::vector<float> c = random_descriptors(8, 128, 4);
  std::copy(c.begin() + 2 * 128, c.begin() + 3 * 128, c.begin() + 5 * 128);
  const bw::Mapper mapper(bw::Codebook(128, c));
  const auto got = mapper.nearest(c.data() + 5 * 128, 1);
  BOOST_TEST(got[0] == 2);
  bw::MappingOptions ro;
  ro.kind = bw::MappingKind::rank;
  ro.neighbours = 2;
  const auto a = bw::Mapper(bw::Codebook(128, c), ro).assign(c.data() + 2 * 128, 1);
  BOOST_TEST(a.words[0] == 2);
  BOOST_TEST(a.words[1] == 5);
}

BOOST_AUTO_TEST_CASE(mapping_soft_and_rank_weights) {
  // Random descriptors and the tie set; words in exact order, weights the correctly rounded
  // float of the formula evaluated on naive double distances (up to 1e-12).
  const int K = 256, dim = 128, r = 5;
  const std::size_t n = 600;
  const auto s = tie_set(K, 100, n, 31);
  for (auto kind : {bw::MappingKind::soft, bw::MappingKind::rank}) {
    const auto o = mapping_options(kind);
    const bw::Mapper mapper(bw::Codebook(dim, s.centres), o);
    const auto a = mapper.assign(s.descriptors.data(), n);
    BOOST_TEST(bw::to_string(kind) == (kind == bw::MappingKind::soft ? "soft" : "rank"));
    double worst = 0;
    for (std::size_t i = 0; i < n; ++i) {
      BOOST_TEST_REQUIRE(a.offsets[i + 1] - a.offsets[i] == std::uint32_t(r));
      const auto d = naive_nearest(s.descriptors.data() + i * dim, s.centres, dim, r);
      const auto w = naive_weights(d, kind, o.beta, o.rank_decay);
      double sum = 0;
      for (int j = 0; j < r; ++j) {
        const auto e = a.offsets[i] + j;
        BOOST_TEST_REQUIRE(a.words[e] == d[j].second, "feature " << i << " rank " << j);
        const float f = float(w[j]);
        const double half_ulp = 0.5 * (double(std::nextafter(f, 2.0F)) - f);
        const double err = std::fabs(double(a.weights[e]) - w[j]);
        BOOST_TEST_REQUIRE(err <= half_ulp + 1e-12, "feature " << i << " rank " << j << ": error " << err);
        worst = std::max(worst, std::fabs(double(a.weights[e]) - double(f)));
        sum += a.weights[e];
      }
      BOOST_TEST_REQUIRE(std::fabs(sum - 1.0) < 1e-6);
    }
    BOOST_TEST(worst == 0.0);  // every weight is the float of the naive formula
  }
}

BOOST_AUTO_TEST_CASE(mapping_independent_of_batch_size_and_offset) {
  const int K = 1024, dim = 128;
  const std::size_t n = 2500;
  const auto s = tie_set(K, 100, n, 41);
  for (auto kind : {bw::MappingKind::hard, bw::MappingKind::soft, bw::MappingKind::rank}) {
    const bw::Mapper mapper(bw::Codebook(dim, s.centres), mapping_options(kind));
    const auto full = mapper.assign(s.descriptors.data(), n);
    const auto near = mapper.nearest(s.descriptors.data(), n);
    const std::vector<std::pair<std::size_t, std::vector<std::size_t>>> plans{
        {1, {}}, {7, {0, 3, 2493}}, {64, {0, 13, 1000, 2436}}, {1000, {0, 777, 1500}}, {2500, {0}}};
    for (const auto& [b, offsets] : plans) {
      std::vector<std::size_t> starts = offsets;
      if (b == 1)
        for (std::size_t o = 0; o < n; ++o) starts.push_back(o);  // every feature on its own
      for (std::size_t o : starts) {
        const auto part = mapper.assign(s.descriptors.data() + o * dim, b);
        const auto pnear = mapper.nearest(s.descriptors.data() + o * dim, b);
        for (std::size_t i = 0; i < b; ++i) {
          BOOST_TEST_REQUIRE(same_row(full, o + i, part, i),
                             bw::to_string(kind) << ": feature " << o + i << " in a batch of " << b << " at " << o);
          BOOST_TEST_REQUIRE(pnear[i] == near[o + i]);
        }
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(mapping_independent_of_blas_threads) {
  const int K = 1024, dim = 128;
  const std::size_t n = 2500;
  const auto s = tie_set(K, 100, n, 51);
  const ThreadCountGuard guard;
  for (auto kind : {bw::MappingKind::hard, bw::MappingKind::soft, bw::MappingKind::rank}) {
    const bw::Mapper mapper(bw::Codebook(dim, s.centres), mapping_options(kind));
    set_blas_threads(1);
    const auto one = mapper.assign(s.descriptors.data(), n);
    const auto one_single = mapper.assign(s.descriptors.data() + 1234 * dim, 1);
    set_blas_threads(2);
    const auto two = mapper.assign(s.descriptors.data(), n);
    for (std::size_t i = 0; i < n; ++i) BOOST_TEST_REQUIRE(same_row(one, i, two, i), bw::to_string(kind) << " " << i);
    BOOST_TEST(same_row(one_single, 0, two, 1234));
  }
}

BOOST_AUTO_TEST_CASE(mapping_voc_encode_independent_of_thread_counts) {
  // The whole forward pass on real images (OpenCV decode/resize, dense SIFT, SGEMM mapping,
  // pooling) is bit-identical with 1 thread and with 2 threads, for a codebook of real SIFT.
  if (!bowlrp::test::have_voc()) return;
  const ThreadCountGuard guard;
  bw::PipelineOptions o;
  o.pooling.pyramid = {{1, 1}, {2, 2}};
  const bw::DenseSift sift(o.dsift);
  const auto words = sift.extract(bw::ImageLoader(o.image).load(voc_image(7)));
  std::vector<float> cent;
  for (std::size_t l = 0; l < words.size() && cent.size() < 512u * 128; l += 7)
    cent.insert(cent.end(), words.descriptor(l), words.descriptor(l) + 128);
  for (auto kind : {bw::MappingKind::hard, bw::MappingKind::soft}) {
    o.mapping.kind = kind;
    const bw::Pipeline pipe(o, bw::Codebook(128, cent));
    for (std::size_t img : {3u, 11u}) {
      set_blas_threads(1);
      cv::setNumThreads(1);
      const auto t1 = pipe.encode_file(voc_image(img));
      set_blas_threads(2);
      cv::setNumThreads(2);
      const auto t2 = pipe.encode_file(voc_image(img));
      BOOST_TEST_REQUIRE(t1.features.descriptors.size() == t2.features.descriptors.size());
      BOOST_TEST(std::memcmp(t1.features.descriptors.data(), t2.features.descriptors.data(),
                             t1.features.descriptors.size() * sizeof(float)) == 0);
      BOOST_TEST_REQUIRE(t1.assignment.features() == t2.assignment.features());
      for (std::size_t l = 0; l < t1.assignment.features(); ++l)
        BOOST_TEST_REQUIRE(same_row(t1.assignment, l, t2.assignment, l));
      BOOST_TEST(t1.histogram() == t2.histogram());
      // A subset re-mapped on its own (pixel flipping) equals the full encode.
      const std::size_t first = t1.features.size() / 3, count = 37;
      const auto part = pipe.mapper().assign(t1.features.descriptor(first), count);
      for (std::size_t i = 0; i < count; ++i) BOOST_TEST_REQUIRE(same_row(part, i, t1.assignment, first + i));
    }
  }
}

BOOST_AUTO_TEST_CASE(mapping_fallback_paths_against_naive) {
  // Paths beside the common one: K below the 32 selection lanes, r above them, and descriptors so
  // large that the float scores could overflow (decided over all words in double).
  const int dim = 128;
  auto x = random_descriptors(300, dim, 61);
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < dim; ++j) x[i * dim + j] *= 1e19F;
  struct Case { int K, r; };
  for (const Case c : {Case{5, 3}, Case{20, 20}, Case{64, 40}, Case{300, 33}}) {
    const auto cent = random_descriptors(c.K, dim, 62 + c.K);
    for (auto kind : {bw::MappingKind::hard, bw::MappingKind::soft, bw::MappingKind::rank}) {
      auto o = mapping_options(kind);
      o.neighbours = c.r;
      const bw::Mapper mapper(bw::Codebook(dim, cent), o);
      const auto a = mapper.assign(x.data(), 300);
      for (std::size_t i = 0; i < 300; ++i) {
        const auto d = naive_nearest(x.data() + i * dim, cent, dim, kind == bw::MappingKind::hard ? 1 : c.r);
        const auto w = naive_weights(d, kind, o.beta, o.rank_decay);
        std::size_t e = a.offsets[i];
        for (std::size_t j = 0; j < d.size(); ++j) {
          if (float(w[j]) == 0.0F) continue;  // underflowed weights are dropped
          BOOST_TEST_REQUIRE(e < a.offsets[i + 1]);
          BOOST_TEST_REQUIRE(a.words[e] == d[j].second, "K " << c.K << " r " << c.r << " feature " << i);
          BOOST_TEST_REQUIRE(a.weights[e] == float(w[j]));
          ++e;
        }
        BOOST_TEST_REQUIRE(e == a.offsets[i + 1]);
      }
    }
  }
}

BOOST_AUTO_TEST_CASE(mapping_rejects_non_finite_values) {
  auto c = random_descriptors(4, 128, 3);
  auto x = random_descriptors(3, 128, 4);
  x[2 * 128 + 5] = std::numeric_limits<float>::quiet_NaN();
  const bw::Mapper mapper(bw::Codebook(128, c));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { mapper.assign(x.data(), 3); }, {"descriptor 2", "finite"}));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { mapper.nearest(x.data() + 128, 2); }, {"descriptor 1"}));
  x[2 * 128 + 5] = std::numeric_limits<float>::infinity();
  BOOST_TEST(throws_with<std::invalid_argument>([&] { mapper.assign(x.data(), 3); }, {"descriptor 2"}));
}

// ---------------------------------------------------------------- pooling

BOOST_AUTO_TEST_CASE(pooling_p_means_and_max_against_naive) {
  const int K = 7, W = 90, H = 60;
  std::mt19937 rng(17);
  const auto t = random_frames(150, W, H, rng);
  const auto a = random_assignment(t.size(), K, 3, 18);
  const std::vector<bowlrp::core::PyramidLevel> pyr{{1, 1}, {2, 2}, {3, 1}};
  for (double p : {1.0, 2.0, 4.0, std::numeric_limits<double>::infinity()}) {
    bw::PoolingOptions o;
    o.p = p;
    o.pyramid = pyr;
    o.normalisation = bw::Normalisation::none;
    const auto tr = bw::Pooler(K, o).pool(t, a);
    const auto ref = naive_pool(t, a, K, pyr, p);
    BOOST_TEST_REQUIRE(tr.pooled.size() == ref.size());
    BOOST_TEST(tr.dimension() == std::size_t(K * 8));
    double err = 0;
    for (std::size_t d = 0; d < ref.size(); ++d) err = std::max(err, std::fabs(tr.pooled[d] - ref[d]));
    BOOST_TEST(err < 1e-12, "p = " << p << ": max error " << err);
    BOOST_TEST(tr.histogram == tr.pooled);
    BOOST_TEST(tr.norm == 1.0);
  }
}

BOOST_AUTO_TEST_CASE(pooling_pyramid_cell_membership) {
  // 1x1 + 2x2 + 3x1 on a 120 x 80 image; cells 0 | 1 2 / 3 4 | 5 6 7.
  const auto t = frames_at({{10, 10}, {59, 39}, {60, 40}, {119, 79}, {39.4F, 70}, {39.6F, 5}}, 120, 80);
  bw::PoolingOptions o;
  o.pyramid = {{1, 1}, {2, 2}, {3, 1}};
  BOOST_TEST(o.cells() == 8);
  bw::Assignment a;
  a.offsets = {0, 1, 2, 3, 4, 5, 6};
  a.words = {0, 1, 0, 1, 0, 1};
  a.weights = {1, 1, 1, 1, 1, 1};
  const auto tr = bw::Pooler(2, o).pool(t, a);
  const std::vector<int> expect{0, 1, 5,  0, 1, 6,  0, 4, 6,  0, 4, 7,  0, 3, 5,  0, 1, 6};
  BOOST_TEST(tr.feature_cells == expect, boost::test_tools::per_element());
  const std::vector<int> counts{6, 3, 0, 1, 2, 2, 3, 1};
  BOOST_TEST(tr.cell_counts == counts, boost::test_tools::per_element());
  BOOST_TEST(tr.levels == 3);
  // Empty cell 2 pools to zeros.
  BOOST_TEST(tr.pooled[2 * 2 + 0] == 0.0);
  BOOST_TEST(tr.pooled[2 * 2 + 1] == 0.0);
}

BOOST_AUTO_TEST_CASE(pooling_normalisations_and_hellinger) {
  const int K = 9;
  std::mt19937 rng(5);
  std::vector<std::pair<float, float>> centres;
  for (int i = 0; i < 40; ++i) centres.emplace_back(float(rng() % 100), float(rng() % 50));
  const auto t = frames_at(centres, 100, 50);
  const auto a = random_assignment(t.size(), K, 2, 6);
  for (auto norm : {bw::Normalisation::none, bw::Normalisation::l1, bw::Normalisation::l2})
    for (bool hell : {false, true}) {
      bw::PoolingOptions o;
      o.pyramid = {{1, 1}, {2, 1}};
      o.normalisation = norm;
      o.hellinger = hell;
      o.p = 2.0;
      const auto tr = bw::Pooler(K, o).pool(t, a);
      std::vector<double> g = naive_pool(t, a, K, o.pyramid, 2.0);
      for (auto& v : g) v = hell ? std::sqrt(v) : v;
      double n1 = 0, n2 = 0;
      for (double v : g) { n1 += std::fabs(v); n2 += v * v; }
      const double N = norm == bw::Normalisation::l1 ? n1 : norm == bw::Normalisation::l2 ? std::sqrt(n2) : 1.0;
      BOOST_TEST(std::fabs(tr.norm - N) < 1e-10 * N);
      for (std::size_t d = 0; d < g.size(); ++d) BOOST_TEST_REQUIRE(std::fabs(tr.histogram[d] - g[d] / N) < 1e-12);
      double s1 = 0, s2 = 0;
      for (double h : tr.histogram) { s1 += h; s2 += h * h; }
      if (norm == bw::Normalisation::l1) BOOST_TEST(std::fabs(s1 - 1) < 1e-12);
      if (norm == bw::Normalisation::l2) BOOST_TEST(std::fabs(s2 - 1) < 1e-12);
      BOOST_TEST((bw::normalisation_from_string(bw::to_string(norm)) == norm));
    }
  // No features at all: zeros everywhere, N = 1.
  bw::PoolingOptions o;
  o.normalisation = bw::Normalisation::l2;
  const auto empty = bw::Pooler(K, o).pool(frames_at({}, 10, 10), bw::Assignment{});
  BOOST_TEST(empty.norm == 1.0);
  BOOST_TEST(std::all_of(empty.histogram.begin(), empty.histogram.end(), [](double h) { return h == 0.0; }));
  BOOST_TEST(throws_with<std::invalid_argument>([&] { bw::Pooler(K, o).pool(t, bw::Assignment{}); }, {"40"}));
}

// ---------------------------------------------------------------- pipeline

BOOST_AUTO_TEST_CASE(pipeline_encodes_voc_image) {
  if (!bowlrp::test::have_voc()) return;
  bw::PipelineOptions o;
  o.pooling.pyramid = {{1, 1}, {2, 2}};
  o.mapping.kind = bw::MappingKind::rank;
  const bw::Pipeline pipe(o, bw::Codebook(128, random_descriptors(64, 128, 2)));
  BOOST_TEST(pipe.dimension() == 64u * 5);
  const auto t = pipe.encode_file(voc_image(4));
  BOOST_TEST(t.histogram().size() == pipe.dimension());
  BOOST_TEST(t.assignment.features() == t.features.size());
  double s = 0;
  for (double h : t.histogram()) s += h;
  BOOST_TEST(std::fabs(s - 1.0) < 1e-9);
  // Stages run separately give the same histogram.
  const auto im = pipe.load(voc_image(4));
  const auto f = pipe.sift().extract(im);
  const auto p = pipe.pooler().pool(f, pipe.mapper().assign(f));
  BOOST_TEST(p.histogram == t.histogram());
  // Encoding the file's bytes already in memory gives the same histogram.
  BOOST_TEST(pipe.encode_bytes(bowlrp::core::read_file(voc_image(4)), voc_image(4)).histogram() == t.histogram());
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { bw::Pipeline(o, bw::Codebook(16, random_descriptors(4, 16, 1))); }, {"16", "128"}));
}

BOOST_AUTO_TEST_CASE(canonical_options_see_every_encoding_change) {
  bowlrp::bow::PipelineOptions o;
  const std::string base = bowlrp::bow::canonical_encoding_options(o);
  BOOST_TEST(base == bowlrp::bow::canonical_encoding_options(bowlrp::bow::PipelineOptions{}));
  std::vector<bowlrp::bow::PipelineOptions> changed(9, o);
  changed[0].image.max_side = 400;
  changed[1].dsift.step = 5;
  changed[2].dsift.bin_sizes = {4, 6, 8};
  changed[3].dsift.magnif = 5.5;
  changed[4].mapping.kind = bowlrp::bow::MappingKind::soft;
  changed[5].pooling.p = 2;
  changed[6].pooling.pyramid = {{1, 1}};
  changed[7].pooling.hellinger = true;
  changed[8].pooling.normalisation = bowlrp::bow::Normalisation::l2;
  std::set<std::string> all{base};
  for (const auto& c : changed) all.insert(bowlrp::bow::canonical_encoding_options(c));
  BOOST_TEST(all.size() == 10u);
  // k-means settings change codebooks, not histograms (given the codebook).
  bowlrp::bow::PipelineOptions k = o;
  k.kmeans.words = 17;
  BOOST_TEST(bowlrp::bow::canonical_encoding_options(k) == base);
  BOOST_TEST(bowlrp::bow::canonical_codebook_options(k) != bowlrp::bow::canonical_codebook_options(o));
}

// Sum pooling (p = 1, the default) is the plain formula bit for bit: sum of the weights in feature
// order, times 1 / M_c, then the L1 normalisation. Trained models and the VOC AP depend on it.
BOOST_AUTO_TEST_CASE(pooling_sum_is_bit_identical_to_the_plain_formula) {
  const int K = 11, W = 97, H = 61;
  std::mt19937 rng(23);
  const auto t = random_frames(300, W, H, rng);
  const auto a = random_assignment(t.size(), K, 3, 24);
  bw::PoolingOptions o;
  o.pyramid = {{1, 1}, {2, 2}, {3, 1}};
  const auto tr = bw::Pooler(K, o).pool(t, a);
  std::vector<double> x(tr.dimension(), 0.0);
  for (std::size_t l = 0; l < t.size(); ++l)
    for (auto e = a.offsets[l]; e < a.offsets[l + 1]; ++e)
      for (int j = 0; j < tr.levels; ++j) x[std::size_t(tr.feature_cells[l * tr.levels + j]) * K + a.words[e]] += a.weights[e];
  for (int c = 0; c < tr.cells; ++c)
    if (tr.cell_counts[c] > 0)
      for (int k = 0; k < K; ++k) x[std::size_t(c) * K + k] *= 1.0 / tr.cell_counts[c];
  double n = 0;
  for (double v : x) n += std::fabs(v);
  BOOST_TEST_REQUIRE(tr.pooled.size() == x.size());
  BOOST_TEST(std::memcmp(tr.pooled.data(), x.data(), x.size() * sizeof(double)) == 0);
  BOOST_TEST(tr.norm == n);
  for (auto& v : x) v /= n;
  BOOST_TEST(std::memcmp(tr.histogram.data(), x.data(), x.size() * sizeof(double)) == 0);
}

// p-means with p from 400 to 1e6 on weights where m^p overflows (m up to 8: 8^400 = inf) and where it
// underflows (m <= 0.15: 0.15^400 = 0): the pool stays finite, between max * M^(-1/p) and max, i.e.
// it approaches max pooling; for moderate weights it matches the plain formula.
BOOST_AUTO_TEST_CASE(pooling_large_p_is_finite_and_tends_to_max) {
  const int K = 6, W = 80, H = 60;
  std::mt19937 rng(31);
  const auto t = random_frames(120, W, H, rng);
  auto a = random_assignment(t.size(), K, 2, 32);
  for (std::size_t e = 0; e < a.weights.size(); ++e)
    a.weights[e] = e % 5 == 0 ? 4.0F + 4.0F * float(rng() % 1000) / 1000.0F : 0.05F + 0.1F * float(rng() % 1000) / 1000.0F;
  const std::vector<bowlrp::core::PyramidLevel> pyr{{1, 1}, {2, 2}};
  bw::PoolingOptions o;
  o.pyramid = pyr;
  o.normalisation = bw::Normalisation::l2;
  o.p = std::numeric_limits<double>::infinity();
  const auto mx = bw::Pooler(K, o).pool(t, a);
  for (double p : {400.0, 1000.0, 1e6}) {
    o.p = p;
    const auto tr = bw::Pooler(K, o).pool(t, a);
    double gap = 0;
    for (std::size_t d = 0; d < tr.pooled.size(); ++d) {
      const double top = mx.pooled[d], x = tr.pooled[d];
      const int M = tr.cell_counts[d / K];
      BOOST_TEST_REQUIRE(std::isfinite(x));
      BOOST_TEST_REQUIRE(std::isfinite(tr.histogram[d]));
      BOOST_TEST_REQUIRE(x <= top * (1 + 1e-15), "p = " << p << ", d = " << d << ": " << x << " above max " << top);
      BOOST_TEST_REQUIRE(x >= top * std::pow(1.0 / std::max(M, 1), 1.0 / p) * (1 - 1e-15),
                         "p = " << p << ", d = " << d << ": " << x << " below max * M^(-1/p), max " << top);
      if (top > 0) gap = std::max(gap, 1 - x / top);
    }
    BOOST_TEST_MESSAGE("p = " << p << ": max relative gap to max pooling " << gap);
    if (p == 1e6) BOOST_TEST(gap < 1e-5);
  }
  // Weights in [0.5, 1]: the plain formula is representable at p = 400 and agrees.
  auto b = random_assignment(t.size(), K, 2, 33);
  for (auto& w : b.weights) w = 0.5F + 0.5F * w;
  o.p = 400;
  o.normalisation = bw::Normalisation::none;
  const auto tr = bw::Pooler(K, o).pool(t, b);
  const auto ref = naive_pool(t, b, K, pyr, 400);
  for (std::size_t d = 0; d < ref.size(); ++d) BOOST_TEST_REQUIRE(std::fabs(tr.pooled[d] - ref[d]) <= 1e-13 * ref[d]);
}

// ---------------------------------------------------------------- robust reading (issue 10)

namespace {

// Runs f in a child process so that a read that blocks or never ends (the FIFO, /dev/zero before
// read_file refused them) fails the test instead of hanging or exhausting the runner: the child
// dies of SIGALRM after 60 s and may not allocate more than 2 GB. Whether f returned true.
template <class F>
bool in_guarded_child(F&& f) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::alarm(60);
    const rlimit lim{rlim_t(2) << 30, rlim_t(2) << 30};
    ::setrlimit(RLIMIT_DATA, &lim);
    bool ok = false;
    try {
      ok = f();
    } catch (...) {
    }
    ::_exit(ok ? 0 : 1);
  }
  int status = 0;
  if (pid < 0 || ::waitpid(pid, &status, 0) != pid) return false;
  if (!WIFEXITED(status)) BOOST_TEST_MESSAGE("child ended by signal " << WTERMSIG(status));
  return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

// A textured 8-bit BGR picture, so that JPEG scans carry real entropy-coded data.
cv::Mat textured_bgr(int w, int h, std::uint32_t seed) {
  cv::Mat m(h, w, CV_8UC3);
  std::mt19937 rng(seed);
  for (int y = 0; y < h; ++y)
    for (int x = 0; x < w; ++x)
      m.at<cv::Vec3b>(y, x) = cv::Vec3b(uchar((x * 7 + y * 3 + rng() % 40) % 256), uchar((x * y / 5 + rng() % 30) % 256),
                                        uchar((255 - x * 2 + rng() % 50) % 256));
  return m;
}

std::string encode(const cv::Mat& m, const std::string& ext, const std::vector<int>& params = {}) {
  std::vector<uchar> buf;
  BOOST_REQUIRE(cv::imencode(ext, m, buf, params));
  return std::string(buf.begin(), buf.end());
}

// Offset of the first byte after marker FF <code>'s segment (header length included), or npos.
std::size_t after_segment(const std::string& jpeg, unsigned char code) {
  for (std::size_t i = 2; i + 4 < jpeg.size(); ++i)
    if (static_cast<unsigned char>(jpeg[i]) == 0xFF && static_cast<unsigned char>(jpeg[i + 1]) == code)
      return i + 2 + (static_cast<unsigned char>(jpeg[i + 2]) << 8 | static_cast<unsigned char>(jpeg[i + 3]));
  return std::string::npos;
}

// The grey image the loader computed before issue 10, from cv::imdecode and whole-image
// conversions: the reference the new decoder and the band-wise conversion must match bit for bit.
cv::Mat reference_grey(const std::string& bytes) {
  const cv::Mat d = cv::imdecode(cv::Mat(1, int(bytes.size()), CV_8U, const_cast<char*>(bytes.data())),
                                 cv::IMREAD_UNCHANGED);
  BOOST_REQUIRE(!d.empty());
  const double div = d.depth() == CV_16U ? 65535.0 : d.depth() == CV_8U ? 255.0 : 1.0;
  cv::Mat f, g;
  d.convertTo(f, CV_32F, 1.0 / div);
  if (f.channels() == 1) g = f;
  else if (f.channels() == 3) cv::cvtColor(f, g, cv::COLOR_BGR2GRAY);
  else cv::cvtColor(f, g, cv::COLOR_BGRA2GRAY);
  return g;
}

bool same_bits(const bw::GrayImage& im, const cv::Mat& ref) {
  if (im.width != ref.cols || im.height != ref.rows) return false;
  for (int y = 0; y < ref.rows; ++y)
    if (std::memcmp(ref.ptr<float>(y), im.pixels.data() + std::size_t(y) * im.width, sizeof(float) * im.width) != 0)
      return false;
  return true;
}

std::uint32_t crc32(const std::string& data) {
  std::uint32_t c = 0xFFFFFFFFu;
  for (unsigned char b : data) {
    c ^= b;
    for (int k = 0; k < 8; ++k) c = (c >> 1) ^ (0xEDB88320u & (0u - (c & 1u)));
  }
  return ~c;
}

void put_be16(std::string& s, std::size_t at, unsigned v) {
  s[at] = char(v >> 8);
  s[at + 1] = char(v & 0xFF);
}

void put_be32(std::string& s, std::size_t at, std::uint32_t v) {
  for (int k = 0; k < 4; ++k) s[at + k] = char(v >> (24 - 8 * k));
}

// A CMYK JPEG (with libjpeg's Adobe marker, as Photoshop writes them): OpenCV cannot encode one.
std::string cmyk_jpeg(int w, int h) {
  jpeg_compress_struct c{};
  jpeg_error_mgr err{};
  c.err = jpeg_std_error(&err);
  jpeg_create_compress(&c);
  unsigned char* out = nullptr;
  unsigned long size = 0;
  jpeg_mem_dest(&c, &out, &size);
  c.image_width = JDIMENSION(w);
  c.image_height = JDIMENSION(h);
  c.input_components = 4;
  c.in_color_space = JCS_CMYK;
  jpeg_set_defaults(&c);
  jpeg_start_compress(&c, TRUE);
  std::vector<unsigned char> row(std::size_t(w) * 4);
  while (c.next_scanline < c.image_height) {
    const int y = int(c.next_scanline);
    for (int x = 0; x < w; ++x)
      for (int k = 0; k < 4; ++k) row[4 * x + k] = (unsigned char)((x * (k + 1) * 5 + y * (4 - k) * 3) % 256);
    JSAMPROW r = row.data();
    jpeg_write_scanlines(&c, &r, 1);
  }
  jpeg_finish_compress(&c);
  jpeg_destroy_compress(&c);
  std::string bytes(reinterpret_cast<char*>(out), size);
  std::free(out);
  return bytes;
}

}  // namespace

BOOST_AUTO_TEST_CASE(io_read_file_refuses_fifo_devices_and_directories) {
  TempDir dir;
  const std::string fifo = dir / "pipe.jpg";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  // No writer ever opens the FIFO: a blocking open or read would wait forever.
  BOOST_TEST(in_guarded_child([&] {
    return throws_with<std::runtime_error>([&] { bowlrp::core::read_file(fifo); }, {fifo, "FIFO", "regular file"});
  }));
  BOOST_TEST(in_guarded_child([&] {
    return throws_with<std::runtime_error>([&] { bowlrp::core::read_file("/dev/zero"); },
                                           {"/dev/zero", "character device", "regular file"});
  }));
  BOOST_TEST(in_guarded_child([&] {
    return throws_with<std::runtime_error>([&] { bw::ImageLoader().load("/dev/null"); },
                                           {"/dev/null", "character device"});
  }));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::read_file(dir.path().string()); }, {"directory"}));
  // A regular file, and a symbolic link to one, still read.
  bowlrp::core::write_file_atomic(dir / "a.txt", "abc");
  std::filesystem::create_symlink(dir / "a.txt", dir / "link.txt");
  BOOST_TEST(bowlrp::core::read_file(dir / "a.txt") == "abc");
  BOOST_TEST(bowlrp::core::read_file(dir / "link.txt") == "abc");
}

BOOST_AUTO_TEST_CASE(io_write_file_atomic_removes_dead_writers_temporaries) {
  TempDir dir;
  const pid_t child = ::fork();
  if (child == 0) ::_exit(0);
  BOOST_REQUIRE(child > 0);
  int status = 0;
  BOOST_REQUIRE(::waitpid(child, &status, 0) == child);  // reaped: the pid no longer exists
  BOOST_REQUIRE(::kill(child, 0) == -1);
  const std::string dead = std::to_string(child), live = std::to_string(::getpid());
  const std::string target = dir / "model.json";
  const std::string orphan = target + ".tmp" + dead + "_12345";
  const std::string in_flight = target + ".tmp" + live + "_67890";
  const std::string other_target = dir / ("other.json.tmp" + dead + "_1");
  const std::string not_ours = target + ".tmp" + dead + "_draft";
  for (const auto& p : {orphan, in_flight, other_target, not_ours}) std::ofstream(p) << "partial";
  bowlrp::core::write_file_atomic(target, "{}");
  BOOST_TEST(bowlrp::core::read_file(target) == "{}");
  BOOST_TEST(!std::filesystem::exists(orphan));
  BOOST_TEST(std::filesystem::exists(in_flight));     // a live process's temporary stays
  BOOST_TEST(std::filesystem::exists(other_target));  // another target's temporary stays
  BOOST_TEST(std::filesystem::exists(not_ours));      // not a name write_file_atomic makes
  // The clean-up alone, on a target never written.
  const std::string lone = dir / ("x.bin.tmp" + dead + "_7");
  std::ofstream(lone) << "partial";
  BOOST_TEST(bowlrp::core::remove_stale_temporaries(dir / "x.bin") == 1u);
  BOOST_TEST(!std::filesystem::exists(lone));
}

BOOST_AUTO_TEST_CASE(io_write_file_atomic_writes_only_over_regular_files) {
  // A rename over a device, FIFO or folder would replace it (as root, --out /dev/full would replace
  // the system's device): refused, naming the path and what is there, and left as it was.
  TempDir dir;
  const std::string fifo = dir / "pipe.json";
  BOOST_REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::write_file_atomic(fifo, "{}"); },
                                             {fifo, "FIFO", "only over regular files"}));
  struct stat st {};
  BOOST_TEST((::lstat(fifo.c_str(), &st) == 0 && S_ISFIFO(st.st_mode)));
  const std::string folder = dir / "out";
  std::filesystem::create_directories(folder + "/inside");
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::write_file_atomic(folder, "{}"); }, {folder, "a directory"}));
  BOOST_TEST(std::filesystem::is_directory(folder + "/inside"));
  // A link to a device is a device.
  const std::string link = dir / "null.json";
  std::filesystem::create_symlink("/dev/null", link);
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::write_file_atomic(link, "{}"); }, {link, "character device"}));
  BOOST_TEST(std::filesystem::is_symlink(link));
  // A device node of its own (/dev/full's numbers), where the test may create one.
  const std::string full = dir / "full";
  if (::mknod(full.c_str(), S_IFCHR | 0600, makedev(1, 7)) == 0) {
    BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::write_file_atomic(full, "{}"); }, {full, "character device"}));
    BOOST_TEST((::lstat(full.c_str(), &st) == 0 && S_ISCHR(st.st_mode)));
  } else {
    std::cerr << "\n*** SKIPPED: cannot create a device node (" << std::strerror(errno)
              << "; needs root): the FIFO, folder and /dev/null link cases stand for it ***\n\n";
  }
  // A missing name under a regular file: its parent cannot be a folder.
  bowlrp::core::write_file_atomic(dir / "plain.txt", "abc");
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::check_output_file(dir / "plain.txt/x.json"); },
                                             {"plain.txt", "not a folder"}));
  // Regular files, links to them and missing names in missing folders are fine; nothing was left behind.
  std::filesystem::create_symlink(dir / "plain.txt", dir / "plain.link");
  BOOST_CHECK_NO_THROW(bowlrp::core::check_output_file(dir / "plain.link"));
  BOOST_CHECK_NO_THROW(bowlrp::core::check_output_file(dir / "a/b/c.json"));
  bowlrp::core::write_file_atomic(dir / "plain.txt", "def");
  BOOST_TEST(bowlrp::core::read_file(dir / "plain.txt") == "def");
  std::size_t temporaries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    temporaries += e.path().filename().string().find(".tmp") != std::string::npos;
  BOOST_TEST(temporaries == 0u);
}

BOOST_AUTO_TEST_CASE(io_write_file_atomic_keeps_the_reason_of_a_failed_rename) {
  // An immutable target (chattr +i) refuses the rename even for root; the message used to say
  // "Success" because the clean-up reused the error code before the message was built.
  TempDir dir;
  const std::string target = dir / "locked.json";
  bowlrp::core::write_file_atomic(target, "old");
  const int fd = ::open(target.c_str(), O_RDONLY);
  BOOST_REQUIRE(fd >= 0);
  int flags = 0;
  const bool locked = ::ioctl(fd, FS_IOC_GETFLAGS, &flags) == 0 &&
                      (flags |= FS_IMMUTABLE_FL, ::ioctl(fd, FS_IOC_SETFLAGS, &flags) == 0);
  if (!locked) {
    std::cerr << "\n*** SKIPPED: cannot make a file immutable here (" << std::strerror(errno)
              << "; needs root on ext4/xfs/btrfs): the rename failure is not tested ***\n\n";
    ::close(fd);
    return;
  }
  std::string message;
  try {
    bowlrp::core::write_file_atomic(target, "new");
  } catch (const std::runtime_error& e) {
    message = e.what();
  }
  flags &= ~FS_IMMUTABLE_FL;
  ::ioctl(fd, FS_IOC_SETFLAGS, &flags);
  ::close(fd);
  BOOST_TEST(message.find(target) != std::string::npos, message);
  BOOST_TEST(message.find(std::strerror(EPERM)) != std::string::npos, message);
  BOOST_TEST(message.find("Success") == std::string::npos, message);
  BOOST_TEST(bowlrp::core::read_file(target) == "old");
  std::size_t temporaries = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir.path()))
    temporaries += e.path().filename().string().find(".tmp") != std::string::npos;
  BOOST_TEST(temporaries == 0u);
}

BOOST_AUTO_TEST_CASE(io_file_reader_reads_ranges_and_refuses_what_read_file_refuses) {
  TempDir dir;
  bowlrp::core::write_file_atomic(dir / "a.bin", "0123456789");
  const bowlrp::core::FileReader r(dir / "a.bin");
  BOOST_TEST(r.size() == 10u);
  BOOST_TEST(r.read(2, 3) == "234");
  BOOST_TEST(r.read(10, 0) == "");
  BOOST_TEST(throws_with<std::runtime_error>([&] { r.read(8, 3); }, {"a.bin", "past its end"}));
  BOOST_TEST(throws_with<std::runtime_error>([&] { r.read(11, 0); }, {"a.bin", "past its end"}));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::FileReader(dir.path().string()); }, {"directory"}));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bowlrp::core::FileReader(dir / "missing"); }, {"missing"}));
}

BOOST_AUTO_TEST_CASE(image_jpeg_corrupt_scan_rejected) {
  TempDir dir;
  const std::string good = encode(textured_bgr(160, 120, 3), ".jpg", {cv::IMWRITE_JPEG_QUALITY, 90});
  const std::size_t scan = after_segment(good, 0xDA);
  BOOST_REQUIRE(scan != std::string::npos);
  BOOST_REQUIRE(good.size() > scan + 400);
  std::string bad = good;
  for (std::size_t i = scan + 100; i < scan + 300; i += 7) bad[i] = char(bad[i] ^ 0x5A);
  // cv::imdecode accepts it (libjpeg only warns, and fills in grey blocks) and it keeps its
  // end-of-image marker, so nothing refused it before.
  const cv::Mat lenient = cv::imdecode(cv::Mat(1, int(bad.size()), CV_8U, bad.data()), cv::IMREAD_UNCHANGED);
  BOOST_REQUIRE(!lenient.empty());
  const std::string path = dir / "corrupt.jpg";
  bowlrp::core::write_file_atomic(path, bad);
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().load(path); }, {path, "corrupt", "JPEG"}));
  // Extra bytes inserted into the scan: libjpeg's "extraneous bytes" or "premature end" warning.
  std::string longer = good;
  longer.insert(scan + 200, std::string(64, '\x11'));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().decode(longer, "longer.jpg"); },
                                             {"longer.jpg", "JPEG"}));
  BOOST_TEST(bw::ImageLoader().decode(good, "good.jpg").width == 160);
}

BOOST_AUTO_TEST_CASE(image_forged_huge_jpeg_and_png_refused_before_decoding) {
  // SOF0 declares 20000 x 20000 (1.2 GB of BGR, 6.4 GB as floats) over a 40 x 30 scan.
  const std::string small = encode(textured_bgr(40, 30, 5), ".jpg");
  std::size_t sof = std::string::npos;
  for (std::size_t i = 2; i + 9 < small.size(); ++i)
    if (static_cast<unsigned char>(small[i]) == 0xFF && static_cast<unsigned char>(small[i + 1]) == 0xC0) {
      sof = i;
      break;
    }
  BOOST_REQUIRE(sof != std::string::npos);
  std::string jpeg = small;
  put_be16(jpeg, sof + 5, 20000);  // height
  put_be16(jpeg, sof + 7, 20000);  // width
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().decode(jpeg, "huge.jpg"); },
                                             {"huge.jpg", "20000x20000", "JPEG", "max_pixels"}));
  // IHDR declares 20000 x 20000, with a valid CRC so that libpng would believe it.
  std::string png = encode(textured_bgr(40, 30, 6), ".png");
  put_be32(png, 16, 20000);
  put_be32(png, 20, 20000);
  put_be32(png, 29, crc32(png.substr(12, 17)));
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader().decode(png, "huge.png"); },
                                             {"huge.png", "20000x20000", "PNG", "max_pixels"}));
  // The limit is exact: width * height equal to it loads, one pixel less does not.
  bw::ImageOptions o;
  o.max_pixels = 40 * 30;
  BOOST_TEST(bw::ImageLoader(o).decode(small, "small.jpg").width == 40);
  o.max_pixels = 40 * 30 - 1;
  BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader(o).decode(small, "small.jpg"); },
                                             {"40x30", "1200 pixels", "1199"}));
  o.max_pixels = -1;
  BOOST_TEST(throws_with<std::invalid_argument>([&] { o.validate(); }, {"max_pixels", "-1"}));
}

BOOST_AUTO_TEST_CASE(image_declared_size_read_for_every_accepted_format) {
  // Each encoder's output: its header's size is read (the limit one pixel under refuses it, the
  // exact limit loads it) and the pixels are the ones cv::imdecode gives.
  const cv::Mat bgr = textured_bgr(37, 23, 9);
  cv::Mat grey, g16, bgra, f32;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  grey.convertTo(g16, CV_16U, 257.0);
  cv::cvtColor(bgr, bgra, cv::COLOR_BGR2BGRA);
  bgr.convertTo(f32, CV_32FC3, 1.0 / 255);
  const std::vector<std::tuple<std::string, cv::Mat, std::vector<int>>> cases = {
      {".png", bgra, {}},  {".png", g16, {}}, {".bmp", bgr, {}},  {".tiff", bgr, {}},
      {".tiff", g16, {}},  {".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 101}}, {".webp", bgr, {cv::IMWRITE_WEBP_QUALITY, 80}},
      {".ppm", bgr, {}},   {".pgm", grey, {cv::IMWRITE_PXM_BINARY, 0}}, {".pam", bgra, {cv::IMWRITE_PAM_TUPLETYPE, cv::IMWRITE_PAM_FORMAT_RGB_ALPHA}},
      {".pfm", f32, {}},   {".sr", bgr, {}}};
  for (const auto& [ext, m, params] : cases) {
    BOOST_TEST_CONTEXT(ext << " with " << m.channels() << " channels of depth " << m.depth()) {
      const std::string bytes = encode(m, ext, params);
      bw::ImageOptions o;
      o.max_side = 0;
      o.max_pixels = 37 * 23;
      const auto im = bw::ImageLoader(o).decode(bytes, "x" + ext);
      BOOST_TEST(im.width == 37);
      BOOST_TEST(im.height == 23);
      if (ext != ".pfm") BOOST_TEST(same_bits(im, reference_grey(bytes)));
      o.max_pixels = 37 * 23 - 1;
      BOOST_TEST(throws_with<std::runtime_error>([&] { bw::ImageLoader(o).decode(bytes, "x" + ext); },
                                                 {"37x23", "max_pixels"}));
    }
  }
}

BOOST_AUTO_TEST_CASE(image_jpeg_pixels_bit_identical_to_opencv) {
  bw::ImageOptions o;
  o.max_side = 0;
  const bw::ImageLoader loader(o);
  // Baseline, optimised Huffman tables with restart markers, progressive colour, and grey; taller than the 64-row conversion band.
  const cv::Mat bgr = textured_bgr(203, 157, 11);
  cv::Mat grey;
  cv::cvtColor(bgr, grey, cv::COLOR_BGR2GRAY);
  const std::vector<std::string> jpegs = {
      encode(bgr, ".jpg"), encode(bgr, ".jpg", {cv::IMWRITE_JPEG_OPTIMIZE, 1, cv::IMWRITE_JPEG_RST_INTERVAL, 4}),
      encode(bgr, ".jpg", {cv::IMWRITE_JPEG_PROGRESSIVE, 1}), encode(grey, ".jpg")};
  for (std::size_t i = 0; i < jpegs.size(); ++i) BOOST_TEST(same_bits(loader.decode(jpegs[i], "j.jpg"), reference_grey(jpegs[i])), "jpeg " << i);
  // An EXIF orientation tag (6: rotate 90 degrees) is ignored, as by cv::imdecode(IMREAD_UNCHANGED).
  std::string exif = std::string("Exif\0\0", 6) + std::string("II*\0\x08\0\0\0\x01\0\x12\x01\x03\0\x01\0\0\0\x06\0\0\0\0\0\0\0", 26);
  std::string app1 = "\xFF\xE1";
  app1 += char((exif.size() + 2) >> 8);
  app1 += char((exif.size() + 2) & 0xFF);
  const std::string rotated = jpegs[0].substr(0, 2) + app1 + exif + jpegs[0].substr(2);
  const auto r = loader.decode(rotated, "rotated.jpg");
  BOOST_TEST(r.width == 203);
  BOOST_TEST(same_bits(r, reference_grey(rotated)));
  // CMYK, converted to BGR by OpenCV's formula.
  const std::string cmyk = cmyk_jpeg(70, 90);
  BOOST_TEST(same_bits(loader.decode(cmyk, "cmyk.jpg"), reference_grey(cmyk)));
  if (!bowlrp::test::have_voc()) return;
  for (std::size_t i = 0; i < 25; ++i) {
    const std::string path = voc_image(i * 97);
    const std::string bytes = bowlrp::core::read_file(path);
    BOOST_TEST(same_bits(loader.decode(bytes, path), reference_grey(bytes)), path);
  }
}

// Libraries loaded on first use (shared_library.h): looked for beside the asking library; a missing
// file or symbol is an error naming the path and the loader's reason.
BOOST_AUTO_TEST_CASE(shared_library_found_beside_the_asking_library) {
  const void* anchor = reinterpret_cast<const void*>(&bowlrp::bow::mirror_left_right);
  Dl_info self{};
  BOOST_REQUIRE(dladdr(anchor, &self) && self.dli_fname);
  const std::string dir = std::filesystem::path(self.dli_fname).parent_path().string();
  const bowlrp::core::SharedLibrary codecs(anchor, "libbowlrp_imgcodecs.so");
  BOOST_TEST(codecs.path() == dir + "/libbowlrp_imgcodecs.so");
  BOOST_TEST(codecs.symbol("bowlrp_imdecode") != nullptr);
  try {
    (void)codecs.symbol("bowlrp_no_such_symbol");
    BOOST_FAIL("a missing symbol was found");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find("bowlrp_no_such_symbol") != std::string::npos, what);
    BOOST_TEST(what.find(codecs.path()) != std::string::npos, what);
  }
  try {
    const bowlrp::core::SharedLibrary missing(anchor, "libbowlrp_no_such_library.so");
    BOOST_FAIL("a missing library was loaded");
  } catch (const std::runtime_error& e) {
    const std::string what = e.what();
    BOOST_TEST(what.find(dir + "/libbowlrp_no_such_library.so") != std::string::npos, what);
    BOOST_TEST(what.find("No such file") != std::string::npos, what);  // dlerror()'s reason
  }
}

// bow::imdecode / bow::imencode (through libbowlrp_imgcodecs.so) give OpenCV's bytes and pixels.
BOOST_AUTO_TEST_CASE(imgcodecs_through_the_loaded_library_match_opencv) {
  cv::Mat m(23, 31, CV_8UC3);
  cv::randu(m, 0, 255);
  std::vector<unsigned char> ours, theirs;
  BOOST_REQUIRE(bw::imencode(".png", m, ours));
  BOOST_REQUIRE(cv::imencode(".png", m, theirs));
  BOOST_TEST(ours == theirs);
  const cv::Mat back = bw::imdecode(cv::Mat(1, int(ours.size()), CV_8U, ours.data()), cv::IMREAD_UNCHANGED);
  BOOST_REQUIRE(back.type() == m.type());
  BOOST_TEST(cv::norm(back, m, cv::NORM_INF) == 0);
  BOOST_TEST(bw::imdecode(cv::Mat(1, 4, CV_8U, ours.data()), cv::IMREAD_UNCHANGED).empty());
}

BOOST_AUTO_TEST_SUITE_END()
