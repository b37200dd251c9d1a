// Forward-pipeline benchmark on real VOC images (issue: extraction + encoding of N images).
//
// Measures in one run, on the same images, medians over --repeats:
//   bare     : VLFeat alone: per scale vl_imsmooth_f + vl_dsift_process on the loaded grey image
//   dsift    : bowlrp::bow::DenseSift::extract (frames, supports, contrast zeroing)
//   assign   : exact nearest word (GEMM form) for all descriptors of the image
//   sgemm    : a plain cblas_sgemm of the same shape (the floor of the assignment)
//   pool     : pooling into the 1x1+2x2 pyramid histogram
//   encode   : the whole Pipeline::encode (dsift + assign + pool) on a loaded image
// and prints per-image times and the ratios encode / (bare + sgemm) and dsift / bare.
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/datasets/voc.h>

#include <cblas.h>
extern "C" {
#include <vl/dsift.h>
#include <vl/imopv.h>
}

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

#include <bowlrp/bow/io.h>

namespace {

using Clock = std::chrono::steady_clock;
double since(Clock::time_point t0) { return std::chrono::duration<double>(Clock::now() - t0).count(); }

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[v.size() / 2];
}

// VLFeat alone, PHOW-like: the floor the DenseSift stage is compared with.
std::size_t bare_dsift(const bowlrp::bow::GrayImage& im, const bowlrp::bow::DsiftOptions& o) {
  std::vector<float> smooth(im.pixels.size());
  std::size_t total = 0;
  for (int s : o.bin_sizes) {
    const double sigma = s / o.magnif;
    vl_imsmooth_f(smooth.data(), im.width, im.pixels.data(), im.width, im.height, im.width, sigma, sigma);
    VlDsiftFilter* f = vl_dsift_new_basic(im.width, im.height, o.step, s);
    vl_dsift_set_flat_window(f, o.fast);
    vl_dsift_set_window_size(f, o.window_size);
    vl_dsift_process(f, smooth.data());
    total += vl_dsift_get_keypoint_num(f);
    vl_dsift_delete(f);
  }
  return total;
}

}  // namespace

