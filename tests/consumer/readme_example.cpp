#include <bowlrp/core/parallel.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/predict.h>
#include <cstdio>

int main(int argc, char** argv) {  // argv[1]: DIR/<class>/*.png, argv[2]: an image to explain
  using namespace bowlrp;
  core::init_runtime();                                           // single-threaded BLAS, as the CLI
  model::FitOptions options;                                     // the measured defaults
  options.pipeline.kmeans.words = 256;
  const model::Model m = model::fit(model::LabelledImages::from_folder(argv[1]), options);
  m.save("model.bowlrp");
  const model::Predictions p = model::predict_files(m, {argv[2]});
  std::printf("%s: %s\n", argv[2], m.class_names()[p.top[0]].c_str());
  const bow::GrayImage image = m.load_image(argv[2]);
  const model::ImageExplanation e = model::explain_image(m, image, {});
  render::write_png("heatmap.png", e.explanation.pixels);     // red: for the class, blue: against
  std::printf("conserved: %s\n", e.ok() ? "yes" : e.warning.c_str());
  const std::size_t cls = e.explanation.cls;
  const evaluation::QualityResult q = evaluation::evaluate_explanation(
      m, m.explainer(), evaluation::IncrementalFlipper(m, cls), image, cls, {}, {});
  evaluation::QualityTotals totals;
  totals.add(q);
  for (const auto& [ordering, aopc] : totals.aopc()) std::printf("AOPC %s %.4f\n", ordering.c_str(), aopc);
}
