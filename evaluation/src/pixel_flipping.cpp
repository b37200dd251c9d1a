#include <bowlrp/evaluation/pixel_flipping.h>

#include <bowlrp/core/digest.h>
#include <bowlrp/core/random.h>

#include <opencv2/core.hpp>
#include <opencv2/imgproc.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

namespace {


// Seed of random order r: decorrelated from the noise seed and from the other orders.
std::uint64_t order_seed(std::uint64_t seed, int r) { return core::mix_seed(seed ^ core::mix_seed(0x5eedULL + static_cast<std::uint64_t>(r))); }

void check_order(const std::vector<int>& order, int regions) {
  for (int r : order) {
    if (r < 0 || r >= regions) {
      throw std::invalid_argument("pixel flipping: region " + std::to_string(r) + " is outside the grid of " +
                                  std::to_string(regions) + " regions");
    }
  }
}

// Pastes the noise over region box b of the working image.
void paste_noise(bow::GrayImage& image, const std::vector<float>& noise, const bow::Box& b) {
  for (int y = b.y0; y < b.y1; ++y) {
    const std::size_t row = static_cast<std::size_t>(y) * image.width;
    std::copy(noise.begin() + row + b.x0, noise.begin() + row + b.x1, image.pixels.begin() + row + b.x0);
  }
}

// Regions flipped at step k (1-based) of an order; empty once the order is exhausted.
std::pair<std::size_t, std::size_t> step_range(std::size_t k, const PixelFlipOptions& o, std::size_t n) {
  const std::size_t per = static_cast<std::size_t>(o.regions_per_step);
  const std::size_t begin = std::min(n, (k - 1) * per);
  return {begin, std::min(n, begin + per)};
}

}  // namespace

void PixelFlipOptions::validate() const {
  auto bad = [](const std::string& field, long long v, const std::string& expected) {
    throw std::invalid_argument("PixelFlipOptions." + field + " = " + std::to_string(v) + "; expected " + expected);
  };
  if (region_size < 1) bad("region_size", region_size, "a region side >= 1 px");
  if (steps < 1) bad("steps", steps, "at least 1 perturbation step");
  if (regions_per_step < 1) bad("regions_per_step", regions_per_step, ">= 1");
  if (random_orders < 0) bad("random_orders", random_orders, ">= 0 (0 = no random reference)");
  if (!(blur_sigma > 0.0) || !std::isfinite(blur_sigma))
    throw std::invalid_argument("PixelFlipOptions.blur_sigma = " + std::to_string(blur_sigma) +
                                "; expected a Gaussian sigma > 0 px");
}

RegionGrid::RegionGrid(int width, int height, int region_size)
    : width_(width), height_(height), size_(region_size), cols_(0), rows_(0) {
  if (width < 1 || height < 1 || region_size < 1) {
    throw std::invalid_argument("RegionGrid: image " + std::to_string(width) + "x" + std::to_string(height) +
                                ", region side " + std::to_string(region_size) + "; expected all >= 1");
  }
  cols_ = (width + region_size - 1) / region_size;
  rows_ = (height + region_size - 1) / region_size;
}

bow::Box RegionGrid::box(int r) const {
  const int cx = r % cols_, cy = r / cols_;
  bow::Box b;
  b.x0 = cx * size_;
  b.y0 = cy * size_;
  b.x1 = std::min(width_, b.x0 + size_);
  b.y1 = std::min(height_, b.y0 + size_);
  return b;
}

std::vector<double> RegionGrid::aggregate(const double* relevance, int map_width, int map_height) const {
  if (!relevance || map_width < 1 || map_height < 1) {
    throw std::invalid_argument("RegionGrid::aggregate: relevance map " + std::to_string(map_width) + "x" +
                                std::to_string(map_height) + " is empty; expected a W x H map");
  }
  // Region of each map column / row, computed once: floor((x + 0.5) * width / W) / region side.
  std::vector<int> col(map_width), row(map_height);
  for (int x = 0; x < map_width; ++x) {
    const int wx = std::min(width_ - 1, static_cast<int>(std::floor((x + 0.5) * width_ / map_width)));
    col[x] = wx / size_;
  }
  for (int y = 0; y < map_height; ++y) {
    const int wy = std::min(height_ - 1, static_cast<int>(std::floor((y + 0.5) * height_ / map_height)));
    row[y] = wy / size_;
  }
  std::vector<double> sums(static_cast<std::size_t>(size()), 0.0);
  for (int y = 0; y < map_height; ++y) {
    const double* src = relevance + static_cast<std::size_t>(y) * map_width;
    double* dst = sums.data() + static_cast<std::size_t>(row[y]) * cols_;
    for (int x = 0; x < map_width; ++x) dst[col[x]] += src[x];
  }
  return sums;
}

