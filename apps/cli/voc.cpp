#include "cli/voc.h"

#include "cli/commands.h"
#include "cli/common.h"
#include "cli/json_out.h"
#include "cli/quality.h"

#include "report/report.h"

#include <bowlrp/bow/io.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/explain.h>
#include <bowlrp/decompose/heatmap.h>
#include <bowlrp/decompose/localisation.h>
#include <bowlrp/decompose/pixel_flipping.h>
#include <bowlrp/svm/classifier.h>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <sstream>
#include <stdexcept>

namespace bowlrp::apps {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

// Seeded permutation of 0..n-1 (mt19937_64 is specified bit for bit, so this is portable).
std::vector<std::size_t> seeded_order(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix(seed));
  for (std::size_t i = n; i > 1; --i) std::swap(order[i - 1], order[rng() % i]);
  return order;
}

// The VocSet restricted to the chosen images (ids keep their list order).
datasets::VocSet subset(const datasets::VocSet& set, const std::vector<std::size_t>& keep) {
  datasets::VocSet out = set;
  out.ids.clear();
  out.labels.clear();
  const std::size_t C = set.classes.size();
  for (std::size_t i : keep) {
    out.ids.push_back(set.ids[i]);
    out.labels.insert(out.labels.end(), set.labels.begin() + i * C, set.labels.begin() + (i + 1) * C);
  }
  return out;
}

std::string join(const std::vector<std::string>& v, const std::string& sep) {
  std::string s;
  for (std::size_t i = 0; i < v.size(); ++i) s += (i ? sep : "") + v[i];
  return s;
}

}  // namespace

void VocArgs::validate() const {
  auto bad = [](const std::string& flag, const std::string& value, const std::string& expected) {
    throw std::invalid_argument(flag + " '" + value + "': expected " + expected);
  };
  if (root.empty()) bad("--root", root, "the VOC2007 folder (.../VOCdevkit/VOC2007)");
  if (out.empty()) bad("--out", out, "an output folder");
  if (test_set.empty()) bad("--test-set", test_set, "an image set name such as val");
  if (model.empty() && train_set.empty()) bad("--train-set", train_set, "an image set name such as train");
  if (explain < 0) bad("--explain", std::to_string(explain), "a count >= 0");
  if (flip_steps < 1) bad("--flip-steps", std::to_string(flip_steps), "a count >= 1");
  if (flip_region < 1) bad("--flip-region", std::to_string(flip_region), "a side in px >= 1");
  if (random_orders < 0) bad("--random-orders", std::to_string(random_orders), "a count >= 0");
  if (occlusion_patch < 1) bad("--occlusion-patch", std::to_string(occlusion_patch), "a side in px >= 1");
  if (gallery < 0) bad("--gallery", std::to_string(gallery), "a count >= 0");
  run.validate();
}

std::vector<std::size_t> choose_images(const std::vector<int>& labels, std::size_t classes, std::size_t n,
                                       std::uint64_t seed) {
  if (classes == 0 || labels.size() % classes != 0)
    throw std::invalid_argument("choose_images: " + std::to_string(labels.size()) + " labels do not fill " +
                                std::to_string(classes) + " classes");
  const std::size_t N = labels.size() / classes;
  std::vector<std::size_t> all(N);
  std::iota(all.begin(), all.end(), 0);
  if (n == 0 || n >= N) return all;
  const std::vector<std::size_t> order = seeded_order(N, seed);
  std::vector<char> taken(N, 0);
  std::size_t count = 0;
  const std::size_t quota = std::max<std::size_t>(1, n / (2 * classes));
  std::vector<std::size_t> next(classes, 0);  // position in `order` each class has searched to
  for (std::size_t round = 0; round < quota && count < n; ++round) {
    for (std::size_t c = 0; c < classes && count < n; ++c) {
      std::size_t& k = next[c];
      while (k < N && (taken[order[k]] || labels[order[k] * classes + c] != 1)) ++k;
      if (k < N) {
        taken[order[k]] = 1;
        ++count;
      }
    }
  }
  for (std::size_t k = 0; k < N && count < n; ++k)
    if (!taken[order[k]]) {
      taken[order[k]] = 1;
      ++count;
    }
  std::vector<std::size_t> out;
  for (std::size_t i = 0; i < N; ++i)
    if (taken[i]) out.push_back(i);
  return out;
}

