// The SpRAy report: report.json and index.html of `bowlrp spray` (self-contained, no script).
#include "report/report.h"

#include "report/json_out.h"

#include <bowlrp/core/utf8.h>

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>
#include <bowlrp/model/explain.h>
#include <bowlrp/render/heatmap.h>
#include <bowlrp/decompose/pixel_relevance.h>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <mutex>
#include <numeric>

namespace bowlrp::apps {
namespace {

// A gw x gh grid of values as a picture of `side` px (nearest-neighbour cells): a diverging heatmap
// (symmetric around 0) or a grey image.
ReportPicture grid_picture(const std::vector<double>& values, int gw, int gh, int side, bool heatmap) {
  render::Bgr8Image small;
  if (heatmap) {
    decompose::PixelRelevance r;
    r.width = gw;
    r.height = gh;
    r.R = values;
    small = render::render_heatmap(r);
  } else {
    small.width = gw;
    small.height = gh;
    small.data.resize(static_cast<std::size_t>(gw) * gh * 3);
    for (std::size_t q = 0; q < values.size(); ++q)
      for (int ch = 0; ch < 3; ++ch)
        small.data[q * 3 + ch] = static_cast<unsigned char>(std::lround(255 * std::clamp(values[q], 0.0, 1.0)));
  }
  const cv::Mat m(small.height, small.width, CV_8UC3, small.data.data());
  cv::Mat big;
  const double s = static_cast<double>(side) / std::max(gw, gh);
  cv::resize(m, big, cv::Size(std::max(1, static_cast<int>(std::lround(gw * s))), std::max(1, static_cast<int>(std::lround(gh * s)))),
             0, 0, cv::INTER_NEAREST);
  std::vector<unsigned char> buf;
  bow::imencode(".png", big, buf);
  ReportPicture p;
  p.bytes.assign(buf.begin(), buf.end());
  return p;
}

std::string img(const ReportPicture& p, const std::string& alt) {
  if (p.bytes.empty()) return "<span class=\"note\">(no picture)</span>";
  return "<img alt=\"" + html_escape(alt) + "\" src=\"data:" + p.mime + ";base64," + base64(p.bytes) + "\">";
}

// Eigenvalues against their index, the eigengap marked.
std::string eigenvalue_plot(const evaluation::SprayResult& r) {
  const double W = 420, H = 240, x0 = 50, y0 = 15, w = 350, h = 190;
  const std::size_t m = r.eigenvalues.size();
  const double ymax = std::max(1e-9, *std::max_element(r.eigenvalues.begin(), r.eigenvalues.end()));
  auto X = [&](std::size_t i) { return x0 + (m > 1 ? w * i / double(m - 1) : w / 2); };
  auto Y = [&](double v) { return y0 + h - h * v / ymax; };
  std::string s = "<svg width=\"" + fixed(W, 0) + "\" height=\"" + fixed(H, 0) + "\" role=\"img\">";
  s += "<rect x=\"" + fixed(x0, 1) + "\" y=\"" + fixed(y0, 1) + "\" width=\"" + fixed(w, 1) + "\" height=\"" + fixed(h, 1) +
       "\" fill=\"none\" stroke=\"#999\"/>";
  const std::size_t gap = static_cast<std::size_t>(r.eigengap_clusters);
  if (gap < m)
    s += "<line x1=\"" + fixed(0.5 * (X(gap - 1) + X(gap)), 1) + "\" y1=\"" + fixed(y0, 1) + "\" x2=\"" +
         fixed(0.5 * (X(gap - 1) + X(gap)), 1) + "\" y2=\"" + fixed(y0 + h, 1) +
         "\" stroke=\"#d62728\" stroke-dasharray=\"4 3\"/>";
  for (std::size_t i = 0; i < m; ++i)
    s += "<circle cx=\"" + fixed(X(i), 1) + "\" cy=\"" + fixed(Y(r.eigenvalues[i]), 1) + "\" r=\"3\" fill=\"" +
         (i < gap ? series_colour(0) : std::string("#555")) + "\"><title>λ" + std::to_string(i + 1) + " = " +
         fixed(r.eigenvalues[i], 4) + "</title></circle>";
  s += "<text x=\"" + fixed(x0 + w / 2, 1) + "\" y=\"" + fixed(H - 5, 1) + "\" text-anchor=\"middle\" font-size=\"12\">index i (" +
       std::to_string(m) + " smallest eigenvalues; dashed: the eigengap)</text>";
  s += "<text x=\"" + fixed(x0 - 6, 1) + "\" y=\"" + fixed(y0 + 10, 1) + "\" text-anchor=\"end\" font-size=\"11\">" +
       fixed(ymax, 3) + "</text><text x=\"" + fixed(x0 - 6, 1) + "\" y=\"" + fixed(y0 + h, 1) +
       "\" text-anchor=\"end\" font-size=\"11\">0</text></svg>";
  return s;
}

// Every map in the spectral layout, coloured by cluster.
std::string layout_plot(const evaluation::SprayAnalysis& a) {
  const evaluation::SprayResult& r = a.result;
  const double W = 420, H = 300, x0 = 15, y0 = 15, w = 390, h = 270;
  double lo[2] = {1e300, 1e300}, hi[2] = {-1e300, -1e300};
  for (std::size_t i = 0; i < r.images; ++i)
    for (int d = 0; d < 2; ++d) {
      lo[d] = std::min(lo[d], r.layout[i * 2 + d]);
      hi[d] = std::max(hi[d], r.layout[i * 2 + d]);
    }
  auto S = [&](double v, int d, double o, double len) { return hi[d] > lo[d] ? o + len * (v - lo[d]) / (hi[d] - lo[d]) : o + len / 2; };
  std::string s = "<svg width=\"" + fixed(W, 0) + "\" height=\"" + fixed(H, 0) + "\" role=\"img\"><rect x=\"" + fixed(x0, 1) +
                  "\" y=\"" + fixed(y0, 1) + "\" width=\"" + fixed(w, 1) + "\" height=\"" + fixed(h, 1) +
                  "\" fill=\"none\" stroke=\"#999\"/>";
  for (std::size_t i = 0; i < r.images; ++i)
    s += "<circle cx=\"" + fixed(S(r.layout[i * 2], 0, x0, w), 1) + "\" cy=\"" + fixed(S(r.layout[i * 2 + 1], 1, y0 + h, -h), 1) +
         "\" r=\"3.5\" fill=\"" + series_colour(static_cast<std::size_t>(r.labels[i])) + "\" fill-opacity=\"0.75\"><title>" +
         html_escape(a.paths[a.analysed[i]]) + " (cluster " + std::to_string(r.labels[i]) + ")</title></circle>";
  return s + "</svg>";
}

}  // namespace

nlohmann::json spray_json(const evaluation::SprayAnalysis& a, const std::vector<std::string>& class_names,
                          std::size_t members) {
  const evaluation::SprayResult& r = a.result;
  nlohmann::json j;
  j["class"] = class_names[a.cls];
  j["images"] = r.images;
  j["eigenvalues"] = r.eigenvalues;
  j["eigengap_clusters"] = r.eigengap_clusters;
  j["clusters"] = r.clusters;
  j["sizes"] = r.sizes;
  j["inertia"] = r.inertia;
  nlohmann::json per = nlohmann::json::array();
  for (std::size_t k = 0; k < r.images; ++k) {
    nlohmann::json item;
    set_path(item, "image", a.paths[a.analysed[k]]);
    item["cluster"] = r.labels[k];
    item["score"] = a.scores[k];
    item["layout"] = {r.layout[k * 2], r.layout[k * 2 + 1]};
    per.push_back(item);
  }
  j["assignments"] = per;
  nlohmann::json clusters = nlohmann::json::array();
  for (std::size_t c = 0; c < static_cast<std::size_t>(r.clusters); ++c) {
    nlohmann::json cj;
    cj["cluster"] = c;
    cj["size"] = r.sizes[c];
    cj["mean_map"] = r.mean_maps[c];
    nlohmann::json typical = nlohmann::json::array();
    for (std::size_t q = 0; q < std::min(members, r.ranked_members[c].size()); ++q)
      typical.push_back(core::utf8_display(a.paths[a.analysed[r.ranked_members[c][q]]]));
    cj["typical"] = typical;
    if (!a.causal.empty()) {
      const evaluation::SprayCausal& sc = a.causal[c];
      std::vector<int> cells;
      for (std::size_t g = 0; g < sc.region.size(); ++g)
        if (sc.region[g]) cells.push_back(static_cast<int>(g));
      cj["causal"] = {{"region_cells", cells}, {"members", sc.members}, {"member_drop", sc.member_drop},
                      {"others", sc.others}, {"other_drop", sc.other_drop}};
    }
    clusters.push_back(cj);
  }
  j["cluster_details"] = clusters;
  j["grid"] = {{"width", a.grid_width}, {"height", a.grid_height}};
  nlohmann::json failures = nlohmann::json::array();
  for (const auto& f : a.failures) {
    nlohmann::json fj;
    set_path(fj, "image", f.path);
    fj["error"] = f.reason;
    failures.push_back(fj);
  }
  j["failures"] = failures;
  nlohmann::json t = nlohmann::json::object();
  for (const auto& [stage, sec] : a.timings) t[stage] = sec;
  j["timings"] = t;
  return j;
}

std::string spray_html(const evaluation::SprayAnalysis& a, const std::string& title,
                       const std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>>& member_pictures) {
  const evaluation::SprayResult& r = a.result;
  const std::size_t C = static_cast<std::size_t>(r.clusters);
  std::string s = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" + html_escape(title) +
                  "</title><style>" + report_css() + "</style></head><body>\n<h1>" + html_escape(title) + "</h1>\n";
  s += "<p>" + std::to_string(r.images) + " relevance maps clustered into " + std::to_string(C) + " clusters (eigengap: " +
       std::to_string(r.eigengap_clusters) + "); " + std::to_string(a.failures.size()) + " images could not be explained.</p>";
  s += "<div class=\"grid\"><figure>" + eigenvalue_plot(r) + "<figcaption>Eigenvalue spectrum</figcaption></figure><figure>" +
       layout_plot(a) + "<figcaption>Spectral layout (eigenvectors of λ2, λ3), coloured by cluster</figcaption></figure></div>\n";
  std::vector<std::size_t> order(C);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](std::size_t x, std::size_t y) { return r.sizes[x] < r.sizes[y]; });
  const int t = a.thumbnail, gw = a.grid_width, gh = a.grid_height;
  for (std::size_t c : order) {
    s += "<h2><span style=\"color:" + series_colour(c) + "\">&#9679;</span> Cluster " + std::to_string(c) + ": " +
         std::to_string(r.sizes[c]) + " images</h2>";
    if (!a.causal.empty()) {
      const evaluation::SprayCausal& sc = a.causal[c];
      s += "<p class=\"note\">Causal test: erasing the cluster's region lowers f by " + fixed(sc.member_drop, 4) + " in " +
           std::to_string(sc.members) + " members and by " + fixed(sc.other_drop, 4) + " in " + std::to_string(sc.others) +
           " other images" + (sc.member_drop > 2 * std::max(0.0, sc.other_drop) && sc.member_drop > 0
                                  ? " &mdash; the strategy is used."
                                  : " &mdash; no stronger in its members than elsewhere.") + "</p>";
    }
    s += "<div class=\"grid\"><figure>" + img(grid_picture(r.mean_maps[c], gw, gh, 160, true), "mean heatmap") +
         "<figcaption>mean heatmap</figcaption></figure>";
    const std::vector<double> mean_image(a.mean_images[c].begin(), a.mean_images[c].end());
    s += "<figure>" + img(grid_picture(mean_image, t, t, 160, false), "mean image") + "<figcaption>mean image</figcaption></figure>";
    if (!a.causal.empty()) {
      std::vector<double> region(a.causal[c].region.begin(), a.causal[c].region.end());
      s += "<figure>" + img(grid_picture(region, gw, gh, 160, true), "causal region") +
           "<figcaption>causal region</figcaption></figure>";
    }
    s += "</div><div class=\"grid\">";
    if (c < member_pictures.size())
      for (std::size_t q = 0; q < member_pictures[c].size(); ++q) {
        const std::size_t k = r.ranked_members[c][q];
        s += "<figure>" + img(member_pictures[c][q].first, "image") + img(member_pictures[c][q].second, "heatmap") +
             "<figcaption>" + html_escape(core::utf8_display(a.paths[a.analysed[k]])) + ", f = " + fixed(a.scores[k], 3) +
             "</figcaption></figure>";
      }
    s += "</div>\n";
  }
  s += "<h2>Timings</h2><table>";
  for (const auto& [stage, sec] : a.timings) s += "<tr><th class=\"l\">" + html_escape(stage) + "</th><td>" + fixed(sec, 1) + " s</td></tr>";
  s += "</table></body></html>\n";
  return s;
}