int main(int argc, char** argv) {
  std::string root = std::getenv("BOWLRP_VOC_ROOT") ? std::getenv("BOWLRP_VOC_ROOT") : BOWLRP_DEFAULT_VOC_ROOT;
  int images = 100, repeats = 3, words = 1024;
  std::string json_path = "bench_pipeline.json";
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string a = argv[i];
    if (a == "--voc") root = argv[i + 1];
    else if (a == "--images") images = std::atoi(argv[i + 1]);
    else if (a == "--repeats") repeats = std::atoi(argv[i + 1]);
    else if (a == "--words") words = std::atoi(argv[i + 1]);
    else if (a == "--json") json_path = argv[i + 1];
    else {
      std::fprintf(stderr, "usage: bowlrp_bench [--voc ROOT] [--images N] [--repeats R] [--words K] [--json F]\n");
      return 2;
    }
  }
  openblas_set_num_threads(1);  // one image per core is how the pipeline runs
  const auto set = bowlrp::datasets::VocSet::load(root, "val", {"aeroplane"});
  std::vector<std::string> paths;
  for (int i = 0; i < images && i < static_cast<int>(set.ids.size()); ++i) paths.push_back(set.image_path(set.ids[i]));

  bowlrp::bow::PipelineOptions opts;
  opts.pooling.pyramid = {{1, 1}, {2, 2}};
  std::mt19937 rng(0);
  std::uniform_real_distribution<float> u(0.0f, 0.2f);
  std::vector<float> centres(static_cast<std::size_t>(words) * 128);
  for (float& c : centres) c = u(rng);
  const bowlrp::bow::Pipeline pipe(opts, bowlrp::bow::Codebook(128, centres));

  std::vector<bowlrp::bow::GrayImage> loaded;
  std::vector<double> t_load;
  for (int r = 0; r < repeats; ++r) {
    loaded.clear();
    const auto t0 = Clock::now();
    for (const auto& p : paths) loaded.push_back(pipe.load(p));
    t_load.push_back(since(t0));
  }
  std::vector<double> t_bare, t_dsift, t_assign, t_sgemm, t_pool, t_encode;
  std::size_t descriptors = 0;
  for (int r = 0; r < repeats; ++r) {
    auto t0 = Clock::now();
    descriptors = 0;
    for (const auto& im : loaded) descriptors += bare_dsift(im, opts.dsift);
    t_bare.push_back(since(t0));
    std::vector<bowlrp::bow::FeatureTrace> feats;
    t0 = Clock::now();
    for (const auto& im : loaded) feats.push_back(pipe.sift().extract(im));
    t_dsift.push_back(since(t0));
    std::vector<bowlrp::bow::Assignment> assigns;
    t0 = Clock::now();
    for (const auto& f : feats) assigns.push_back(pipe.mapper().assign(f));
    t_assign.push_back(since(t0));
    t0 = Clock::now();
    for (const auto& f : feats) {
      std::vector<float> out(f.size() * words);
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(f.size()), words, 128, 1.0f,
                  f.descriptors.data(), 128, centres.data(), 128, 0.0f, out.data(), words);
    }
    t_sgemm.push_back(since(t0));
    t0 = Clock::now();
    for (std::size_t i = 0; i < feats.size(); ++i) pipe.pooler().pool(feats[i], assigns[i]);
    t_pool.push_back(since(t0));
    t0 = Clock::now();
    for (const auto& im : loaded) pipe.encode(im);
    t_encode.push_back(since(t0));
  }
  const double n = static_cast<double>(paths.size());
  const double flops = 2.0 * descriptors / 1.0 * words * 128;  // per pass over all images
  auto ms = [&](const std::vector<double>& t) { return 1e3 * median(t) / n; };
  std::printf("bowlrp forward benchmark: %zu VOC val images, K = %d, %.0f descriptors/image, %d repeats, 1 thread\n",
              paths.size(), words, descriptors / n, repeats);
  std::printf("%-10s %12s\n", "stage", "ms/image");
  std::printf("%-10s %12.2f\n", "load", ms(t_load));
  std::printf("%-10s %12.2f   (bare vl_dsift floor)\n", "bare", ms(t_bare));
  std::printf("%-10s %12.2f   ratio to bare %.2f\n", "dsift", ms(t_dsift), median(t_dsift) / median(t_bare));
  std::printf("%-10s %12.2f   %.1f GFLOP/s\n", "sgemm", ms(t_sgemm), flops / median(t_sgemm) * 1e-9);
  std::printf("%-10s %12.2f   %.1f GFLOP/s = %.0f%% of sgemm\n", "assign", ms(t_assign),
              flops / median(t_assign) * 1e-9, 100.0 * median(t_sgemm) / median(t_assign));
  std::printf("%-10s %12.2f\n", "pool", ms(t_pool));
  std::printf("%-10s %12.2f   %.2f images/s; ratio to (bare + sgemm) %.2f (target <= 1.5)\n", "encode",
              ms(t_encode), n / median(t_encode), median(t_encode) / (median(t_bare) + median(t_sgemm)));
  nlohmann::json j = {{"images", paths.size()},
                      {"words", words},
                      {"descriptors_per_image", descriptors / n},
                      {"ms_per_image",
                       {{"load", ms(t_load)}, {"bare_dsift", ms(t_bare)}, {"dsift", ms(t_dsift)},
                        {"sgemm", ms(t_sgemm)}, {"assign", ms(t_assign)}, {"pool", ms(t_pool)},
                        {"encode", ms(t_encode)}}},
                      {"ratio_dsift_to_bare", median(t_dsift) / median(t_bare)},
                      {"ratio_encode_to_bare_plus_sgemm", median(t_encode) / (median(t_bare) + median(t_sgemm))},
                      {"assign_share_of_sgemm_rate", median(t_sgemm) / median(t_assign)}};
  bowlrp::bow::write_file_atomic(json_path, j.dump(1) + "\n");
  return 0;
}
