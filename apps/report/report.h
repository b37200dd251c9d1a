// The evaluation report of `bowlrp voc`: one self-contained HTML file and a JSON summary.
//
// The HTML has no script and fetches nothing: CSS is inline, plots are hand-written SVG (a
// precision-recall panel per class, the mean pixel-flipping curves f(x^k) against the step k per
// ordering) and gallery images are base64 data URIs. Both files are written atomically. The JSON
// carries the numbers a script or a regression test compares:
//   {"ap": {class: AP}, "ap_area": {class: AP}, "map": mAP, "map_area": mAP,
//    "ap_definition": "voc07-11pt", "aopc": {ordering: AOPC}, "localisation": {key: value},
//    "metrics": {metric: {method: {"mean", "ci95", "sd", "n"}}} (quality.h; ci95: the half width),
//    "metrics_per_class": {class: {metric: {method: {...}}}} (the same over each class's pairs),
//    "timings": {stage: seconds}, ...}
// where "ap"/"map" use the VOC2007 11-point AP and "ap_area"/"map_area" the VOC2010+ area AP.
//
// Where things are: the page in report.cpp, its plots in svg_plot.h, the pieces every page shares
// (style sheet, escaping, base64, numbers, colours) in html.h (included here), the JSON summary in
// report_json.cpp and the UTF-8-safe JSON writing in json_out.h.
#pragma once

#include "report/html.h"

#include <bowlrp/datasets/voc_eval.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/evaluation/artefact.h>
#include <bowlrp/evaluation/folder_evaluation.h>
#include <bowlrp/evaluation/quality.h>
#include <bowlrp/evaluation/shapes_experiment.h>
#include <bowlrp/evaluation/spray.h>
#include <bowlrp/evaluation/voc_protocol.h>
#include <bowlrp/evaluation/localisation.h>
#include <bowlrp/evaluation/pixel_flipping.h>
#include <bowlrp/model/explain.h>

#include <nlohmann/json.hpp>

#include <cstddef>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::apps {

/// Results of one class.
struct ReportClass {
  std::string name;               ///< class name
  double ap = 0.0;                ///< VOC2007 11-point AP
  double ap_area = 0.0;           ///< VOC2010+ area AP
  std::size_t positives = 0;      ///< test images with label 1
  std::size_t negatives = 0;      ///< test images with label -1
  std::size_t difficult = 0;      ///< test images with label 0 (ignored)
  std::vector<double> recall;     ///< precision-recall curve (may be empty: no plot)
  std::vector<double> precision;  ///< same length as recall
};

/// A mean pixel-flipping curve of one ordering.
struct ReportCurve {
  std::string name;            ///< ordering: "lrp", "random", a baseline...
  std::vector<double> mean_f;  ///< mean f(x^k), k = 0 .. L
  double aopc = 0.0;           ///< AOPC of the mean curve
  std::size_t images = 0;      ///< images averaged
};

/// An embedded picture (already encoded bytes).
struct ReportPicture {
  std::string mime = "image/png";  ///< "image/png" or "image/jpeg"
  std::string bytes;               ///< file bytes; empty = no picture
};

/// One gallery entry: an image and its heatmap.
struct ReportGalleryItem {
  std::string group;       ///< section title, e.g. "top-scoring", "false positives"
  std::string id;          ///< image id
  std::string class_name;  ///< explained class
  double score = 0.0;      ///< f_c(x)
  int label = 0;           ///< ground truth for the class: 1, -1, 0
  ReportPicture image;     ///< the image
  ReportPicture heatmap;   ///< its relevance map
  std::string note;        ///< optional caption line
};

/// Wall time of one stage.
struct ReportTiming {
  std::string stage;       ///< e.g. "encode test"
  double seconds = 0.0;    ///< wall seconds
  std::size_t items = 0;   ///< images (or other units) processed; 0 = not applicable
};

/// Everything the report shows; filled by the CLI.
struct ReportData {
  std::string title = "bowlrp evaluation";                      ///< page title
  std::vector<std::pair<std::string, std::string>> settings;   ///< configuration, shown as key/value rows
  std::vector<ReportClass> classes;                             ///< per-class AP, in display order
  std::vector<ReportCurve> flipping;                            ///< pixel-flipping curves (may be empty)
  std::string flipping_note;                                    ///< e.g. "MoRF, 9x9 px regions, 100 steps"
  std::vector<std::pair<std::string, double>> localisation;     ///< localisation scores (may be empty)
  std::map<std::string, std::map<std::string, evaluation::MeanInterval>> metrics;  ///< metric -> method (may be empty)
  /// class -> metric -> method, the same over each class's explained pairs (may be empty)
  std::map<std::string, std::map<std::string, std::map<std::string, evaluation::MeanInterval>>> metrics_per_class;
  std::vector<ReportGalleryItem> gallery;                       ///< grouped by `group`, in order
  std::vector<ReportTiming> timings;                            ///< stage timings
  std::vector<std::string> notes;                               ///< free remarks shown at the end
};