std::vector<std::size_t> choose_positives(const std::vector<int>& labels, std::size_t classes, std::size_t c,
                                          const std::vector<char>& usable, std::size_t n, std::uint64_t seed) {
  if (classes == 0 || c >= classes || labels.size() != usable.size() * classes)
    throw std::invalid_argument("choose_positives: labels (" + std::to_string(labels.size()) + "), images (" +
                                std::to_string(usable.size()) + ") and class " + std::to_string(c) + " of " +
                                std::to_string(classes) + " do not fit");
  const std::vector<std::size_t> order = seeded_order(usable.size(), seed ^ mix(c + 1));
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < order.size() && out.size() < n; ++k) {
    const std::size_t i = order[k];
    if (usable[i] && labels[i * classes + c] == 1) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Occlusion sensitivity on a coarse grid of the working image, through the incremental path:
// R(P) = f(x) - f(x with P replaced by the flipping noise), spread uniformly over the original
// pixels whose centres fall in P (the rule RegionGrid::aggregate uses), so the map is at the
// original size like the LRP map.
std::vector<std::string> read_id_list(const std::string& path) {
  std::ifstream in(fs::u8path(path));
  if (!in) throw std::runtime_error("cannot read the id list '" + path + "'");
  std::vector<std::string> ids;
  std::string line;
  while (std::getline(in, line)) {
    const auto b = line.find_first_not_of(" \t\r");
    if (b == std::string::npos) continue;
    const auto e = line.find_last_not_of(" \t\r");
    ids.push_back(line.substr(b, e - b + 1));
  }
  return ids;
}

VocSummary run_voc(const VocArgs& args) {
  args.validate();
  const auto t_start = Clock::now();
  const fs::path out = fs::u8path(args.out);
  fs::create_directories(out);
  RunOptions run = args.run;
  if (!args.no_cache) run.cache_dir = args.cache.empty() ? (out / "cache").u8string() : args.cache;
  const std::uint64_t seed = args.pipeline.seed;
  VocSummary summary;
  std::vector<ReportTiming> timings;
  auto timing = [&](const std::string& stage, double s, std::size_t items) {
    timings.push_back({stage, s, items});
    summary.timings.emplace_back(stage, s);
  };

  // Person boxes known to be missing (box-based scores of person skip these images).
  std::string missing_path = args.person_boxes_missing;
  if (missing_path.empty()) {
    const fs::path guess = (fs::u8path(args.root) / ".." / ".." / "person_boxes_missing.txt").lexically_normal();
    std::error_code ec;
    if (fs::exists(guess, ec)) missing_path = guess.u8string();
  }
  std::set<std::string> person_missing;
  if (!missing_path.empty())
    for (const std::string& id : read_id_list(missing_path)) person_missing.insert(id);

  // --- model -------------------------------------------------------------------------------
  svm::Classifier classifier;
  std::vector<std::string> classes = split_csv(args.classes);
  StageTimes stage_times;
  if (!args.model.empty()) {
    const auto t0 = Clock::now();
    classifier = svm::load_classifier(args.model);
    if (classes.empty())
      for (const auto& c : classifier.svm.classes()) classes.push_back(c.name);
    for (const std::string& c : classes) classifier.svm.class_index(c);  // throws for a class the model lacks
    timing("load model", seconds_since(t0), 0);
  } else {
    const datasets::VocSet full = datasets::VocSet::load(args.root, args.train_set, classes);
    const datasets::VocSet train = subset(full, choose_images(full.labels, full.classes.size(), args.max_images, seed));
    classes = train.classes;
    TrainingData data;
    data.class_names = train.classes;
    for (const std::string& id : train.ids) data.paths.push_back(train.image_path(id));
    data.labels = train.labels;
    summary.train_images = data.paths.size();
    const bow::PipelineOptions options = args.pipeline.pipeline_options();
    if (!run.quiet)
      std::fprintf(stderr, "training on %zu '%s' images, %zu classes, K = %d\n", data.paths.size(),
                   args.train_set.c_str(), classes.size(), options.kmeans.words);
    std::vector<std::pair<std::string, std::string>> skipped;
    classifier = train_classifier(data, options, args.pipeline.kernel_spec(), args.pipeline.train_options(), run,
                                  &skipped, &stage_times);
    for (const auto& [p, why] : skipped) print_skipped(p, why);
    summary.skipped_train_images = skipped.size();
    timing("codebook sample", stage_times.codebook_extract, 0);
    timing("k-means", stage_times.kmeans, 0);
    timing("encode train", stage_times.encode, data.paths.size());
    timing("train SVMs", stage_times.svm, classes.size());
  }
  svm::save_classifier((out / "model.bowlrp").u8string(), classifier);
  const svm::SvmModel& model = classifier.svm;
  const bow::Pipeline pipeline(classifier.options, classifier.codebook);

  // --- score the test set --------------------------------------------------------------------
  const datasets::VocSet test_full = datasets::VocSet::load(args.root, args.test_set, classes);
  const datasets::VocSet test =
      subset(test_full, choose_images(test_full.labels, test_full.classes.size(), args.max_images, seed ^ 0x7e57));
  classes = test.classes;  // VOC order
  const std::size_t C = classes.size(), N = test.ids.size();
  std::vector<std::size_t> model_class(C);
  for (std::size_t c = 0; c < C; ++c) model_class[c] = model.class_index(classes[c]);
  std::vector<std::string> test_paths;
  for (const std::string& id : test.ids) test_paths.push_back(test.image_path(id));
  auto t0 = Clock::now();
  const EncodedSet encoded = encode_images(pipeline, test_paths, run, "encode test");
  timing("encode test", seconds_since(t0), N);
  t0 = Clock::now();
  std::vector<std::size_t> good;
  for (std::size_t i = 0; i < N; ++i)
    if (encoded.ok[i]) good.push_back(i);
  std::vector<double> X(good.size() * encoded.dim);
  for (std::size_t k = 0; k < good.size(); ++k)
    std::copy(encoded.row(good[k]), encoded.row(good[k]) + encoded.dim, X.begin() + k * encoded.dim);
  const std::vector<double> F = model.decision_batch(X.data(), good.size(), run.threads);
  const std::size_t MC = model.classes().size();
  // scores[c][i]; an unreadable image gets -inf, the devkit's value for a missing result.
  std::vector<std::vector<double>> scores(C, std::vector<double>(N, -std::numeric_limits<double>::infinity()));
  for (std::size_t k = 0; k < good.size(); ++k)
    for (std::size_t c = 0; c < C; ++c) scores[c][good[k]] = F[k * MC + model_class[c]];
  timing("score test", seconds_since(t0), N);
  summary.test_images = N;
  summary.failed_images = encoded.failures.size();
  for (const auto& [p, why] : encoded.failures) std::fprintf(stderr, "unreadable test image %s: %s\n", p.c_str(), why.c_str());

  ReportData report;
  report.title = "bowlrp on PASCAL VOC2007: " + args.train_set + " -> " + args.test_set;
  const fs::path results = out / "results";
  for (std::size_t c = 0; c < C; ++c) {
    std::vector<int> labels(N);
    for (std::size_t i = 0; i < N; ++i) labels[i] = test.label(i, c);
    ReportClass rc = report_class(classes[c], scores[c], labels);
    summary.ap.push_back(rc.ap);
    summary.ap_area.push_back(rc.ap_area);
    report.classes.push_back(std::move(rc));
    datasets::write_voc_results(results.u8string(), args.test_set, classes[c], test.ids, scores[c]);
  }
  summary.classes = classes;
  summary.map = datasets::mean_ap(summary.ap);
  summary.map_area = datasets::mean_ap(summary.ap_area);

  // --- explanations ---------------------------------------------------------------------------
  decompose::PixelFlipOptions fopts;
  fopts.region_size = args.flip_region;
  fopts.steps = args.flip_steps;
  fopts.random_orders = args.random_orders;
  fopts.seed = seed;
  fopts.validate();
  const decompose::Explainer explainer(model);
  std::vector<decompose::IncrementalFlipper> flippers;
  for (std::size_t c = 0; c < C; ++c) flippers.emplace_back(pipeline, model, model_class[c]);
  const auto& voc_names = datasets::voc_classes();

  std::vector<std::pair<std::size_t, std::size_t>> jobs;  // (class, image)
  if (args.explain > 0)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t i : choose_positives(test.labels, C, c, encoded.ok, static_cast<std::size_t>(args.explain), seed))
        jobs.emplace_back(c, i);
  QualityOptions qopts;
  qopts.flip = fopts;
  qopts.occlusion_patch = args.occlusion_patch;
  qopts.seed = seed;
  std::vector<QualityResult> job_results(jobs.size());
  t0 = Clock::now();
  if (!jobs.empty()) {
    for_each_item(jobs.size(), run, "explain + flip", [&](std::size_t j) {
      const auto [c, i] = jobs[j];
      const std::string& id = test.ids[i];
      // The class's boxes (unless people lack boxes there) and, where there is one, its class mask.
      const RegionsFn regions = [&, c = c](int W, int H) {
        std::vector<std::pair<std::string, decompose::RegionMask>> out;
        if (!(classes[c] == "person" && person_missing.count(id))) {
          const datasets::VocAnnotation ann = datasets::load_voc_annotation(args.root, id);
          std::vector<bow::Box> boxes;
          for (const auto& o : ann.objects)
            if (o.name == classes[c]) boxes.push_back(decompose::voc_box_to_pixels(o.xmin, o.ymin, o.xmax, o.ymax));
          if (!boxes.empty()) out.emplace_back("boxes", decompose::mask_from_boxes(W, H, boxes));
        }
        std::error_code ec;
        if (fs::exists(fs::u8path(args.root) / "SegmentationClass" / (id + ".png"), ec)) {
          const datasets::ClassMask cm = datasets::load_voc_class_mask(args.root, id);
          if (cm.width == W && cm.height == H) {
            const auto pos = std::find(voc_names.begin(), voc_names.end(), classes[c]) - voc_names.begin();
            out.emplace_back("masks",
                             decompose::mask_from_labels(W, H, cm.labels.data(), static_cast<unsigned char>(pos + 1)));
          }
        }
        return out;
      };
      job_results[j] =
          evaluate_explanation(pipeline, explainer, flippers[c], test_paths[i], model_class[c], qopts, regions);
    });
  }
  const double explain_seconds = seconds_since(t0);
  if (!jobs.empty()) timing("explain + flip + occlusion", explain_seconds, jobs.size());

  QualityTotals totals;
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    const QualityResult& res = job_results[j];
    if (!res.error.empty())
      std::fprintf(stderr, "explanation of %s for %s failed: %s\n", test.ids[jobs[j].second].c_str(),
                   classes[jobs[j].first].c_str(), res.error.c_str());
    totals.add(res);
  }
  const std::size_t explained = totals.explained;
  summary.max_conservation_error = totals.max_conservation_error;
  totals.fill(&report, &summary.aopc);
  summary.localisation = report.localisation;
  report.flipping_note = flipping_note(qopts, explained);

  // --- gallery -------------------------------------------------------------------------------
  t0 = Clock::now();
  struct GalleryJob {
    std::string group;
    std::size_t c, i;
  };
  std::vector<GalleryJob> gjobs;
  if (args.gallery > 0) {
    const std::size_t G = static_cast<std::size_t>(args.gallery);
    const char* groups[] = {"top-scoring true positives", "highest-scoring false positives", "lowest-scoring positives"};
    for (int g = 0; g < 3; ++g)
      for (std::size_t c = 0; c < C; ++c) {
        std::vector<std::size_t> idx;
        for (std::size_t i : good) {
          const int y = test.label(i, c);
          if ((g == 1 && y == -1) || (g != 1 && y == 1)) idx.push_back(i);
        }
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
          return g == 2 ? scores[c][a] < scores[c][b] : scores[c][a] > scores[c][b];
        });
        for (std::size_t k = 0; k < std::min(G, idx.size()); ++k) gjobs.push_back({groups[g], c, idx[k]});
      }
  }
  std::vector<ReportGalleryItem> gallery(gjobs.size());
  if (!gjobs.empty()) {
    decompose::HeatmapOptions hopts;
    hopts.scaling = decompose::HeatmapScaling::percentile;
    hopts.percentile = 99.5;
    for_each_item(gjobs.size(), run, "gallery", [&](std::size_t k) {
      const GalleryJob& gj = gjobs[k];
      ReportGalleryItem& item = gallery[k];
      item.group = gj.group;
      item.id = test.ids[gj.i];
      item.class_name = classes[gj.c];
      item.score = scores[gj.c][gj.i];
      item.label = test.label(gj.i, gj.c);
      try {
        const std::string bytes = bow::read_file(test_paths[gj.i]);  // one read for pipeline and picture
        const bow::EncodeTrace trace = pipeline.encode_bytes(bytes, test_paths[gj.i]);
        const decompose::Explanation e = explainer.explain(trace, model_class[gj.c]);
        const decompose::Bgr8Image image = decompose::decode_bgr8(bytes, test_paths[gj.i]);
        item.image = encode_picture(image, 240, true);
        item.heatmap = encode_picture(decompose::render_heatmap(e.pixels, hopts, &image), 240, false);
      } catch (const std::exception& ex) {
        item.note = std::string("no heatmap: ") + ex.what();
      }
    });
    timing("gallery", seconds_since(t0), gjobs.size());
  }
  report.gallery = std::move(gallery);

  // --- report ---------------------------------------------------------------------------------
  const double total = seconds_since(t_start);
  timing("total", total, 0);
  report.timings = timings;
  const bow::PipelineOptions& po = classifier.options;
  std::string bins;
  for (int b : po.dsift.bin_sizes) bins += (bins.empty() ? "" : ",") + std::to_string(b);
  std::string pyr;
  for (const auto& l : po.pooling.pyramid)
    pyr += (pyr.empty() ? "" : ",") + std::to_string(l.cols) + "x" + std::to_string(l.rows);
  report.settings = {
      {"root", args.root},
      {"train set", args.model.empty() ? args.train_set : "(model " + args.model + ")"},
      {"test set", args.test_set},
      {"classes", join(classes, ", ")},
      {"images", std::to_string(summary.train_images) + " train, " + std::to_string(N) + " test" +
                     (args.max_images ? " (--max-images " + std::to_string(args.max_images) + ")" : "")},
      {"codebook", std::to_string(po.kmeans.words) + " words, seed " + std::to_string(po.kmeans.seed)},
      {"dense SIFT",
       "step " + std::to_string(po.dsift.step) + ", bins " + bins + ", max side " + std::to_string(po.image.max_side)},
      {"mapping / pooling", bow::to_string(po.mapping.kind) +
                                ", p = " + (po.pooling.is_max() ? std::string("inf") : std::to_string(po.pooling.p)) +
                                ", pyramid " + pyr + ", " + bow::to_string(po.pooling.normalisation)},
      {"kernel",
       svm::to_string(model.kernel().type) + ", " + std::to_string(model.support_size()) + " support vectors"},
      {"explained", std::to_string(explained) + " (class, image) pairs"}};
  if (!person_missing.empty())
    report.notes.push_back("Box-based localisation of person skips the " + std::to_string(person_missing.size()) +
                           " images listed in " + missing_path + " (people without boxes).");
  report.notes.push_back("Localisation: share of positive relevance inside the class's boxes / class mask vs the "
                         "region's area share; pointing game with 15 px tolerance (Zhang et al. 2016).");
  if (explained)
    report.notes.push_back("Worst relative conservation error of the explained maps: " +
                           std::to_string(summary.max_conservation_error));
  nlohmann::json j = report_json(report);
  j["classes"] = classes;
  j["train_images"] = summary.train_images;
  j["test_images"] = N;
  j["failed_images"] = summary.failed_images;
  j["skipped_train_images"] = summary.skipped_train_images;
  j["explained_images"] = explained;
  j["conservation_max_error"] = summary.max_conservation_error;
  j["flipping"] = {{"region_size", args.flip_region}, {"steps", args.flip_steps},
                   {"random_orders", args.random_orders}, {"occlusion_patch", args.occlusion_patch}};
  j["results_files"] = nlohmann::json::array();
  for (const std::string& c : classes)
    j["results_files"].push_back((fs::path("results") / datasets::voc_results_filename(args.test_set, c)).string());
  bow::write_file_atomic((out / "report.json").u8string(), dump_json(j, 1) + "\n");
  write_report_html((out / "index.html").u8string(), report);
  return summary;
}

int run_voc_command(const VocArgs& args) {
  const VocSummary s = run_voc(args);
  std::printf("%-14s %8s %8s\n", "class", "AP07", "AParea");
  for (std::size_t c = 0; c < s.classes.size(); ++c)
    std::printf("%-14s %8.4f %8.4f\n", s.classes[c].c_str(), s.ap[c], s.ap_area[c]);
  std::printf("%-14s %8.4f %8.4f   (%zu test images)\n", "mAP", s.map, s.map_area, s.test_images);
  for (const auto& [name, v] : s.aopc) std::printf("AOPC %-10s %.4f\n", name.c_str(), v);
  for (const auto& [key, v] : s.localisation) std::printf("%-32s %.4f\n", key.c_str(), v);
  for (const auto& [stage, t] : s.timings) std::printf("time %-26s %.1f s\n", stage.c_str(), t);
  std::printf("report: %s/index.html, %s/report.json\n", args.out.c_str(), args.out.c_str());
  return s.failed_images || s.skipped_train_images ? kExitSomeFailed : kExitOk;
}

}  // namespace bowlrp::apps