std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>> spray_member_pictures(
    const model::Model& model, const evaluation::SprayAnalysis& a, const evaluation::SprayImagesOptions& options,
    std::size_t members) {
  const evaluation::SprayResult& r = a.result;
  const std::size_t C = static_cast<std::size_t>(r.clusters);
  std::vector<std::vector<std::pair<ReportPicture, ReportPicture>>> pictures(C);
  std::vector<std::string> shown;
  std::vector<std::pair<std::size_t, std::size_t>> slot;  // (cluster, rank) of each shown image
  for (std::size_t c = 0; c < C; ++c) {
    pictures[c].resize(std::min(members, r.ranked_members[c].size()));
    for (std::size_t q = 0; q < pictures[c].size(); ++q) {
      shown.push_back(a.paths[a.analysed[r.ranked_members[c][q]]]);
      slot.emplace_back(c, q);
    }
  }
  model::ExplainOptions eo;
  eo.composite = options.composite;
  eo.class_index = a.cls;
  eo.threads = options.threads;
  render::HeatmapOptions hopts;
  hopts.scaling = render::HeatmapScaling::percentile;
  hopts.percentile = 99.5;
  std::mutex mutex;
  model::explain_files(model, shown, eo, [&](model::ImageExplanation&& e) {
    if (!e.error.empty()) return;
    const render::Bgr8Image image = render::decode_bgr8(e.bytes, e.path);
    std::pair<ReportPicture, ReportPicture> p{encode_picture(image, 200, true),
                                              encode_picture(render::render_heatmap(e.explanation.pixels, hopts, &image), 200, false)};
    const std::lock_guard<std::mutex> lock(mutex);
    pictures[slot[e.index].first][slot[e.index].second] = std::move(p);
  });
  return pictures;
}

void write_spray_report(const std::string& dir, const model::Model& model, const evaluation::SprayAnalysis& a,
                        const evaluation::SprayImagesOptions& options, std::size_t members) {
  const std::filesystem::path out = std::filesystem::u8path(dir);
  const std::string title =
      "bowlrp spray: class " + model.class_names().at(a.cls) + ", " + std::to_string(a.result.images) + " images";
  const auto pictures = spray_member_pictures(model, a, options, members);
  std::filesystem::create_directories(out);
  core::write_file_atomic((out / "report.json").u8string(),
                          dump_json(spray_json(a, model.class_names(), members), 1) + "\n");
  core::write_file_atomic((out / "index.html").u8string(), spray_html(a, title, pictures));
}

}  // namespace bowlrp::apps
