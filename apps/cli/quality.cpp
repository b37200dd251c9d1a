#include "cli/quality.h"

#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/svm_relevance.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>
#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>

namespace bowlrp::apps {

std::vector<double> occlusion_map(const decompose::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                  const bow::EncodeTrace& trace, int patch, std::uint64_t seed) {
  const decompose::RegionGrid grid(image.width, image.height, patch);
  decompose::PixelFlipOptions o;
  o.region_size = patch;
  o.steps = 1;
  o.random_orders = 0;
  o.seed = seed;
  std::vector<double> drop(static_cast<std::size_t>(grid.size()));
  tbb::parallel_for(0, grid.size(), [&](int r) {
    const std::vector<double> c = flipper.flip_curve(image, trace, {r}, o);
    drop[static_cast<std::size_t>(r)] = c[0] - c[1];
  });
  // Spread each patch's drop over the original pixels whose centres fall in it.
  const int W = image.original_width, H = image.original_height;
  std::vector<int> region(static_cast<std::size_t>(W) * H);
  std::vector<std::size_t> count(drop.size(), 0);
  for (int y = 0; y < H; ++y) {
    const int wy = std::min(image.height - 1, static_cast<int>(std::floor((y + 0.5) * image.height / H)));
    for (int x = 0; x < W; ++x) {
      const int wx = std::min(image.width - 1, static_cast<int>(std::floor((x + 0.5) * image.width / W)));
      const int r = (wy / patch) * grid.cols() + wx / patch;
      region[static_cast<std::size_t>(y) * W + x] = r;
      ++count[static_cast<std::size_t>(r)];
    }
  }
  std::vector<double> map(region.size());
  for (std::size_t q = 0; q < map.size(); ++q) {
    const std::size_t r = static_cast<std::size_t>(region[q]);
    map[q] = drop[r] / static_cast<double>(count[r]);
  }
  return map;
}

std::vector<double> sensitivity_map(const svm::SvmModel& model, std::size_t cls, const bow::EncodeTrace& trace) {
  const std::vector<double>& h = trace.histogram();
  const std::size_t V = h.size(), S = model.support_size();
  std::vector<double> g(V, 0.0);
  const svm::Kernel& k = model.kernel();
  if (k.sum_decomposable()) {
    const std::vector<double>& coef = model.classes()[cls].coef;
    for (std::size_t d = 0; d < V; ++d) {
      const double w = k.weight(d);
      if (w == 0) continue;
      const double eps = 1e-7 * std::max(1e-3, h[d]);
      double sum = 0;
      for (std::size_t i = 0; i < S; ++i) {
        const double s = model.support_vector(i)[d];
        sum += coef[i] * (k.term(s, h[d] + eps) - k.term(s, h[d]));
      }
      g[d] = std::fabs(w * sum / eps);
    }
  } else {
    g = decompose::decision_gradient(model, cls, h.data());
    for (double& v : g) v = std::fabs(v);
  }
  const decompose::FeatureRelevance f = decompose::relevance_features(trace.features, trace.assignment, trace.pool, g);
  return decompose::relevance_pixels(trace.features, f.R).R;
}

QualityResult evaluate_explanation(const bow::Pipeline& pipeline, const decompose::Explainer& explainer,
                                   const decompose::IncrementalFlipper& flipper, const std::string& path,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions) {
  QualityResult res;
  try {
    const bow::GrayImage image = pipeline.load(path);
    const bow::EncodeTrace trace = pipeline.encode(image);
    const decompose::Explanation e = explainer.explain(trace, cls);
    const decompose::ConservationReport cr = decompose::check_conservation(e);
    res.conservation_error = std::fabs(cr.f - cr.sum_pixels - cr.absorbed - cr.unassigned_pixels -
                                       cr.unassigned_features) / std::max(1.0, std::fabs(cr.f));
    const int W = e.pixels.width, H = e.pixels.height;
    const std::vector<double> occ = occlusion_map(flipper, image, trace, options.occlusion_patch, options.seed);
    const std::vector<double> sens = sensitivity_map(explainer.model(), cls, trace);
    const std::vector<decompose::FlipMethod> methods = {{"lrp", W, H, e.pixels.R.data()},
                                                        {"sensitivity", W, H, sens.data()},
                                                        {"occlusion", W, H, occ.data()}};
    res.curves = decompose::pixel_flip(flipper, image, trace, methods, options.flip);
    if (regions)
      for (const auto& [name, mask] : regions(W, H)) {
        if (std::count(mask.values.begin(), mask.values.end(), 1) == 0) continue;
        res.localisation["lrp_" + name].push_back(decompose::localise(e.pixels, mask));
        res.localisation["sensitivity_" + name].push_back(decompose::localise(sens.data(), W, H, mask));
        res.localisation["occlusion_" + name].push_back(decompose::localise(occ.data(), W, H, mask));
      }
  } catch (const std::exception& ex) {
    res.error = ex.what();
  }
  return res;
}

void QualityTotals::add(const QualityResult& result) {
  if (!result.error.empty()) return;
  ++explained;
  flips.add(result.curves);
  for (const auto& [key, v] : result.localisation) localisation[key].insert(localisation[key].end(), v.begin(), v.end());
  max_conservation_error = std::max(max_conservation_error, result.conservation_error);
}

void QualityTotals::fill(ReportData* report, std::map<std::string, double>* aopc) const {
  if (!explained) return;
  report->flipping = report_curves(flips);
  if (aopc)
    for (const ReportCurve& rc : report->flipping) (*aopc)[rc.name] = rc.aopc;
  for (const auto& [key, v] : localisation) {
    const auto entries = report_localisation(key, decompose::summarise(v));
    report->localisation.insert(report->localisation.end(), entries.begin(), entries.end());
  }
}

std::string flipping_note(const QualityOptions& o, std::size_t explained) {
  return "MoRF of the explained class, " + std::to_string(o.flip.region_size) + "x" +
         std::to_string(o.flip.region_size) + " working-px regions replaced by uniform noise, " +
         std::to_string(o.flip.steps) + " steps, " + std::to_string(explained) +
         " (image, class) pairs; random = mean of " + std::to_string(o.flip.random_orders) +
         " seeded orders; sensitivity = |df/dh| passed down like LRP; occlusion = " + std::to_string(o.occlusion_patch) +
         " px patches, R = f(x) - f(x with the patch flipped)";
}

ReportPicture encode_picture(const decompose::Bgr8Image& image, int side, bool jpeg) {
  cv::Mat m(image.height, image.width, CV_8UC3, const_cast<unsigned char*>(image.data.data()));
  cv::Mat small = m;
  const int longer = std::max(image.width, image.height);
  if (longer > side) {
    const double s = double(side) / longer;
    cv::resize(m, small, cv::Size(std::max(1, int(std::lround(image.width * s))),
                                  std::max(1, int(std::lround(image.height * s)))),
               0, 0, cv::INTER_AREA);
  }
  std::vector<unsigned char> buf;
  ReportPicture p;
  if (jpeg) {
    cv::imencode(".jpg", small, buf, {cv::IMWRITE_JPEG_QUALITY, 85});
    p.mime = "image/jpeg";
  } else {
    cv::imencode(".png", small, buf);
    p.mime = "image/png";
  }
  p.bytes.assign(buf.begin(), buf.end());
  return p;
}

}  // namespace bowlrp::apps