/// A ReportClass from a class's scores and labels (both AP definitions and the PR curve).
ReportClass report_class(const std::string& name, const std::vector<double>& scores, const std::vector<int>& labels);
/// Mean curves and AOPC of every ordering in a summary, "lrp" first, "random" last.
std::vector<ReportCurve> report_curves(const evaluation::FlipSummary& summary);
/// Localisation entries "<prefix>_relevance_share", "<prefix>_area_share", "<prefix>_pointing"
/// and "<prefix>_images" of a summary.
std::vector<std::pair<std::string, double>> report_localisation(const std::string& prefix,
                                                                const evaluation::LocalisationSummary& summary);

/// The JSON summary (see the header note); mAP is null when there are no classes.
nlohmann::json report_json(const ReportData& data);
/// The HTML page.
std::string report_html(const ReportData& data);
/// Writes report_html atomically; throws std::runtime_error naming the path on failure.
void write_report_html(const std::string& path, const ReportData& data);
/// Writes report_json (indented) atomically; throws std::runtime_error naming the path on failure.
void write_report_json(const std::string& path, const ReportData& data);

/// A picture for the report, longer side capped at `side` px, as JPEG or PNG bytes.
ReportPicture encode_picture(const render::Bgr8Image& image, int side, bool jpeg);
/// The <img> of a picture as a data URI ("" for an empty picture), `alt` escaped.
std::string picture(const ReportPicture& p, const std::string& alt);
/// Fills report.flipping, report.localisation and report.metrics from the aggregate of many
/// explanations, and report.metrics_per_class from the aggregates per class.
void fill_quality(ReportData* report, const evaluation::QualityTotals& totals,
                  const std::map<std::string, evaluation::QualityTotals>& per_class);

/// The report of the VOC protocol (`model_path`: the given model, empty when it was fitted).
ReportData voc_report(const evaluation::VocEvaluation& ev, const evaluation::VocProtocolOptions& options,
                      const std::string& model_path, double load_seconds);
/// report.json of the VOC protocol: report_json plus the protocol's counts and settings.
nlohmann::json voc_json(const ReportData& report, const evaluation::VocEvaluation& ev,
                        const evaluation::VocProtocolOptions& options);
/// Writes the devkit's results files DIR/results/comp1_cls_<set>_<class>.txt, DIR/report.json
/// (voc_json) and DIR/index.html of the VOC protocol.
void write_voc_report(const std::string& dir, const ReportData& report, const evaluation::VocEvaluation& ev,
                      const evaluation::VocProtocolOptions& options);
/// What `bowlrp voc` prints: the AP table, AOPC, localisation, timings and where the report is.
std::string voc_summary_text(const ReportData& report, const evaluation::VocEvaluation& ev, const std::string& dir);
/// The report of a folder evaluation: AP table, flipping curves, localisation, gallery, confusion.
ReportData folder_report(const evaluation::FolderEvaluation& ev, const evaluation::FolderEvaluationOptions& options,
                         const std::string& title);
/// report.json of a folder evaluation: report_json plus accuracy, confusion and localisation.
nlohmann::json folder_json(const ReportData& report, const evaluation::FolderEvaluation& ev);
/// Creates DIR and writes DIR/report.json (folder_json) and DIR/index.html of a folder evaluation.
void write_folder_report(const std::string& dir, const ReportData& report, const evaluation::FolderEvaluation& ev);
/// What `bowlrp evaluate` prints: accuracy, the AP table, the confusion matrix, AOPC, localisation,
/// the worst conservation error and where the report is.
std::string folder_summary_text(const ReportData& report, const evaluation::FolderEvaluation& ev,
                                const std::string& dir);
/// The report of `bowlrp demo`: folder_report of the test half, led by the generator's and the fit's
/// timings and the data, encoding and head settings, and closed by the total time `total_seconds`.
ReportData shapes_report(const evaluation::ShapesExperiment& ex, const evaluation::ShapesExperimentOptions& options,
                         double total_seconds);

/// Several runs' report.json side by side: accuracy, AOPC, localisation, settings and timings of each
/// (throws std::invalid_argument unless there is one name per report and at least one report).
nlohmann::json compare_json(const std::vector<std::string>& names, const std::vector<nlohmann::json>& runs);
/// The same as a page (the best value of each row in bold).
std::string compare_html(const std::vector<std::string>& names, const std::vector<nlohmann::json>& runs,
                         const std::vector<std::string>& heatmap_dirs = {});
