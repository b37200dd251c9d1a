#include <bowlrp/evaluation/folder_evaluation.h>

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/evaluation/localisation.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <stdexcept>

namespace bowlrp::evaluation {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

using core::seconds_since;

// The default mask folder: DATA/../masks when DATA is named "images" (the demo's layout).
std::string default_masks(const std::string& data) {
  fs::path p = fs::u8path(data);
  if (p.filename().empty()) p = p.parent_path();
  if (p.filename() != "images") return {};
  const fs::path m = p.parent_path() / "masks";
  std::error_code ec;
  return fs::is_directory(m, ec) ? m.u8string() : std::string();
}

}  // namespace

const core::OptionSchema<FolderEvaluationOptions>& FolderEvaluationOptions::schema() {
  using O = FolderEvaluationOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::text_option<O>("masks", "--masks",
                                     "object masks MASKS/<class>/<stem>.png, non-zero = object (empty: DATA/../masks when "
                                     "DATA is named images)",
                                     [](O& o) -> std::string& { return o.masks; }));
    s.push_back(core::bool_option<O>("no_masks", "--no-masks", "do not localise in masks, even where found",
                                     [](O& o) -> bool& { return o.no_masks; }));
    s.push_back(core::integer_option<O>("explain", "--explain", "images per class measured by pixel flipping (0: none)",
                                        [](O& o) -> int& { return o.explain; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("gallery", "--gallery", "images per class whose heatmaps are kept",
                                        [](O& o) -> int& { return o.gallery; }, OptionRange::at_least(0)));
    core::append_nested(&s, QualityOptions::schema(), [](O& o) -> QualityOptions& { return o.quality; });
    s.push_back(core::integer_option<O>("threads", "", "worker threads (0: all cores)",
                                        [](O& o) -> int& { return o.threads; }, OptionRange::at_least(0)));
    s.push_back(core::text_option<O>("cache_dir", "", "histogram cache ('': none)",
                                     [](O& o) -> std::string& { return o.cache_dir; }));
    return s;
  }();
  return schema;
}

void FolderEvaluationOptions::validate() const {
  core::check_path_text(cache_dir, "FolderEvaluationOptions.cache_dir");
  if (explain < 0)
    throw std::invalid_argument("FolderEvaluationOptions.explain = " + std::to_string(explain) + ": expected a count >= 0");
  if (gallery < 0)
    throw std::invalid_argument("FolderEvaluationOptions.gallery = " + std::to_string(gallery) + ": expected a count >= 0");
  quality.validate();
  core::validate_threads(threads, "FolderEvaluationOptions.threads");
  if (!masks.empty()) {
    std::error_code ec;
    if (!fs::is_directory(fs::u8path(masks), ec))
      throw std::invalid_argument("mask folder '" + masks + "' is not a folder: expected MASKS/<class>/<stem>.png");
  }
}

evaluation::RegionMask load_object_mask(const std::string& masks, const std::string& class_name,
                                       const std::string& image_path, int width, int height) {
  evaluation::RegionMask r;
  if (masks.empty()) return r;
  const fs::path file = fs::u8path(masks) / fs::u8path(class_name) / (fs::u8path(image_path).stem().u8string() + ".png");
  std::error_code ec;
  if (!fs::exists(file, ec)) return r;
  const std::string path = file.u8string();
  const std::string bytes = core::read_file(path);
  const cv::Mat m = bow::imdecode(cv::Mat(1, static_cast<int>(bytes.size()), CV_8UC1, const_cast<char*>(bytes.data())),
                                 cv::IMREAD_GRAYSCALE);
  if (m.empty()) throw std::runtime_error("cannot decode the object mask '" + path + "': expected a PNG");
  if (m.cols != width || m.rows != height)
    throw std::runtime_error("the object mask '" + path + "' is " + std::to_string(m.cols) + "x" +
                             std::to_string(m.rows) + " px: expected the image's " + std::to_string(width) + "x" +
                             std::to_string(height));
  r.width = m.cols;
  r.height = m.rows;
  r.values.resize(static_cast<std::size_t>(m.cols) * m.rows);
  for (int y = 0; y < m.rows; ++y)
    for (int x = 0; x < m.cols; ++x)
      r.values[static_cast<std::size_t>(y) * m.cols + x] = m.at<unsigned char>(y, x) > 0;
  return r;
}

