// The page of `bowlrp explain --training-images K` (training-images.html): each explained image with the
// training images that support and oppose its decision (model/explain.h ListedTrainingImage), their
// exact shares of f and their matching maps on both images. Self-contained, no script.
#include "report/report.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/utf8.h>

#include <cmath>
#include <limits>

namespace bowlrp::apps {
namespace {

TrainingImageCard card(const model::ListedTrainingImage& t, std::size_t rank, double f, int side) {
  TrainingImageCard c;
  c.rank = rank;
  c.support_index = t.support_index;
  c.contribution = t.contribution;
  c.share = f != 0 ? t.contribution / f : std::numeric_limits<double>::quiet_NaN();
  if (!t.test_pixels.R.empty()) c.test_map = encode_picture(render::render_heatmap(t.test_pixels), side, false);
  if (!t.training_pixels.R.empty())
    c.training_map = encode_picture(render::render_heatmap(t.training_pixels), side, false);
  c.note = t.training_error;
  if (!t.image) return c;
  c.path = t.image->path;
  c.mirrored = t.image->mirrored;
  try {
    c.image = encode_picture(render::decode_bgr8(core::read_file(c.path), c.path), side, true);
  } catch (const std::exception& e) {
    if (c.note.empty()) c.note = e.what();
  }
  return c;
}

std::string cards_html(const std::vector<TrainingImageCard>& cards, const char* side, const char* css) {
  if (cards.empty()) return "<p class=\"note\">no " + std::string(side) + " training image</p>";
  std::string s = "<div class=\"gallery\">";
  for (const TrainingImageCard& c : cards) {
    const std::string name = c.path.empty() ? "support vector " + std::to_string(c.support_index)
                                            : core::utf8_display(c.path);
    s += "<figure>" + picture(c.image, name) + picture(c.training_map, name + ": where it resembles the image") +
         picture(c.test_map, "where the image resembles " + name) + "<figcaption><b>" + std::string(side) + " " +
         std::to_string(c.rank) + "</b> <span class=\"" + css + "\">c = " + fixed(c.contribution, 4) + "</span> (" +
         fixed(100 * c.share, 1) + "% of f), support vector " + std::to_string(c.support_index) + "<br>" +
         html_escape(name) + (c.mirrored ? " (mirrored)" : "");
    if (!c.note.empty()) s += "<br><span class=\"note\">" + html_escape(core::utf8_display(c.note)) + "</span>";
    s += "</figcaption></figure>";
  }
  return s + "</div>";
}

}  // namespace

TrainingImagesRow training_images_row(const model::ImageExplanation& r, const render::Bgr8Image& image, int side) {
  TrainingImagesRow row;
  row.image = r.path;
  row.class_name = r.explanation.class_name;
  row.score = r.explanation.dimensions.f;
  row.bias = r.explanation.dimensions.bias;
  row.explained = encode_picture(image, side, true);
  row.heatmap = encode_picture(render::render_heatmap(r.explanation.pixels), side, false);
  for (std::size_t k = 0; k < r.supporting.size(); ++k) row.supporting.push_back(card(r.supporting[k], k + 1, row.score, side));
  for (std::size_t k = 0; k < r.opposing.size(); ++k) row.opposing.push_back(card(r.opposing[k], k + 1, row.score, side));
  return row;
}

std::string training_images_html(const std::vector<TrainingImagesRow>& rows, const std::string& title) {
  std::string s = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                  "</title><style>" + report_css() + "</style></head><body><h1>" + html_escape(title) + "</h1>";
  s += "<p class=\"note\">A kernel SVM decides f = b + Σ_i c_i, c_i = α_i y_i k(s_i, x): each support vector s_i is "
       "a training image, and c_i is its exact share of the decision. Per explained image: the training images with "
       "the largest c_i (supporting) and the most negative (opposing). Each shows the training image, where in it "
       "the resemblance lies, and where in the explained image (red: raises f, blue: lowers it; sum-decomposable "
       "kernels).</p>";
  for (const TrainingImagesRow& r : rows) {
    const std::string name = core::utf8_display(r.image);
    s += "<h2>" + html_escape(name) + "</h2><figure>" + picture(r.explained, name) +
         picture(r.heatmap, name + " relevance") + "<figcaption><b>" + html_escape(r.class_name) +
         "</b> f = " + fixed(r.score, 4) + ", bias " + fixed(r.bias, 4) + "</figcaption></figure>";
    s += "<h3>Supporting</h3>" + cards_html(r.supporting, "supporting", "pos");
    s += "<h3>Opposing</h3>" + cards_html(r.opposing, "opposing", "neg");
  }
  return s + "</body></html>\n";
}

}  // namespace bowlrp::apps