/// The report.json files of several runs and the name of each.
struct CompareRuns {
  std::vector<std::string> names;   ///< one per run
  std::vector<nlohmann::json> runs;  ///< each run's report.json
};
/// Reads each report (a report.json, or a folder holding one), named by `names` (one per report) or,
/// when `names` is empty, by its folder; throws std::runtime_error naming a file that is not the
/// report.json of bowlrp voc or evaluate.
CompareRuns read_compare_runs(const std::vector<std::string>& reports, const std::vector<std::string>& names);
/// Creates DIR and writes DIR/compare.json (compare_json) and DIR/index.html (compare_html).
void write_compare(const std::string& dir, const CompareRuns& runs, const std::vector<std::string>& heatmap_dirs);
/// The heatmaps of `bowlrp explain` output folders (one per run) side by side: one row per image stem that every
/// folder holds (<stem>.heatmap.png with its <stem>.json), sorted, at most max_rows; throws std::runtime_error
/// naming a folder that is missing or holds no heatmap.
std::string heatmap_grid_html(const std::vector<std::string>& names, const std::vector<std::string>& heatmap_dirs,
                              std::size_t max_rows = 24);

/// SpRAy over the explanations of one class: the JSON summary (every image's cluster, eigenvalues,
/// cluster sizes, mean maps, typical members, the causal test).
nlohmann::json spray_json(const evaluation::SprayAnalysis& a, const std::vector<std::string>& class_names,
                          std::size_t members);
/// The SpRAy page: eigenvalue plot, spectral layout coloured by cluster, and per cluster (smallest
/// first) its mean heatmap, mean image, causal test and most typical members with their heatmaps
/// (`member_pictures[c]` holds (image, heatmap) pictures of ranked_members[c], in that order).
std::string spray_html(const evaluation::SprayAnalysis& a, const std::string& title,
                       const std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>>& member_pictures);
/// The pictures of spray_html: the `members` most typical members of each cluster, explained again
/// (the rules and threads of `options`) and drawn as (image, heatmap at the 99.5th percentile), 200 px.
std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>> spray_member_pictures(
    const model::Model& model, const evaluation::SprayAnalysis& a, const evaluation::SprayImagesOptions& options,
    std::size_t members);
/// Creates DIR and writes DIR/report.json (spray_json) and DIR/index.html (spray_html with
/// spray_member_pictures), titled by the class and the number of images.
void write_spray_report(const std::string& dir, const model::Model& model, const evaluation::SprayAnalysis& a,
                        const evaluation::SprayImagesOptions& options, std::size_t members);

/// One training image listed for a decision (`bowlrp explain --training-images`), as its page shows it.
struct TrainingImageCard {
  std::size_t rank = 0;           ///< 1 = the largest |c_i| of its side
  std::size_t support_index = 0;  ///< i
  double contribution = 0.0;      ///< c_i
  double share = 0.0;             ///< c_i / f (NaN when f = 0)
  std::string path;               ///< the training image file ("" when the model does not record it)
  bool mirrored = false;          ///< the support vector is the file's left-right mirror
  ReportPicture image;            ///< the training image (empty when not recorded or unreadable)
  ReportPicture training_map;     ///< its matching map on itself (empty when not made)
  ReportPicture test_map;         ///< its matching map on the explained image (empty for rbf / expchi2)
  std::string note;               ///< why a map is missing, when known
};
/// One explained image with its supporting and opposing training images.
struct TrainingImagesRow {
  std::string image;                        ///< the explained file
  std::string class_name;                   ///< explained class
  double score = 0.0;                       ///< f
  double bias = 0.0;                        ///< b, which no training image carries
  ReportPicture explained;                  ///< the explained image
  ReportPicture heatmap;                    ///< its relevance map
  std::vector<TrainingImageCard> supporting;  ///< c_i > 0, largest first
  std::vector<TrainingImageCard> opposing;    ///< c_i < 0, most negative first
};
/// The row of one explanation made with ExplainOptions::training_images (`image`: the explained image
/// decoded; training images read from their recorded files, pictures `side` px).
TrainingImagesRow training_images_row(const model::ImageExplanation& r, const render::Bgr8Image& image, int side);
/// The page: per explained image its picture and heatmap, then its supporting and opposing training
/// images, each with c_i, its share of f, the file, and its matching maps on both images.
std::string training_images_html(const std::vector<TrainingImagesRow>& rows, const std::string& title);


/// The before/after comparison of `bowlrp fix` as JSON: "class", "area_share", the image counts, per model
/// ("before", "after") the numbers of evaluation::FixNumbers (means and per-image lists; NaN as null),
/// "test_classes" and "failures".
nlohmann::json fix_json(const evaluation::FixComparison& c, const std::vector<std::string>& class_names);
/// Creates DIR and writes DIR/report.json (fix_json) and DIR/index.html: the before/after table and a gallery
/// of up to `gallery` region images (image, LRP heatmap before and after) and one other-class image with the
/// artefact pasted in. Throws std::runtime_error naming DIR when it cannot be written.
void write_fix_report(const std::string& dir, const model::Model& before, const model::Model& after,
                      const std::vector<evaluation::ArtefactRegion>& regions, const evaluation::FixComparison& c,
                      const std::string& title, std::size_t gallery = 4);
/// Throws std::runtime_error naming DIR unless DIR is (or can be made) a folder that report.json and
/// index.html can be written into (checked before the work).
void check_report_dir(const std::string& dir);

}  // namespace bowlrp::apps