std::vector<int> relevance_order(const std::vector<double>& region_relevance) {
  std::vector<int> order(region_relevance.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return region_relevance[a] > region_relevance[b]; });
  return order;
}

std::vector<int> least_relevant_order(const std::vector<double>& region_relevance) {
  std::vector<int> order(region_relevance.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int a, int b) { return region_relevance[a] < region_relevance[b]; });
  return order;
}

std::vector<double> flip_fractions(int regions, const PixelFlipOptions& options) {
  options.validate();
  if (regions < 1)
    throw std::invalid_argument("flip_fractions: a grid of " + std::to_string(regions) + " regions; expected >= 1");
  std::vector<double> x(static_cast<std::size_t>(options.steps) + 1);
  for (std::size_t k = 0; k < x.size(); ++k)
    x[k] = std::min(1.0, static_cast<double>(k) * options.regions_per_step / regions);
  return x;
}

std::vector<int> random_order(int regions, std::uint64_t seed) {
  const std::vector<std::size_t> p = core::random_permutation(static_cast<std::size_t>(std::max(regions, 0)), seed);
  return std::vector<int>(p.begin(), p.end());
}

std::vector<float> flip_noise(int width, int height, std::uint64_t seed) {
  std::vector<float> noise(static_cast<std::size_t>(std::max(width, 0)) * std::max(height, 0));
  std::mt19937_64 engine(core::mix_seed(seed ^ 0x6e6f697365ULL));
  for (float& v : noise) v = static_cast<float>(engine() >> 40) * (1.0f / 16777216.0f);  // 24 bits: exact
  return noise;
}

std::string to_string(FlipFill fill) {
  switch (fill) {
    case FlipFill::noise: return "noise";
    case FlipFill::mean: return "mean";
    case FlipFill::blur: return "blur";
  }
  throw std::invalid_argument("FlipFill: unknown value " + std::to_string(static_cast<int>(fill)));
}

FlipFill flip_fill_from_string(const std::string& name) {
  for (FlipFill f : {FlipFill::noise, FlipFill::mean, FlipFill::blur})
    if (to_string(f) == name) return f;
  throw std::invalid_argument("unknown flipping fill '" + name + "': expected noise, mean or blur");
}

std::vector<float> flip_fill(const bow::GrayImage& image, const PixelFlipOptions& options) {
  options.validate();
  switch (options.fill) {
    case FlipFill::noise: return flip_noise(image.width, image.height, options.seed);
    case FlipFill::mean: {
      double sum = 0.0;
      for (float p : image.pixels) sum += p;
      const float mean = image.pixels.empty() ? 0.0f : static_cast<float>(sum / static_cast<double>(image.pixels.size()));
      return std::vector<float>(image.pixels.size(), mean);
    }
    case FlipFill::blur: {
      std::vector<float> out(image.pixels.size());
      if (out.empty()) return out;
      const cv::Mat src(image.height, image.width, CV_32F, const_cast<float*>(image.pixels.data()));
      cv::Mat dst(image.height, image.width, CV_32F, out.data());
      const int side = 2 * static_cast<int>(std::ceil(3.0 * options.blur_sigma)) + 1;
      cv::GaussianBlur(src, dst, cv::Size(side, side), options.blur_sigma, options.blur_sigma, cv::BORDER_REFLECT_101);
      return out;
    }
  }
  throw std::invalid_argument("flip_fill: unknown fill");
}

