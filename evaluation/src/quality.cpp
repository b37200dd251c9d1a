#include <bowlrp/evaluation/quality.h>
#include <bowlrp/core/option_text.h>

#include <bowlrp/decompose/conservation.h>
#include <bowlrp/decompose/feature_relevance.h>
#include <bowlrp/decompose/fisher_relevance.h>
#include <bowlrp/decompose/pixel_relevance.h>
#include <bowlrp/decompose/svm_relevance.h>
#include <bowlrp/evaluation/faithfulness_correlation.h>
#include <bowlrp/evaluation/map_metrics.h>
#include <bowlrp/evaluation/randomisation.h>
#include <bowlrp/evaluation/robustness.h>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <optional>
#include <stdexcept>

namespace bowlrp::evaluation {

std::string to_string(Ordering ordering) {
  switch (ordering) {
    case Ordering::lrp: return "lrp";
    case Ordering::sensitivity: return "sensitivity";
    case Ordering::occlusion: return "occlusion";
    case Ordering::random: return "random";
  }
  throw std::invalid_argument("Ordering: unknown value " + std::to_string(static_cast<int>(ordering)));
}

Ordering ordering_from_string(const std::string& name) {
  for (Ordering o : {Ordering::lrp, Ordering::sensitivity, Ordering::occlusion, Ordering::random})
    if (to_string(o) == name) return o;
  throw std::invalid_argument("unknown ordering " + core::quoted(name) + ": expected lrp, sensitivity, occlusion or random");
}

const core::OptionSchema<QualityOptions>& QualityOptions::schema() {
  using O = QualityOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::integer_option<O>("region_size", "--flip-region", "pixel flipping: side of a flipped square region, working px",
                                        [](O& o) -> int& { return o.flip.region_size; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("steps", "--flip-steps", "pixel flipping: L, perturbation steps",
                                        [](O& o) -> int& { return o.flip.steps; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("regions_per_step", "--regions-per-step", "pixel flipping: regions replaced per step",
                                        [](O& o) -> int& { return o.flip.regions_per_step; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("random_orders", "--random-orders",
                                        "random orders averaged into the 'random' curve (0: none)",
                                        [](O& o) -> int& { return o.flip.random_orders; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("flip_seed", "--flip-seed", "seed of the flipping noise and of the random orders",
                                        [](O& o) -> std::uint64_t& { return o.flip.seed; }));
    s.push_back(core::choice_option<O>("flip_fill", "--flip-fill",
                                       "pixel flipping: what a flipped region receives: noise (uniform, seeded) | "
                                       "mean (the image's mean grey) | blur (the image blurred)",
                                       {"noise", "mean", "blur"}, [](O& o) -> FlipFill& { return o.flip.fill; },
                                       [](FlipFill f) { return to_string(f); }, &flip_fill_from_string));
    s.push_back(core::real_option<O>("flip_blur_sigma", "--flip-blur-sigma",
                                     "pixel flipping: Gaussian sigma of the blur fill, working px",
                                     [](O& o) -> double& { return o.flip.blur_sigma; }, OptionRange::above(0.0)));
    s.push_back(core::bool_option<O>("lerf", "--lerf",
                                     "pixel flipping: also flip least relevant first (LeRF) and report the area "
                                     "between the LeRF and MoRF curves",
                                     [](O& o) -> bool& { return o.flip.lerf; }));
    s.push_back(core::text_list_option<O>("methods", "--methods",
                                          "explanation methods measured: lrp, sensitivity, occlusion, random "
                                          "(random: the random flipping orders)",
                                          [](O& o) -> std::vector<std::string>& { return o.methods; }));
    s.push_back(core::integer_option<O>("occlusion_patch", "--occlusion-patch", "occlusion baseline: patch side, working px",
                                        [](O& o) -> int& { return o.occlusion_patch; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("occlusion_seed", "--occlusion-seed", "seed of the occlusion noise",
                                        [](O& o) -> std::uint64_t& { return o.seed; }));
    s.push_back(core::integer_option<O>("faithfulness_subsets", "--faithfulness-subsets",
                                        "faithfulness correlation: random region subsets per image (0: off, else >= 2)",
                                        [](O& o) -> int& { return o.faithfulness_subsets; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("faithfulness_regions", "--faithfulness-regions",
                                        "faithfulness correlation: flipping-grid regions per subset",
                                        [](O& o) -> int& { return o.faithfulness_regions; }, OptionRange::at_least(1)));
    s.push_back(core::bool_option<O>("randomisation", "--randomisation",
                                     "sanity checks: each map against the map under a randomised head and of a "
                                     "random other class (Spearman, SSIM; seeded by the flip seed)",
                                     [](O& o) -> bool& { return o.randomisation; }));
    s.push_back(core::integer_option<O>("robustness_samples", "--robustness-samples",
                                        "robustness: noisy copies per image for max-sensitivity and the local Lipschitz "
                                        "estimate, plus the mirror and constant-shift checks (0: off)",
                                        [](O& o) -> int& { return o.robustness_samples; }, OptionRange::at_least(0)));
    s.push_back(core::real_option<O>("robustness_noise", "--robustness-noise",
                                     "robustness: half width of the uniform per-pixel noise (grey values in [0, 1])",
                                     [](O& o) -> double& { return o.robustness_noise; }, OptionRange::left_open(0.0, 1.0)));
    s.push_back(core::real_option<O>("robustness_shift", "--robustness-shift",
                                     "robustness: constant added to every pixel for the input-invariance check",
                                     [](O& o) -> double& { return o.robustness_shift; }));
    core::append_nested(&s, decompose::Composite::schema(), [](O& o) -> decompose::Composite& { return o.composite; });
    return s;
  }();
  return schema;
}

bool QualityOptions::measures(Ordering ordering) const {
  return std::find(methods.begin(), methods.end(), to_string(ordering)) != methods.end();
}

void QualityOptions::validate() const {
  flip.validate();
  if (methods.empty())
    throw std::invalid_argument("QualityOptions.methods is empty: expected one or more of lrp, sensitivity, "
                                "occlusion, random");
  for (std::size_t k = 0; k < methods.size(); ++k) {
    try {
      (void)ordering_from_string(methods[k]);
    } catch (const std::invalid_argument& e) {
      throw std::invalid_argument("QualityOptions.methods: " + std::string(e.what()));
    }
    if (std::find(methods.begin(), methods.begin() + static_cast<std::ptrdiff_t>(k), methods[k]) !=
        methods.begin() + static_cast<std::ptrdiff_t>(k))
      throw std::invalid_argument("QualityOptions.methods names '" + methods[k] + "' twice");
  }
  if (occlusion_patch < 1)
    throw std::invalid_argument("QualityOptions.occlusion_patch = " + std::to_string(occlusion_patch) +
                                ": expected a side in px >= 1");
  if (faithfulness_subsets != 0) FaithfulnessOptions{faithfulness_subsets, faithfulness_regions, 0}.validate();
  RobustnessOptions{std::max(robustness_samples, 1), robustness_noise, robustness_shift, 0}.validate();
  if (robustness_samples < 0)
    throw std::invalid_argument("QualityOptions.robustness_samples = " + std::to_string(robustness_samples) +
                                ": expected >= 0 (0: off)");
  if (faithfulness_regions < 1)
    throw std::invalid_argument("QualityOptions.faithfulness_regions = " + std::to_string(faithfulness_regions) +
                                ": expected >= 1");
  composite.validate();
}

std::vector<double> occlusion_map(const evaluation::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                  const bow::Trace& trace, int patch, std::uint64_t seed) {
  const evaluation::RegionGrid grid(image.width, image.height, patch);
  evaluation::PixelFlipOptions o;
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

std::vector<double> sensitivity_map(const model::Model& model, std::size_t cls, const bow::Trace& trace) {
  return model.sensitivity_map(cls, trace);
}

QualityResult evaluate_explanation(const model::Model& model, const decompose::Explainer& explainer,
                                   const evaluation::IncrementalFlipper& flipper, const bow::GrayImage& image,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions) {
  QualityResult res;
  try {
    const bow::Trace trace = model.encode(image);
    const decompose::Explanation e = explainer.explain(trace, cls);
    const decompose::ConservationReport cr = decompose::check_conservation(e);
    res.conservation_error = cr.end_to_end_error();
    const int W = e.pixels.width, H = e.pixels.height;
    std::vector<double> occ, sens;
    if (options.measures(Ordering::occlusion))
      occ = occlusion_map(flipper, image, trace, options.occlusion_patch, options.seed);
    if (options.measures(Ordering::sensitivity)) sens = sensitivity_map(model, cls, trace);
    std::vector<evaluation::FlipMethod> methods;  // in the fixed order lrp, sensitivity, occlusion
    std::map<std::string, std::vector<double>> original;  // the maps, for robustness and randomisation
    auto add = [&](Ordering o, const std::vector<double>& map) {
      if (!options.measures(o)) return;
      methods.push_back({to_string(o), W, H, map.data()});
      if (options.robustness_samples > 0 || options.randomisation) original.emplace(to_string(o), map);
    };
    add(Ordering::lrp, e.pixels.R);
    add(Ordering::sensitivity, sens);
    add(Ordering::occlusion, occ);
    evaluation::PixelFlipOptions flip = options.flip;
    if (!options.measures(Ordering::random)) flip.random_orders = 0;
    res.curves = evaluation::pixel_flip(flipper, image, trace, methods, flip);
    for (const auto& [name, curve] : res.curves) {
      const bool lerf = name.size() > 5 && name.compare(name.size() - 5, 5, "_lerf") == 0;
      res.metrics[lerf ? "aopc_lerf" : "aopc"][lerf ? name.substr(0, name.size() - 5) : name] = evaluation::aopc(curve);
    }
    if (options.flip.lerf) {
      const std::vector<double> x =
          flip_fractions(RegionGrid(image.width, image.height, options.flip.region_size).size(), options.flip);
      for (const evaluation::FlipMethod& m : methods)
        res.metrics["abc"][m.name] = lerf_morf_area(x, res.curves.at(m.name + "_lerf"), res.curves.at(m.name));
    }
    for (const evaluation::FlipMethod& m : methods) {
      res.metrics["sparseness"][m.name] = sparseness(m.relevance, W, H);
      res.metrics["complexity"][m.name] = complexity(m.relevance, W, H);
    }
    if (options.faithfulness_subsets > 0) {
      const FaithfulnessOptions fo{options.faithfulness_subsets, options.faithfulness_regions, options.flip.seed};
      const SubsetDrops drops = subset_drops(flipper, image, trace, options.flip, fo);
      const RegionGrid grid(image.width, image.height, options.flip.region_size);
      for (const evaluation::FlipMethod& m : methods)
        res.metrics["faithfulness_correlation"][m.name] = faithfulness_correlation(drops, grid, m.relevance, W, H);
    }
    if (options.robustness_samples > 0) {
      const RobustnessOptions ro{options.robustness_samples, options.robustness_noise, options.robustness_shift,
                                 options.flip.seed};
      for (const auto& [metric, values] : robustness(model, image, cls, options, ro, original))
        for (const auto& [name, v] : values)
          if (std::isfinite(v)) res.metrics[metric][name] = v;
    }
    if (options.randomisation) {
      for (const RandomisationLevel& level : randomisation_check(model, image, cls, options, options.flip.seed, original)) {
        if (level.layers != 0 && level.layers != model.head_parameter_layers()) continue;  // the cascade's end only
        const std::string key = level.layers ? "randomisation_" : "random_logit_";
        for (const auto& [name, sim] : level.methods) {
          res.metrics[key + "spearman"][name] = sim.spearman;
          res.metrics[key + "ssim"][name] = sim.ssim;
        }
      }
    }
    if (regions)
      for (const auto& [name, mask] : regions(W, H)) {
        if (std::count(mask.values.begin(), mask.values.end(), 1) == 0) continue;
        for (const evaluation::FlipMethod& m : methods) {
          res.localisation[m.name + "_" + name].push_back(evaluation::localise(m.relevance, W, H, mask));
          res.metrics["mass_accuracy_" + name][m.name] = relevance_mass_accuracy(m.relevance, W, H, mask);
          res.metrics["rank_accuracy_" + name][m.name] = relevance_rank_accuracy(m.relevance, W, H, mask);
          res.metrics["auc_" + name][m.name] = mask_auc(m.relevance, W, H, mask);
        }
      }
  } catch (const std::exception& ex) {
    res.error = ex.what();
  }
  return res;
}

QualityResult evaluate_explanation(const model::Model& model, const decompose::Explainer& explainer,
                                   const evaluation::IncrementalFlipper& flipper, const std::string& path,
                                   std::size_t cls, const QualityOptions& options, const RegionsFn& regions) {
  bow::GrayImage image;
  try {
    image = model.load_image(path);
  } catch (const std::exception& ex) {
    QualityResult res;
    res.error = ex.what();
    return res;
  }
  return evaluate_explanation(model, explainer, flipper, image, cls, options, regions);
}

std::vector<QualityResult> evaluate_explanations(const model::Model& model, const std::vector<QualityJob>& jobs,
                                                 const QualityOptions& options, int threads,
                                                 const core::ProgressFn& progress) {
  options.validate();
  const decompose::Explainer explainer = model.explainer(options.composite);
  // One flipper per class that is asked for (they share the model's stages).
  std::vector<std::optional<evaluation::IncrementalFlipper>> flippers(model.classes());
  for (const QualityJob& job : jobs) {
    if (job.cls >= model.classes())
      throw std::out_of_range("evaluate_explanations: class index " + std::to_string(job.cls) +
                              " out of range; the model has " + std::to_string(model.classes()) + " classes");
    if (!flippers[job.cls]) flippers[job.cls].emplace(evaluation::IncrementalFlipper(model, job.cls));
  }
  std::vector<QualityResult> results(jobs.size());
  core::for_each_index(jobs.size(), threads, "explain + flip", progress, [&](std::size_t j) {
    results[j] = evaluate_explanation(model, explainer, *flippers[jobs[j].cls], jobs[j].path, jobs[j].cls, options,
                                      jobs[j].regions);
  });
  return results;
}

void QualityTotals::add(const QualityResult& result) {
  if (!result.error.empty()) return;
  ++explained;
  flips.add(result.curves);
  for (const auto& [key, v] : result.localisation) localisation[key].insert(localisation[key].end(), v.begin(), v.end());
  max_conservation_error = std::max(max_conservation_error, result.conservation_error);
  for (const auto& [metric, values] : result.metrics)
    for (const auto& [method, v] : values) metrics[metric][method].push_back(v);
}

std::map<std::string, std::map<std::string, evaluation::MeanInterval>> QualityTotals::metric_summaries() const {
  std::map<std::string, std::map<std::string, evaluation::MeanInterval>> out;
  for (const auto& [metric, values] : metrics)
    for (const auto& [method, v] : values) out[metric][method] = mean_interval(v);
  return out;
}

std::map<std::string, double> QualityTotals::aopc() const {
  std::map<std::string, double> out;
  if (!explained) return out;
  for (const std::string& name : flips.names()) out[name] = flips.aopc(name);
  return out;
}

std::map<std::string, evaluation::LocalisationSummary> QualityTotals::localisation_summaries() const {
  std::map<std::string, evaluation::LocalisationSummary> out;
  for (const auto& [key, v] : localisation) out[key] = evaluation::summarise(v);
  return out;
}

std::string flipping_note(const QualityOptions& o, std::size_t explained) {
  const std::string fill = o.flip.fill == FlipFill::noise ? "uniform noise"
                           : o.flip.fill == FlipFill::mean ? "the image's mean grey"
                                                           : "the image blurred (sigma " + core::format_real(o.flip.blur_sigma) + " px)";
  return std::string(o.flip.lerf ? "MoRF and LeRF" : "MoRF") + " of the explained class, " +
         std::to_string(o.flip.region_size) + "x" +
         std::to_string(o.flip.region_size) + " working-px regions replaced by " + fill + ", " +
         std::to_string(o.flip.steps) + " steps, " + std::to_string(explained) +
         " (image, class) pairs; random = mean of " + std::to_string(o.flip.random_orders) +
         " seeded orders; sensitivity = |df/dh| passed down like LRP; occlusion = " + std::to_string(o.occlusion_patch) +
         " px patches, R = f(x) - f(x with the patch flipped)";
}

}  // namespace bowlrp::evaluation
