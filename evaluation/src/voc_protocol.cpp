#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/core/io.h>
#include <bowlrp/datasets/voc.h>
#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/model/predict.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <stdexcept>

namespace bowlrp::evaluation {
namespace fs = std::filesystem;

namespace {

using Clock = std::chrono::steady_clock;

using core::mix_seed;
using core::seconds_since;

// Seeded permutation of 0..n-1 (mt19937_64 is specified bit for bit, so this is portable).
std::vector<std::size_t> seeded_order(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), 0);
  std::mt19937_64 rng(mix_seed(seed));
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

}  // namespace

const core::OptionSchema<VocProtocolOptions>& VocProtocolOptions::schema() {
  using O = VocProtocolOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::text_option<O>("root", "--root", "VOC2007 folder (.../VOCdevkit/VOC2007)",
                                     [](O& o) -> std::string& { return o.root; }));
    s.back().required = true;
    s.push_back(core::text_option<O>("train_set", "--train-set", "image set to fit on (unused with a given model)",
                                     [](O& o) -> std::string& { return o.train_set; }));
    s.push_back(core::text_option<O>("test_set", "--test-set", "image set to evaluate on",
                                     [](O& o) -> std::string& { return o.test_set; }));
    s.push_back(core::text_list_option<O>("classes", "--classes", "classes a,b,... (empty: all 20, or the given model's)",
                                          [](O& o) -> std::vector<std::string>& { return o.classes; }));
    s.push_back(core::integer_option<O>("max_images", "--max-images", "cap on each split, a seeded stratified choice (0: all)",
                                        [](O& o) -> std::size_t& { return o.max_images; }));
    s.push_back(core::integer_option<O>("explain", "--explain", "positive test images per class explained and flipped (0: none)",
                                        [](O& o) -> int& { return o.explain; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("gallery", "--gallery", "report images per group and class (0: none)",
                                        [](O& o) -> int& { return o.gallery; }, OptionRange::at_least(0)));
    s.push_back(core::text_option<O>("person_boxes_missing", "--person-boxes-missing",
                                     "ids of images whose people have no box (empty: ROOT/../../person_boxes_missing.txt "
                                     "if present)",
                                     [](O& o) -> std::string& { return o.person_boxes_missing; }));
    core::append_nested(&s, model::FitOptions::schema(), [](O& o) -> model::FitOptions& { return o.fit; });
    core::append_nested(&s, QualityOptions::schema(), [](O& o) -> QualityOptions& { return o.quality; },
                        {"flip_seed", "occlusion_seed"});
    return s;
  }();
  return schema;
}

void VocProtocolOptions::validate() const {
  auto bad = [](const std::string& field, const std::string& value, const std::string& expected) {
    throw std::invalid_argument(field + " " + core::quoted(value) + ": expected " + expected);
  };
  if (root.empty()) bad("root", root, "the VOC2007 folder (.../VOCdevkit/VOC2007)");
  if (test_set.empty()) bad("test_set", test_set, "an image set name such as val");
  if (explain < 0) bad("explain", std::to_string(explain), "a count >= 0");
  if (gallery < 0) bad("gallery", std::to_string(gallery), "a count >= 0");
  quality.validate();
  fit.validate();
  fit.check_rules(quality.composite);
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
  const std::vector<std::size_t> order = seeded_order(usable.size(), seed ^ mix_seed(c + 1));
  std::vector<std::size_t> out;
  for (std::size_t k = 0; k < order.size() && out.size() < n; ++k) {
    const std::size_t i = order[k];
    if (usable[i] && labels[i * classes + c] == 1) out.push_back(i);
  }
  std::sort(out.begin(), out.end());
  return out;
}

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

