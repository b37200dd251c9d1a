#include <bowlrp/model/explain.h>

#include <bowlrp/core/io.h>
#include <bowlrp/decompose/support_attribution.h>

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace bowlrp::model {
namespace {

// More listed training images than any report can show; the bound keeps K a plain count.
constexpr std::size_t kMaxListedTrainingImages = 1000000;

// The matching maps of a listed training image: on the test image always; on the training image when
// its file is known, readable and still encodes to s_i (support_pixel_maps checks it), else why not.
// A mirrored support vector's map is made on the mirror and flipped back onto the file as stored.
void training_image_maps(const Model& model, const svm::KernelSvm& head, const Trace& trace, std::size_t cls,
                         const decompose::Composite& composite, ListedTrainingImage& t) {
  if (t.image) {
    try {
      const bow::GrayImage file = model.load_image(t.image->path);
      const Trace training = model.encode(t.image->mirrored ? bow::mirror_left_right(file) : file);
      decompose::SupportPixelMaps m =
          decompose::support_pixel_maps(head, model.encoding(), trace, training, cls, t.support_index, composite);
      t.test_pixels = std::move(m.test_pixels);
      t.training_pixels = std::move(m.training_pixels);
      if (t.image->mirrored)
        for (std::size_t row = 0; row < static_cast<std::size_t>(t.training_pixels.height); ++row) {
          const auto begin = t.training_pixels.R.begin() + static_cast<std::ptrdiff_t>(row * t.training_pixels.width);
          std::reverse(begin, begin + t.training_pixels.width);
        }
      return;
    } catch (const std::exception& e) {
      t.training_error = e.what();
    }
  }
  t.test_pixels =
      std::move(decompose::support_test_map(head, model.encoding(), trace, cls, t.support_index, composite).test_pixels);
}

// The top K supporting and opposing training images of class cls on a trace (explain.h).
void list_training_images(const Model& model, const Trace& trace, std::size_t cls, const ExplainOptions& options,
                          ImageExplanation& out) {
  const svm::KernelSvm& head = decompose::require_attribution_head(model.head(), "ExplainOptions.training_images");
  const decompose::SupportContributions c = decompose::support_contributions(head, model.head_input(trace), cls);
  const bool maps = head.kernel().sum_decomposable();
  const auto list = [&](const std::vector<std::size_t>& top, std::vector<ListedTrainingImage>& to) {
    for (std::size_t i : top) {
      ListedTrainingImage t;
      t.support_index = i;
      t.contribution = c.contributions[i];
      if (!model.training_images().empty()) t.image = model.training_images()[i];
      if (maps) training_image_maps(model, head, trace, cls, options.composite, t);
      to.push_back(std::move(t));
    }
  };
  list(c.top_supporting(options.training_images), out.supporting);
  list(c.top_opposing(options.training_images), out.opposing);
}

// The explanation of one decoded image, without the bytes or the path.
ImageExplanation explain_decoded(const Model& model, const decompose::Explainer& explainer, const bow::GrayImage& image,
                                 const ExplainOptions& options) {
  ImageExplanation out;
  Trace trace = model.encode(image);
  out.scores = model.scores(trace);
  const std::size_t cls = options.class_index ? *options.class_index : top_class(out.scores);
  out.explanation = explainer.explain(trace, cls);
  out.conservation = decompose::check_conservation(out.explanation, options.tolerance);
  out.warning = conservation_verdict(out.conservation, options.residual_warning);
  if (options.training_images > 0) list_training_images(model, trace, cls, options, out);
  std::visit([&](auto& t) {
    out.features = t.features.size();
    out.frames = std::move(t.features.frames);  // the trace ends here
  }, trace);
  return out;
}

void check_class(const Model& model, const ExplainOptions& options) {
  check_training_images(model, options, "ExplainOptions.training_images");
  if (options.class_index && *options.class_index >= model.classes())
    throw std::out_of_range("ExplainOptions.class_index " + std::to_string(*options.class_index) +
                            " out of range: the model has " + std::to_string(model.classes()) + " classes");
}

}  // namespace

const core::OptionSchema<ExplainOptions>& ExplainOptions::schema() {
  using O = ExplainOptions;
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    core::append_nested(&s, decompose::Composite::schema(), [](O& o) -> decompose::Composite& { return o.composite; });
    s.push_back(core::real_option<O>("residual_warning", "--residual-warning",
                                     "rbf / expchi2: warn (and exit 3) when |f - sum R| / max(1, |f|) exceeds this",
                                     [](O& o) -> double& { return o.residual_warning; }, OptionRange::at_least(0)));
    s.push_back(core::real_option<O>("tolerance", "--tolerance", "relative conservation tolerance of the exact layers",
                                     [](O& o) -> double& { return o.tolerance; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("threads", "", "worker threads (0: all cores)",
                                        [](O& o) -> int& { return o.threads; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>(
        "training_images", "--training-images",
        "list the top K supporting and K opposing training images of each decision (their exact shares of f; "
        "kernel-SVM heads only), with their matching maps for sum-decomposable kernels; 0: none",
        [](O& o) -> std::size_t& { return o.training_images; }, OptionRange::closed(0, kMaxListedTrainingImages)));
    return s;
  }();
  return schema;
}

void ExplainOptions::validate() const {
  composite.validate();
  if (!(residual_warning >= 0) || !std::isfinite(residual_warning))
    throw std::invalid_argument("ExplainOptions.residual_warning = " + std::to_string(residual_warning) +
                                ": expected a finite value >= 0");
  if (!(tolerance >= 0) || !std::isfinite(tolerance))
    throw std::invalid_argument("ExplainOptions.tolerance = " + std::to_string(tolerance) +
                                ": expected a finite value >= 0");
  core::validate_threads(threads, "ExplainOptions.threads");
  if (training_images > kMaxListedTrainingImages)
    throw std::invalid_argument("ExplainOptions.training_images = " + std::to_string(training_images) +
                                ": expected at most " + std::to_string(kMaxListedTrainingImages));
}

void check_training_images(const Model& model, const ExplainOptions& options, const std::string& what) {
  if (options.training_images <= 0) return;
  (void)decompose::require_attribution_head(model.head(), what);
  // The support vectors are encodings Φ of the training images, the test input is Φ': the split of a
  // decision over them and its maps are not defined through the projection yet.
  if (model.artefact_projection())
    throw std::invalid_argument(what + ": training-image attribution is not offered for a model with an artefact "
                                "projection (bowlrp fix --method project); explain the model before the fix");
}

std::string conservation_verdict(const decompose::ConservationReport& report, double residual_warning) {
  if (!report.finite)
    return "not finite (f = " + std::to_string(report.f) + ", sum R = " + std::to_string(report.sum_dimensions) + ")";
  if (!report.lower_layers_ok()) return "not conserved below the SVM layer";
  const bool exact = report.method == decompose::SvmMethod::exact;
  if (exact ? !report.svm_conserved : report.relative_residual > residual_warning)
    return "svm layer relative residual " + std::to_string(report.relative_residual) + " (" +
           decompose::to_string(report.method) + " rule" + (report.root_found ? "" : ", no root found") + ")" +
           (exact ? "" : " > --residual-warning " + std::to_string(residual_warning));
  return {};
}

void explain_files(const Model& model, const std::vector<std::string>& paths, const ExplainOptions& options,
                   const ExplanationSink& sink, const core::ProgressFn& progress) {
  options.validate();
  check_class(model, options);
  const decompose::Explainer explainer = model.explainer(options.composite);
  core::for_each_index(paths.size(), options.threads, "explain", progress, [&](std::size_t i) {
    ImageExplanation out;
    try {
      // One read of the file serves the pipeline image and, through `bytes`, the caller's rendering.
      std::string bytes = core::read_file(paths[i]);
      out = explain_decoded(model, explainer, model.loader().decode(bytes, paths[i]), options);
      out.bytes = std::move(bytes);
    } catch (const std::exception& e) {
      out = ImageExplanation{};
      out.error = e.what();
    }
    out.index = i;
    out.path = paths[i];
    if (sink) sink(std::move(out));
  });
}

void explain_images(const Model& model, const std::vector<bow::GrayImage>& images, const ExplainOptions& options,
                    const ExplanationSink& sink, const core::ProgressFn& progress) {
  options.validate();
  check_class(model, options);
  const decompose::Explainer explainer = model.explainer(options.composite);
  core::for_each_index(images.size(), options.threads, "explain", progress, [&](std::size_t i) {
    ImageExplanation out;
    try {
      out = explain_decoded(model, explainer, images[i], options);
    } catch (const std::exception& e) {
      out = ImageExplanation{};
      out.error = e.what();
    }
    out.index = i;
    out.path = images[i].source;
    if (sink) sink(std::move(out));
  });
}

ImageExplanation explain_image(const Model& model, const bow::GrayImage& image, const ExplainOptions& options) {
  options.validate();
  check_class(model, options);
  ImageExplanation out = explain_decoded(model, model.explainer(options.composite), image, options);
  out.path = image.source;
  return out;
}

}  // namespace bowlrp::model