void FolderEvaluation::one_vs_rest(std::size_t c, std::vector<double>* s, std::vector<int>* y) const {
  const std::size_t C = classes.size();
  s->clear();
  y->clear();
  for (std::size_t i = 0; i < paths.size(); ++i) {
    if (!ok[i]) continue;
    s->push_back(scores[i * C + c]);
    y->push_back(truth[i] == c ? 1 : -1);
  }
}

FolderEvaluation evaluate_folder(const model::Model& model, const std::string& data,
                                 const FolderEvaluationOptions& options, const core::ProgressFn& progress) {
  return evaluate_folder(model, datasets::FolderDataset::scan(data), data, options, progress);
}

FolderEvaluation evaluate_folder(const model::Model& model, const datasets::FolderDataset& set, const std::string& data,
                                 const FolderEvaluationOptions& options, const core::ProgressFn& progress) {
  options.validate();
  const auto t_start = Clock::now();
  FolderEvaluation ev;
  ev.classes = model.class_names();
  const std::size_t C = ev.classes.size();
  // The set's class folders in the model's class order.
  std::vector<std::size_t> to_model(set.classes.size());
  for (std::size_t k = 0; k < set.classes.size(); ++k) {
    try {
      to_model[k] = model.class_index(set.classes[k]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("class folder '" + set.classes[k] + "' of '" + data + "': " + e.what());
    }
  }
  for (const auto& p : set.problems) ev.failures.push_back({p.path, p.reason});
  ev.masks = options.no_masks ? std::string() : options.masks.empty() ? default_masks(data) : options.masks;
  const std::size_t n = set.images.size();
  for (const auto& im : set.images) {
    ev.paths.push_back(im.path);
    ev.truth.push_back(to_model[static_cast<std::size_t>(im.label)]);
  }
  ev.scores.assign(n * C, 0.0);
  ev.predicted.assign(n, 0);
  ev.ok.assign(n, 0);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  ev.relevance_in_mask.assign(n, nan);
  ev.mask_area.assign(n, nan);
  std::vector<double> error(n, 0.0);
  std::vector<std::string> errors(n);
  // The first `gallery` images of each class keep their heatmaps.
  std::vector<char> keep(n, 0);
  {
    std::vector<int> seen(C, 0);
    for (std::size_t i = 0; i < n; ++i) keep[i] = seen[ev.truth[i]]++ < options.gallery;
  }
  std::vector<FolderEvaluation::GalleryItem> kept(n);
  const decompose::Explainer explainer = model.explainer(options.quality.composite);

  auto t0 = Clock::now();
  core::for_each_index(n, options.threads, "predict + explain", progress, [&](std::size_t i) {
    try {
      const std::string bytes = core::read_file(ev.paths[i]);  // one read for the pipeline and the gallery
      const model::Trace trace = model.encode_bytes(bytes, ev.paths[i]);
      const std::vector<double> f = model.scores(trace);
      std::copy(f.begin(), f.end(), ev.scores.begin() + i * C);
      ev.predicted[i] = model::top_class(f);
      const decompose::Explanation e = explainer.explain(trace, ev.truth[i]);
      const decompose::ConservationReport rep = decompose::check_conservation(e);
      error[i] = rep.end_to_end_error();
      const evaluation::RegionMask mask =
          load_object_mask(ev.masks, ev.classes[ev.truth[i]], ev.paths[i], e.pixels.width, e.pixels.height);
      if (mask.width > 0) {
        const evaluation::Localisation loc = evaluation::localise(e.pixels, mask);
        ev.relevance_in_mask[i] = loc.relevance_share;
        ev.mask_area[i] = loc.area_share;
      }
      if (keep[i]) {
        kept[i].index = i;
        kept[i].relevance = e.pixels;
        kept[i].image = render::decode_bgr8(bytes, ev.paths[i]);
      }
      ev.ok[i] = 1;
    } catch (const std::exception& ex) {
      errors[i] = ex.what();
    }
  });
  ev.timings.emplace_back("predict + explain", seconds_since(t0));
  for (std::size_t i = 0; i < n; ++i) {
    if (!ev.ok[i]) {
      ev.failures.push_back({ev.paths[i], errors[i]});
      continue;
    }
    if (keep[i]) ev.gallery.push_back(std::move(kept[i]));
  }

  // Accuracy, confusion, AP.
  ev.confusion.assign(C * C, 0);
  std::size_t right = 0, readable = 0, masked = 0;
  double in_mask = 0, area = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (!ev.ok[i]) continue;
    ++readable;
    right += ev.predicted[i] == ev.truth[i];
    ++ev.confusion[ev.truth[i] * C + ev.predicted[i]];
    ev.max_conservation_error = std::max(ev.max_conservation_error, error[i]);
    if (!std::isnan(ev.relevance_in_mask[i])) {
      ++masked;
      in_mask += ev.relevance_in_mask[i];
      area += ev.mask_area[i];
    }
  }
  ev.accuracy = readable ? double(right) / readable : 0.0;
  ev.masked_images = masked;
  ev.mean_relevance_in_mask = masked ? in_mask / masked : 0.0;
  ev.mean_mask_area = masked ? area / masked : 0.0;
  std::vector<double> with_positives, with_positives_area;
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<double> s;
    std::vector<int> y;
    ev.one_vs_rest(c, &s, &y);
    const datasets::PrCurve curve = datasets::precision_recall(s, y);
    ev.ap.push_back(datasets::voc07_ap(curve));
    ev.ap_area.push_back(datasets::voc_area_ap(curve));
    if (curve.positives) {
      with_positives.push_back(ev.ap.back());
      with_positives_area.push_back(ev.ap_area.back());
    }
  }
  ev.map = with_positives.empty() ? 0.0 : datasets::mean_ap(with_positives);
  ev.map_area = with_positives_area.empty() ? 0.0 : datasets::mean_ap(with_positives_area);

  // Explanation quality on the first `explain` readable images of each class.
  std::vector<QualityJob> jobs;
  {
    std::vector<int> seen(C, 0);
    for (std::size_t i = 0; i < n; ++i) {
      if (!ev.ok[i] || seen[ev.truth[i]]++ >= options.explain) continue;
      ev.explained_images.push_back(i);
      const std::string masks = ev.masks, cname = ev.classes[ev.truth[i]], path = ev.paths[i];
      RegionsFn regions;
      if (!masks.empty())
        regions = [masks, cname, path](int W, int H) {
          std::vector<std::pair<std::string, evaluation::RegionMask>> out;
          evaluation::RegionMask m = load_object_mask(masks, cname, path, W, H);
          if (m.width > 0) out.emplace_back("masks", std::move(m));
          return out;
        };
      jobs.push_back({path, ev.truth[i], regions});
    }
  }
  t0 = Clock::now();
  ev.quality_results = evaluate_explanations(model, jobs, options.quality, options.threads, progress);
  if (!jobs.empty()) ev.timings.emplace_back("pixel flipping + occlusion", seconds_since(t0));
  for (std::size_t k = 0; k < ev.quality_results.size(); ++k) {
    ev.quality.add(ev.quality_results[k]);
    ev.quality_per_class[ev.classes[ev.truth[ev.explained_images[k]]]].add(ev.quality_results[k]);
  }
  ev.timings.emplace_back("total", seconds_since(t_start));
  return ev;
}

}  // namespace bowlrp::evaluation