double aopc(const std::vector<double>& curve) {
  if (curve.empty()) throw std::invalid_argument("aopc: empty curve; expected f(x^0) .. f(x^L)");
  double s = 0.0;
  for (double f : curve) s += curve[0] - f;
  return s / static_cast<double>(curve.size());
}

std::vector<double> flip_curve(const bow::GrayImage& image, const std::vector<int>& order,
                               const PixelFlipOptions& options, const ImageScore& score) {
  options.validate();
  const RegionGrid grid(image.width, image.height, options.region_size);
  check_order(order, grid.size());
  const std::vector<float> noise = flip_fill(image, options);
  bow::GrayImage x = image;
  std::vector<double> curve;
  curve.reserve(static_cast<std::size_t>(options.steps) + 1);
  curve.push_back(score(x));
  for (std::size_t k = 1; k <= static_cast<std::size_t>(options.steps); ++k) {
    const auto [begin, end] = step_range(k, options, order.size());
    if (begin == end) {  // everything flipped: the image no longer changes
      curve.push_back(curve.back());
      continue;
    }
    for (std::size_t i = begin; i < end; ++i) paste_noise(x, noise, grid.box(order[i]));
    curve.push_back(score(x));
  }
  return curve;
}

IncrementalFlipper::IncrementalFlipper(std::shared_ptr<const bow::Pipeline> shared_pipeline,
                                       std::shared_ptr<const svm::KernelSvm> shared_model, std::size_t cls)
    : IncrementalFlipper(model::Encoding(std::move(shared_pipeline)), decompose::Head(std::move(shared_model)), cls) {}

IncrementalFlipper::IncrementalFlipper(const model::Model& model, std::size_t cls)
    : IncrementalFlipper(model.encoding(), model.head(), cls) {
  projection_ = model.artefact_projection();
}

IncrementalFlipper::IncrementalFlipper(model::Encoding encoding, decompose::Head head, std::size_t cls)
    : encoding_(std::move(encoding)), head_(std::move(head)), cls_(cls) {
  const bool null_encoding = std::visit([](const auto& e) { return !e; }, encoding_);
  const bool null_head = std::visit([](const auto& h) { return !h; }, head_);
  if (null_encoding || null_head)
    throw std::invalid_argument("IncrementalFlipper: no pipeline or no model given (null pointer)");
  const std::size_t dim = std::visit([](const auto& e) { return e->dimension(); }, encoding_);
  if (decompose::head_dimension(head_) != dim) {
    throw std::invalid_argument("IncrementalFlipper: the model expects histograms of " +
                                std::to_string(decompose::head_dimension(head_)) + " dimensions but the pipeline makes " +
                                std::to_string(dim));
  }
  if (cls >= decompose::head_classes(head_)) {
    throw std::invalid_argument("IncrementalFlipper: class " + std::to_string(cls) + " but the model has " +
                                std::to_string(decompose::head_classes(head_)) + " classes");
  }
}

double IncrementalFlipper::score(const std::vector<double>& histogram) const {
  if (projection_) {
    std::vector<double> p(histogram.size());
    projection_->project(histogram.data(), p.data());
    return decompose::head_decision(head_, cls_, p.data());
  }
  return decompose::head_decision(head_, cls_, histogram.data());
}

void IncrementalFlipper::check_trace(const bow::GrayImage& image, const bow::FeatureTrace& f0, std::size_t dim,
                                     const core::Digest& made_by) const {
  const std::size_t own_dim = std::visit([](const auto& e) { return e->dimension(); }, encoding_);
  const core::Digest own = std::visit([](const auto& e) { return e->fingerprint(); }, encoding_);
  if (f0.work_width != image.width || f0.work_height != image.height || dim != own_dim || made_by != own) {
    throw std::invalid_argument("IncrementalFlipper::flip_curve: the trace (" + std::to_string(f0.work_width) + "x" +
                                std::to_string(f0.work_height) + " working px, " + std::to_string(f0.size()) +
                                " features) is not the encoding of this " + std::to_string(image.width) + "x" +
                                std::to_string(image.height) + " image by this pipeline");
  }
}