VocEvaluation run_voc_protocol(const VocProtocolOptions& options, const std::optional<model::Model>& given,
                               const core::ProgressFn& progress) {
  options.validate();
  if (!given && options.train_set.empty())
    throw std::invalid_argument("train_set '': expected an image set name such as train (or give a model)");
  const auto t_start = Clock::now();
  const std::uint64_t seed = options.fit.pipeline.kmeans.seed;
  const int threads = options.fit.threads;
  VocEvaluation ev;
  auto timing = [&](const std::string& stage, double s, std::size_t items) {
    ev.timings.emplace_back(stage, s);
    ev.timing_items.emplace_back(stage, items);
  };

  // Person boxes known to be missing (box-based scores of person skip these images).
  std::string missing_path = options.person_boxes_missing;
  if (missing_path.empty()) {
    const fs::path guess = (fs::u8path(options.root) / ".." / ".." / "person_boxes_missing.txt").lexically_normal();
    std::error_code ec;
    if (fs::exists(guess, ec)) missing_path = guess.u8string();
  }
  std::set<std::string> person_missing;
  if (!missing_path.empty())
    for (const std::string& id : read_id_list(missing_path)) person_missing.insert(id);
  ev.person_boxes_missing = person_missing.size();
  ev.person_boxes_missing_path = person_missing.empty() ? std::string() : missing_path;

  // --- model -------------------------------------------------------------------------------
  std::vector<std::string> classes = options.classes;
  if (given) {
    if (classes.empty()) classes = given->class_names();
    for (const std::string& c : classes) given->class_index(c);  // throws for a class the model lacks
    ev.model = *given;
  } else {
    const datasets::VocSet full = datasets::VocSet::load(options.root, options.train_set, classes);
    const datasets::VocSet train =
        subset(full, choose_images(full.labels, full.classes.size(), options.max_images, seed));
    const model::LabelledImages data = model::LabelledImages::from_voc(train);
    ev.train_images = data.images.size();
    core::progress_note(progress, "fit",
                       "training on " + std::to_string(data.images.size()) + " '" + options.train_set + "' images, " +
                           std::to_string(train.classes.size()) + " classes, " +
                           options.fit.encoding_summary() +
                           (options.fit.mirrors() ? ", each also mirrored" : ""));
    model::FitOptions fopts = options.fit;
    fopts.training_accuracy = false;
    fopts.keep_encoded = false;  // the training rows go before the test split is encoded
    model::FitReport fr;
    ev.model = model::fit(data, fopts, progress, &fr);
    ev.skipped_train = fr.skipped;
    timing("codebook sample", fr.times.codebook_extract, 0);
    timing("k-means", fr.times.kmeans, 0);
    if (fopts.mirrors())
      timing("encode train + mirrors", fr.times.encode, 2 * data.images.size());
    else
      timing("encode train", fr.times.encode, data.images.size());
    timing(options.fit.head_training_stage(), fr.times.svm,
           train.classes.size());
  }
  const model::Model& model = *ev.model;

  // --- score the test set --------------------------------------------------------------------
  const datasets::VocSet test_full = datasets::VocSet::load(options.root, options.test_set, classes);
  const datasets::VocSet test = subset(
      test_full, choose_images(test_full.labels, test_full.classes.size(), options.max_images, seed ^ 0x7e57));
  classes = test.classes;  // VOC order
  const std::size_t C = classes.size(), N = test.ids.size();
  std::vector<std::size_t> model_class(C);
  for (std::size_t c = 0; c < C; ++c) model_class[c] = model.class_index(classes[c]);
  std::vector<std::string> test_paths;
  for (const std::string& id : test.ids) test_paths.push_back(test.image_path(id));
  auto t0 = Clock::now();
  const model::EncodedSet encoded =
      model::encode_images(model.encoding(), test_paths, threads, options.fit.cache_dir, progress, "encode test");
  timing("encode test", seconds_since(t0), N);
  t0 = Clock::now();
  std::vector<std::size_t> good;
  for (std::size_t i = 0; i < N; ++i)
    if (encoded.ok[i]) good.push_back(i);
  std::vector<double> X;
  const std::vector<double> F = model.scores_batch(encoded.rows(good, &X), good.size(), threads);
  const std::size_t MC = model.classes();
  // scores[c][i]; an unreadable image gets -inf, the devkit's value for a missing result.
  ev.scores.assign(C, std::vector<double>(N, -std::numeric_limits<double>::infinity()));
  for (std::size_t k = 0; k < good.size(); ++k)
    for (std::size_t c = 0; c < C; ++c) ev.scores[c][good[k]] = F[k * MC + model_class[c]];
  timing("score test", seconds_since(t0), N);
  ev.failed_test = encoded.failures;
  ev.classes = classes;
  ev.test_ids = test.ids;
  ev.labels.assign(C, std::vector<int>(N));
  for (std::size_t c = 0; c < C; ++c) {
    for (std::size_t i = 0; i < N; ++i) ev.labels[c][i] = test.label(i, c);
    const datasets::PrCurve curve = datasets::precision_recall(ev.scores[c], ev.labels[c]);
    ev.ap.push_back(datasets::voc07_ap(curve));
    ev.ap_area.push_back(datasets::voc_area_ap(curve));
  }
  ev.map = datasets::mean_ap(ev.ap);
  ev.map_area = datasets::mean_ap(ev.ap_area);

  // --- explanations ---------------------------------------------------------------------------
  QualityOptions qopts = options.quality;
  qopts.flip.seed = seed;
  qopts.seed = seed;
  const auto& voc_names = datasets::voc_classes();
  std::vector<std::pair<std::size_t, std::size_t>> pairs;  // (class, image)
  if (options.explain > 0)
    for (std::size_t c = 0; c < C; ++c)
      for (std::size_t i :
           choose_positives(test.labels, C, c, encoded.ok, static_cast<std::size_t>(options.explain), seed))
        pairs.emplace_back(c, i);
  std::vector<QualityJob> jobs;
  for (const auto& [c, i] : pairs) {
    const std::string id = test.ids[i];
    const std::string cname = classes[c];
    const bool boxes_missing = cname == "person" && person_missing.count(id);
    const std::string root = options.root;
    // The class's boxes (unless people lack boxes there) and, where there is one, its class mask.
    const RegionsFn regions = [root, id, cname, boxes_missing, &voc_names](int W, int H) {
      std::vector<std::pair<std::string, evaluation::RegionMask>> out;
      if (!boxes_missing) {
        const datasets::VocAnnotation ann = datasets::load_voc_annotation(root, id);
        std::vector<bow::Box> boxes;
        for (const auto& o : ann.objects)
          if (o.name == cname) boxes.push_back(evaluation::voc_box_to_pixels(o.xmin, o.ymin, o.xmax, o.ymax));
        if (!boxes.empty()) out.emplace_back("boxes", evaluation::mask_from_boxes(W, H, boxes));
      }
      std::error_code ec;
      if (fs::exists(fs::u8path(root) / "SegmentationClass" / (id + ".png"), ec)) {
        const datasets::ClassMask cm = datasets::load_voc_class_mask(root, id);
        if (cm.width == W && cm.height == H) {
          const auto pos = std::find(voc_names.begin(), voc_names.end(), cname) - voc_names.begin();
          out.emplace_back("masks",
                           evaluation::mask_from_labels(W, H, cm.labels.data(), static_cast<unsigned char>(pos + 1)));
        }
      }
      return out;
    };
    jobs.push_back({test_paths[i], model_class[c], regions});
  }
  t0 = Clock::now();
  const std::vector<QualityResult> results = evaluate_explanations(model, jobs, qopts, threads, progress);
  if (!jobs.empty()) timing("explain + flip + occlusion", seconds_since(t0), jobs.size());
  for (std::size_t j = 0; j < jobs.size(); ++j) {
    if (!results[j].error.empty())
      ev.quality_failures.emplace_back(test.ids[pairs[j].second] + " for " + classes[pairs[j].first], results[j].error);
    ev.quality.add(results[j]);
    ev.quality_per_class[classes[pairs[j].first]].add(results[j]);
  }

  // --- gallery -------------------------------------------------------------------------------
  t0 = Clock::now();
  struct GalleryJob {
    std::string group;
    std::size_t c, i;
  };
  std::vector<GalleryJob> gjobs;
  if (options.gallery > 0) {
    const std::size_t G = static_cast<std::size_t>(options.gallery);
    const char* groups[] = {"top-scoring true positives", "highest-scoring false positives", "lowest-scoring positives"};
    for (int g = 0; g < 3; ++g)
      for (std::size_t c = 0; c < C; ++c) {
        std::vector<std::size_t> idx;
        for (std::size_t i : good) {
          const int y = test.label(i, c);
          if ((g == 1 && y == -1) || (g != 1 && y == 1)) idx.push_back(i);
        }
        std::stable_sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) {
          return g == 2 ? ev.scores[c][a] < ev.scores[c][b] : ev.scores[c][a] > ev.scores[c][b];
        });
        for (std::size_t k = 0; k < std::min(G, idx.size()); ++k) gjobs.push_back({groups[g], c, idx[k]});
      }
  }
  ev.gallery.resize(gjobs.size());
  if (!gjobs.empty()) {
    render::HeatmapOptions hopts;
    hopts.scaling = render::HeatmapScaling::percentile;
    hopts.percentile = 99.5;
    const decompose::Explainer explainer = model.explainer(qopts.composite);
    core::for_each_index(gjobs.size(), threads, "gallery", progress, [&](std::size_t k) {
      const GalleryJob& gj = gjobs[k];
      GalleryItem& item = ev.gallery[k];
      item.group = gj.group;
      item.id = test.ids[gj.i];
      item.class_name = classes[gj.c];
      item.score = ev.scores[gj.c][gj.i];
      item.label = test.label(gj.i, gj.c);
      try {
        const std::string bytes = core::read_file(test_paths[gj.i]);  // one read for pipeline and picture
        const model::Trace trace = model.encode_bytes(bytes, test_paths[gj.i]);
        const decompose::Explanation e = explainer.explain(trace, model_class[gj.c]);
        item.image = render::decode_bgr8(bytes, test_paths[gj.i]);
        item.heatmap = render::render_heatmap(e.pixels, hopts, &item.image);
      } catch (const std::exception& ex) {
        item.note = std::string("no heatmap: ") + ex.what();
      }
    });
    timing("gallery", seconds_since(t0), gjobs.size());
  }
  timing("total", seconds_since(t_start), 0);
  return ev;
}

}  // namespace bowlrp::evaluation
