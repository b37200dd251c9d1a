#include <bowlrp/evaluation/faithfulness_correlation.h>

#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/random.h>

#include <tbb/parallel_for.h>

#include <cmath>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {

namespace {

std::vector<std::vector<int>> draw_subsets(int regions, const FaithfulnessOptions& options) {
  options.validate();
  if (options.regions > regions)
    throw std::invalid_argument("faithfulness correlation: " + std::to_string(options.regions) +
                                " regions per subset, but the grid has " + std::to_string(regions) +
                                "; expected at most that many (a smaller FaithfulnessOptions.regions or region size)");
  std::vector<std::vector<int>> subsets(static_cast<std::size_t>(options.subsets));
  for (std::size_t s = 0; s < subsets.size(); ++s) {
    const std::vector<int> order = random_order(regions, core::derived_seed(options.seed, s));
    subsets[s].assign(order.begin(), order.begin() + options.regions);
  }
  return subsets;
}

PixelFlipOptions one_step(const PixelFlipOptions& flip, const FaithfulnessOptions& options) {
  PixelFlipOptions o = flip;
  o.steps = 1;
  o.regions_per_step = options.regions;
  o.random_orders = 0;
  o.lerf = false;
  return o;
}

}  // namespace

void FaithfulnessOptions::validate() const {
  if (subsets < 2)
    throw std::invalid_argument("FaithfulnessOptions.subsets = " + std::to_string(subsets) +
                                "; expected at least 2 (a correlation needs two points)");
  if (regions < 1)
    throw std::invalid_argument("FaithfulnessOptions.regions = " + std::to_string(regions) + "; expected >= 1");
}

SubsetDrops subset_drops(const IncrementalFlipper& flipper, const bow::GrayImage& image, const bow::Trace& trace,
                         const PixelFlipOptions& flip, const FaithfulnessOptions& options) {
  SubsetDrops out;
  out.subsets = draw_subsets(RegionGrid(image.width, image.height, flip.region_size).size(), options);
  const PixelFlipOptions o = one_step(flip, options);
  out.drops.resize(out.subsets.size());
  tbb::parallel_for(std::size_t{0}, out.subsets.size(), [&](std::size_t s) {
    const std::vector<double> c = flipper.flip_curve(image, trace, out.subsets[s], o);
    out.drops[s] = c[0] - c[1];
  });
  return out;
}

SubsetDrops subset_drops(const ImageScore& score, const bow::GrayImage& image, const PixelFlipOptions& flip,
                         const FaithfulnessOptions& options) {
  SubsetDrops out;
  out.subsets = draw_subsets(RegionGrid(image.width, image.height, flip.region_size).size(), options);
  const PixelFlipOptions o = one_step(flip, options);
  out.drops.resize(out.subsets.size());
  tbb::parallel_for(std::size_t{0}, out.subsets.size(), [&](std::size_t s) {
    const std::vector<double> c = flip_curve(image, out.subsets[s], o, score);
    out.drops[s] = c[0] - c[1];
  });
  return out;
}

double pearson_correlation(const std::vector<double>& a, const std::vector<double>& b) {
  if (a.size() != b.size() || a.size() < 2)
    throw std::invalid_argument("pearson_correlation: series of " + std::to_string(a.size()) + " and " +
                                std::to_string(b.size()) + " values; expected two of the same length >= 2");
  double ma = 0, mb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!std::isfinite(a[i]) || !std::isfinite(b[i]))
      throw std::invalid_argument("pearson_correlation: value " + std::to_string(i) + " is not finite (" +
                                  core::format_real(a[i]) + ", " + core::format_real(b[i]) + ")");
    ma += a[i];
    mb += b[i];
  }
  ma /= static_cast<double>(a.size());
  mb /= static_cast<double>(b.size());
  double sab = 0, saa = 0, sbb = 0;
  for (std::size_t i = 0; i < a.size(); ++i) {
    sab += (a[i] - ma) * (b[i] - mb);
    saa += (a[i] - ma) * (a[i] - ma);
    sbb += (b[i] - mb) * (b[i] - mb);
  }
  if (saa == 0 || sbb == 0) return 0.0;
  return sab / std::sqrt(saa * sbb);
}

double faithfulness_correlation(const SubsetDrops& drops, const RegionGrid& grid, const double* relevance, int width,
                                int height) {
  const std::vector<double> sums = grid.aggregate(relevance, width, height);
  std::vector<double> r(drops.subsets.size(), 0.0);
  for (std::size_t s = 0; s < r.size(); ++s)
    for (int region : drops.subsets[s]) {
      if (region < 0 || region >= grid.size())
        throw std::invalid_argument("faithfulness_correlation: region " + std::to_string(region) +
                                    " is outside the grid of " + std::to_string(grid.size()) + " regions");
      r[s] += sums[static_cast<std::size_t>(region)];
    }
  return pearson_correlation(r, drops.drops);
}

}  // namespace bowlrp::evaluation