namespace {
// Working box -> the original pixels whose edges it spans (edges map by division).
bow::Box original_box(const bow::GrayImage& image, const bow::Box& w) {
  const double sx = static_cast<double>(image.width) / image.original_width;
  const double sy = static_cast<double>(image.height) / image.original_height;
  bow::Box changed;
  changed.x0 = std::max(0, static_cast<int>(std::floor(w.x0 / sx)));
  changed.y0 = std::max(0, static_cast<int>(std::floor(w.y0 / sy)));
  changed.x1 = std::min(image.original_width, static_cast<int>(std::ceil(w.x1 / sx)));
  changed.y1 = std::min(image.original_height, static_cast<int>(std::ceil(w.y1 / sy)));
  return changed;
}

// The MoRF steps shared by both encodings: f(x^0), then at each step noise is pasted over the
// step's regions, the features each region can reach are re-extracted from the perturbed image and
// handed to update(features, indices), and rescore() gives f(x^k).
template <class Update, class Rescore>
std::vector<double> run_steps(const bow::GrayImage& image, const bow::DenseSift& sift, const std::vector<int>& order,
                              const PixelFlipOptions& options, double f0, Update&& update, Rescore&& rescore) {
  const RegionGrid grid(image.width, image.height, options.region_size);
  check_order(order, grid.size());
  const std::vector<float> noise = flip_fill(image, options);
  bow::GrayImage x = image;
  std::vector<double> curve;
  curve.reserve(static_cast<std::size_t>(options.steps) + 1);
  curve.push_back(f0);
  std::vector<std::size_t> indices;
  for (std::size_t k = 1; k <= static_cast<std::size_t>(options.steps); ++k) {
    const auto [begin, end] = step_range(k, options, order.size());
    if (begin == end) {  // nothing is left to flip
      curve.push_back(curve.back());
      continue;
    }
    for (std::size_t i = begin; i < end; ++i) paste_noise(x, noise, grid.box(order[i]));
    for (std::size_t i = begin; i < end; ++i) {
      indices.clear();
      const bow::FeatureTrace sub = sift.extract_region(x, original_box(image, grid.box(order[i])), &indices);
      if (!indices.empty()) update(sub, indices);
    }
    curve.push_back(rescore());
  }
  return curve;
}
}  // namespace

std::vector<double> IncrementalFlipper::replace_steps(
    const bow::GrayImage& image, const bow::DenseSift& sift, double f0, const std::vector<int>& order,
    const PixelFlipOptions& options,
    const std::function<double(const bow::FeatureTrace&, const std::vector<std::size_t>&)>& replace) const {
  // The features every region of a step reaches, replaced together once the step's regions are noise.
  std::vector<std::size_t> all;
  bow::FeatureTrace fresh;
  const auto update = [&](const bow::FeatureTrace& sub, const std::vector<std::size_t>& indices) {
    for (std::size_t j = 0; j < indices.size(); ++j) {
      all.push_back(indices[j]);
      fresh.frames.push_back(sub.frames[j]);
      fresh.descriptors.insert(fresh.descriptors.end(), sub.descriptor(j), sub.descriptor(j) + bow::FeatureTrace::kDim);
    }
  };
  const auto rescore = [&] {
    const double f = replace(fresh, all);
    all.clear();
    fresh = bow::FeatureTrace();
    return f;
  };
  return run_steps(image, sift, order, options, f0, update, rescore);
}

