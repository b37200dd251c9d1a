// The report of `bowlrp fix --report DIR`: the proof that a fix held (evaluation::compare_fix) as
// DIR/report.json and a self-contained DIR/index.html (no script, inline CSS, base64 pictures): a
// before/after table of the artefact's causal drop, its region's share of the positive relevance against
// its area share, the score rise of other-class images with the artefact pasted in, and accuracy / mAP on
// the test set; then a gallery of region images (image, LRP heatmap before, after) and one pasted example.
#include "report/report.h"

#include "report/json_out.h"

#include <bowlrp/core/io.h>
#include <bowlrp/core/utf8.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <stdexcept>

namespace bowlrp::apps {
namespace {

using nlohmann::json;

json numbers_json(const evaluation::FixNumbers& n) {
  json j;
  j["causal_drop"] = n.causal_drop;
  j["relevance_share"] = n.relevance_share;
  j["pasted_rise"] = n.pasted_rise;
  j["accuracy"] = n.accuracy;
  j["mean_ap"] = n.mean_ap;
  j["ap"] = n.ap;
  j["region_scores"] = n.region_scores;
  j["erased_scores"] = n.erased_scores;
  j["relevance_shares"] = n.relevance_shares;
  j["other_scores"] = n.other_scores;
  j["pasted_scores"] = n.pasted_scores;
  return j;
}

// A decoded grey image as a picture.
ReportPicture grey_picture(const bow::GrayImage& g, int side) {
  std::vector<unsigned char> bytes(g.pixels.size());
  for (std::size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<unsigned char>(std::lround(255.0 * std::clamp(g.pixels[i], 0.0f, 1.0f)));
  return encode_picture(render::bgr8_from_pixels(bytes.data(), g.width, g.height, 1), side, false);
}

std::string row(const std::string& name, double before, double after, int digits, const std::string& note) {
  return "<tr><th style=\"text-align:left\">" + name + "</th><td>" + fixed(before, digits) + "</td><td>" +
         fixed(after, digits) + "</td><td style=\"text-align:left\" class=\"note\">" + note + "</td></tr>";
}

}  // namespace

json fix_json(const evaluation::FixComparison& c, const std::vector<std::string>& class_names) {
  json j;
  j["class"] = class_names.at(c.cls);
  j["area_share"] = c.area_share;
  j["area_shares"] = c.area_shares;
  j["region_images"] = c.region_images;
  j["others"] = c.others;
  j["other_patch"] = c.other_patch;
  j["test_classes"] = c.test_classes;
  j["images"] = {{"regions", c.region_used}, {"others", c.others_used}, {"test", c.test_used}};
  j["before"] = numbers_json(c.before);
  j["after"] = numbers_json(c.after);
  j["failures"] = json::array();
  for (const auto& f : c.failures) j["failures"].push_back({{"path", f.path}, {"reason", f.reason}});
  return j;
}

void check_report_dir(const std::string& dir) {
  const std::filesystem::path out = std::filesystem::u8path(dir);
  std::error_code ec;
  std::filesystem::create_directories(out, ec);
  if (ec || !std::filesystem::is_directory(out))
    throw std::runtime_error("--report '" + dir + "': cannot be made a folder for report.json and index.html" +
                             (ec ? " (" + ec.message() + ")" : " (it exists and is not a folder)"));
  core::check_output_file((out / "report.json").u8string());
  core::check_output_file((out / "index.html").u8string());
}

void write_fix_report(const std::string& dir, const model::Model& before, const model::Model& after,
                      const std::vector<evaluation::ArtefactRegion>& regions, const evaluation::FixComparison& c,
                      const std::string& title, std::size_t gallery) {
  check_report_dir(dir);
  const std::filesystem::path out = std::filesystem::u8path(dir);
  const std::string cls = html_escape(before.class_names().at(c.cls));
  const evaluation::FixNumbers& b = c.before;
  const evaluation::FixNumbers& a = c.after;
  std::string s = "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                  "</title><style>" + report_css() + "</style></head><body><h1>" + html_escape(title) + "</h1>";
  s += "<p class=\"note\">The artefact of class <b>" + cls + "</b> measured on the model before and after the fix. " +
       std::to_string(c.region_used) + " artefact images, " + std::to_string(c.others_used) +
       " images of other classes, " + std::to_string(c.test_used) + " test images.</p>";
  s += "<table><tr><th></th><th>before</th><th>after</th><th></th></tr>";
  s += row("causal drop", b.causal_drop, a.causal_drop, 4,
           "mean f(x) − f(x with the artefact region erased) on the artefact images; near 0 when the model no longer "
           "uses the region");
  s += row("relevance share of the region", b.relevance_share, a.relevance_share, 4,
           "mean share of the positive relevance of " + cls + " inside the region, against its area share " +
               fixed(c.area_share, 4));
  s += row("pasted-artefact score rise", b.pasted_rise, a.pasted_rise, 4,
           "mean f(x with the artefact pasted) − f(x) on images of other classes; should no longer be positive");
  s += row("accuracy", b.accuracy, a.accuracy, 3, "top-1 on the test set (what the fix cost)");
  s += row("mAP", b.mean_ap, a.mean_ap, 3, "mean VOC2007 AP over the test classes");
  for (std::size_t k = 0; k < c.test_classes.size(); ++k)
    s += row("AP " + html_escape(c.test_classes[k]), b.ap[k], a.ap[k], 3, "");
  s += "</table>";

  s += "<h2>Artefact images</h2><p class=\"note\">Each: the image, its LRP heatmap for " + cls +
       " before the fix and after (red raises f, blue lowers it).</p><div class=\"gallery\">";
  const int side = 200;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < regions.size() && shown < gallery; ++i) {
    if (!std::isfinite(b.region_scores[i])) continue;
    try {
      const std::string name = core::utf8_display(regions[i].image);
      const bow::GrayImage g = before.load_image(regions[i].image);
      const ReportPicture hb =
          encode_picture(render::render_heatmap(before.explainer().explain(before.encode(g), c.cls).pixels), side, false);
      const bow::GrayImage ga = after.load_image(regions[i].image);
      const ReportPicture ha =
          encode_picture(render::render_heatmap(after.explainer().explain(after.encode(ga), c.cls).pixels), side, false);
      s += "<figure>" + picture(grey_picture(g, side), name) + picture(hb, name + ": heatmap before") +
           picture(ha, name + ": heatmap after") + "<figcaption>" + html_escape(name) + "<br>f " +
           fixed(b.region_scores[i], 3) + " → " + fixed(a.region_scores[i], 3) + ", region share " +
           fixed(b.relevance_shares[i], 3) + " → " + fixed(a.relevance_shares[i], 3) + ", area " +
           fixed(c.area_shares[i], 3) + "</figcaption></figure>";
      ++shown;
    } catch (const std::exception& e) {
      s += "<p class=\"note\">" + html_escape(core::utf8_display(e.what())) + "</p>";
    }
  }
  s += "</div>";
  for (std::size_t i = 0; i < c.others.size(); ++i) {
    if (!std::isfinite(b.other_scores[i])) continue;
    try {
      const std::string name = core::utf8_display(c.others[i]);
      const bow::GrayImage g = before.load_image(c.others[i]);
      const evaluation::ArtefactRegion& r = regions.at(c.other_patch[i]);
      const bow::GrayImage pasted =
          evaluation::paste_artefact(g, evaluation::cut_artefact(before.load_image(r.image), r));
      s += "<h2>The artefact pasted into another class</h2><figure>" + picture(grey_picture(g, side), name) +
           picture(grey_picture(pasted, side), name + " with the artefact") + "<figcaption>" + html_escape(name) +
           "<br>f<sub>" + cls + "</sub> before the fix " + fixed(b.other_scores[i], 3) + " → " +
           fixed(b.pasted_scores[i], 3) + " pasted; after " + fixed(a.other_scores[i], 3) + " → " +
           fixed(a.pasted_scores[i], 3) + "</figcaption></figure>";
    } catch (const std::exception& e) {
      s += "<p class=\"note\">" + html_escape(core::utf8_display(e.what())) + "</p>";
    }
    break;
  }
  s += "</body></html>\n";
  core::write_file_atomic((out / "report.json").u8string(), dump_json(fix_json(c, before.class_names()), 1) + "\n");
  core::write_file_atomic((out / "index.html").u8string(), s);
}

}  // namespace bowlrp::apps