std::vector<double> IncrementalFlipper::steps(const bow::Pipeline& pipeline, const bow::GrayImage& image,
                                              const bow::EncodeTrace& trace, const std::vector<int>& order,
                                              const PixelFlipOptions& options) const {
  const bow::FeatureTrace& f0 = trace.features;
  const bow::Assignment& a0 = trace.assignment;
  if (a0.features() != f0.size())
    throw std::invalid_argument("IncrementalFlipper::flip_curve: the trace's assignment covers " +
                                std::to_string(a0.features()) + " of its " + std::to_string(f0.size()) + " features");
  const bow::DenseSift& sift = pipeline.sift();
  const bow::Mapper& mapper = pipeline.mapper();
  const bow::Pooler& pooler = pipeline.pooler();

  // The assignment kept padded (stride entries per feature) so that re-mapped features are
  // overwritten in place; compacted to compressed rows before each pooling.
  const std::size_t L = f0.size();
  std::size_t stride = 1;
  for (std::size_t l = 0; l < L; ++l) stride = std::max<std::size_t>(stride, a0.offsets[l + 1] - a0.offsets[l]);
  if (mapper.options().kind != bow::MappingKind::hard) {
    stride = std::max<std::size_t>(stride, static_cast<std::size_t>(mapper.options().neighbours));
  }
  std::vector<std::uint32_t> count(L);
  std::vector<std::int32_t> words(L * stride);
  std::vector<float> weights(L * stride);
  for (std::size_t l = 0; l < L; ++l) {
    const std::uint32_t b = a0.offsets[l], e = a0.offsets[l + 1];
    count[l] = e - b;
    std::copy(a0.words.begin() + b, a0.words.begin() + e, words.begin() + l * stride);
    std::copy(a0.weights.begin() + b, a0.weights.begin() + e, weights.begin() + l * stride);
  }
  bow::Assignment assignment;
  assignment.offsets.resize(L + 1);
  assignment.words.reserve(L * stride);
  assignment.weights.reserve(L * stride);

  // Re-mapped features overwrite their padded slots; the assignment is compacted before pooling.
  const auto update = [&](const bow::FeatureTrace& sub, const std::vector<std::size_t>& indices) {
    const bow::Assignment a = mapper.assign(sub.descriptors.data(), indices.size());
    for (std::size_t j = 0; j < indices.size(); ++j) {
      const std::size_t l = indices[j];
      const std::uint32_t b = a.offsets[j], e = a.offsets[j + 1];
      if (e - b > stride) {
        throw std::logic_error("IncrementalFlipper: feature " + std::to_string(l) + " maps to " +
                               std::to_string(e - b) + " words, more than the " + std::to_string(stride) +
                               " the mapping allows");
      }
      count[l] = e - b;
      std::copy(a.words.begin() + b, a.words.begin() + e, words.begin() + l * stride);
      std::copy(a.weights.begin() + b, a.weights.begin() + e, weights.begin() + l * stride);
    }
  };
  const auto rescore = [&] {
    assignment.words.clear();
    assignment.weights.clear();
    assignment.offsets[0] = 0;
    for (std::size_t l = 0; l < L; ++l) {
      assignment.words.insert(assignment.words.end(), words.begin() + l * stride,
                              words.begin() + l * stride + count[l]);
      assignment.weights.insert(assignment.weights.end(), weights.begin() + l * stride,
                                weights.begin() + l * stride + count[l]);
      assignment.offsets[l + 1] = static_cast<std::uint32_t>(assignment.words.size());
    }
    // Pooling reads only the frames (unchanged by flipping) and the assignment.
    // Pooling reads only the frames (unchanged by flipping) and the assignment.
    return score(pooler.pool(f0, assignment).histogram);
  };
  return run_steps(image, sift, order, options, score(trace.histogram()), update, rescore);
}

namespace {

// Orders of every curve: one per method, then the random orders.
struct Plan {
  std::vector<std::string> names;
  std::vector<std::vector<int>> orders;
};

Plan make_plan(const bow::GrayImage& image, const std::vector<FlipMethod>& methods, const PixelFlipOptions& options) {
  options.validate();
  const RegionGrid grid(image.width, image.height, options.region_size);
  Plan plan;
  const std::string lerf = "_lerf";
  for (const FlipMethod& m : methods) {
    if (m.name == "random" || m.name.empty() ||
        (m.name.size() >= lerf.size() && m.name.compare(m.name.size() - lerf.size(), lerf.size(), lerf) == 0)) {
      throw std::invalid_argument("pixel_flip: method name '" + m.name +
                                  "' is reserved or empty; expected e.g. \"lrp\" or \"occlusion\"");
    }
    if (std::find(plan.names.begin(), plan.names.end(), m.name) != plan.names.end()) {
      throw std::invalid_argument("pixel_flip: method '" + m.name + "' given twice");
    }
    const std::vector<double> sums = grid.aggregate(m.relevance, m.width, m.height);
    plan.names.push_back(m.name);
    plan.orders.push_back(relevance_order(sums));
    if (options.lerf) {
      plan.names.push_back(m.name + lerf);
      plan.orders.push_back(least_relevant_order(sums));
    }
  }
  for (int r = 0; r < options.random_orders; ++r) {
    plan.orders.push_back(random_order(grid.size(), order_seed(options.seed, r)));
  }
  return plan;
}

FlipCurves collect(const Plan& plan, std::vector<std::vector<double>>& curves) {
  FlipCurves out;
  for (std::size_t i = 0; i < plan.names.size(); ++i) out[plan.names[i]] = std::move(curves[i]);
  if (curves.size() > plan.names.size()) {
    std::vector<double> mean(curves[plan.names.size()].size(), 0.0);
    for (std::size_t i = plan.names.size(); i < curves.size(); ++i) {  // fixed order: deterministic
      for (std::size_t k = 0; k < mean.size(); ++k) mean[k] += curves[i][k];
    }
    const double n = static_cast<double>(curves.size() - plan.names.size());
    for (double& v : mean) v /= n;
    out["random"] = std::move(mean);
  }
  return out;
}

}  // namespace

FlipCurves pixel_flip(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::EncodeTrace& trace,
                      const std::vector<FlipMethod>& methods, const PixelFlipOptions& options) {
  const Plan plan = make_plan(image, methods, options);
  std::vector<std::vector<double>> curves(plan.orders.size());
  tbb::parallel_for(std::size_t{0}, plan.orders.size(), [&](std::size_t i) {
    curves[i] = flipper.flip_curve(image, trace, plan.orders[i], options);
  });
  return collect(plan, curves);
}

FlipCurves pixel_flip(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::Trace& trace,
                      const std::vector<FlipMethod>& methods, const PixelFlipOptions& options) {
  const Plan plan = make_plan(image, methods, options);
  std::vector<std::vector<double>> curves(plan.orders.size());
  tbb::parallel_for(std::size_t{0}, plan.orders.size(), [&](std::size_t i) {
    curves[i] = flipper.flip_curve(image, trace, plan.orders[i], options);
  });
  return collect(plan, curves);
}

FlipCurves pixel_flip(const ImageScore& score, const bow::GrayImage& image, const std::vector<FlipMethod>& methods,
                      const PixelFlipOptions& options) {
  const Plan plan = make_plan(image, methods, options);
  std::vector<std::vector<double>> curves(plan.orders.size());
  tbb::parallel_for(std::size_t{0}, plan.orders.size(), [&](std::size_t i) {
    curves[i] = flip_curve(image, plan.orders[i], options, score);
  });
  return collect(plan, curves);
}

void FlipSummary::add(const FlipCurves& curves) {
  for (const auto& [name, curve] : curves) {
    auto it = sums_.find(name);
    if (it == sums_.end()) {
      sums_[name] = {curve, 1};
      continue;
    }
    if (it->second.first.size() != curve.size()) {
      throw std::invalid_argument("FlipSummary::add: curve '" + name + "' has " + std::to_string(curve.size()) +
                                  " values but earlier ones had " + std::to_string(it->second.first.size()) +
                                  "; expected the same number of steps for every image");
    }
    for (std::size_t k = 0; k < curve.size(); ++k) it->second.first[k] += curve[k];
    ++it->second.second;
  }
}

std::vector<std::string> FlipSummary::names() const {
  std::vector<std::string> out;
  for (const auto& kv : sums_) out.push_back(kv.first);
  return out;
}

std::size_t FlipSummary::count(const std::string& name) const {
  auto it = sums_.find(name);
  return it == sums_.end() ? 0 : it->second.second;
}

std::vector<double> FlipSummary::mean_curve(const std::string& name) const {
  auto it = sums_.find(name);
  if (it == sums_.end()) {
    std::string known;
    for (const auto& kv : sums_) known += (known.empty() ? "" : ", ") + kv.first;
    throw std::invalid_argument("FlipSummary: no curve named '" + name + "'; known: " + (known.empty() ? "none" : known));
  }
  std::vector<double> mean = it->second.first;
  for (double& v : mean) v /= static_cast<double>(it->second.second);
  return mean;
}

}  // namespace bowlrp::evaluation
