#include <bowlrp/evaluation/artefact.h>

#include <bowlrp/core/io.h>
#include <bowlrp/core/random.h>
#include <bowlrp/core/utf8.h>
#include <bowlrp/datasets/voc_eval.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>
#include <map>
#include <stdexcept>
#include <utility>

namespace bowlrp::evaluation {

namespace {

using nlohmann::json;

[[noreturn]] void bad_file(const std::string& path, const std::string& problem) {
  throw std::runtime_error("'" + path + "' " + problem);
}

json parse_json_file(const std::string& path, const char* what) {
  const std::string text = core::read_file(path);
  try {
    return json::parse(text);
  } catch (const json::exception& e) {
    bad_file(path, std::string("is not a JSON ") + what + ": " + e.what());
  }
}

double field_number(const json& e, const std::string& path, const std::string& entry, const char* key, bool positive) {
  if (!e.contains(key) || !e.at(key).is_number())
    bad_file(path, "has " + entry + " without a number \"" + key + "\"" +
                       (e.contains(key) ? " (found " + e.at(key).dump() + ")" : ""));
  const double v = e.at(key).get<double>();
  if (!std::isfinite(v) || (positive ? v <= 0 : v < 0))
    bad_file(path, "has " + entry + "." + key + " = " + e.at(key).dump() + ": expected a finite number " +
                       (positive ? "> 0" : ">= 0"));
  return v;
}

// The path of a JSON entry's "image" (or its exact bytes in "image_hex", core/json_text.h).
std::string image_path(const json& e, const std::string& path, const std::string& entry) {
  if (e.contains("image_hex") && e.at("image_hex").is_string()) {
    const std::string hex = e.at("image_hex").get<std::string>();
    const auto digit = [](char c) { return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1; };
    std::string out;
    for (std::size_t i = 0; i + 1 < hex.size(); i += 2) {
      const int hi = digit(hex[i]), lo = digit(hex[i + 1]);
      if (hi < 0 || lo < 0) bad_file(path, "has " + entry + ".image_hex that is not lowercase hex bytes");
      out.push_back(static_cast<char>(hi * 16 + lo));
    }
    if (hex.size() % 2 || out.empty()) bad_file(path, "has " + entry + ".image_hex that is not lowercase hex bytes");
    return out;
  }
  if (!e.contains("image") || !e.at("image").is_string() || e.at("image").get<std::string>().empty())
    bad_file(path, "has " + entry + " without an image path (\"image\": a non-empty string)");
  return e.at("image").get<std::string>();
}

}  // namespace

bool ArtefactRegion::contains(const bow::GrayImage& image, int x, int y) const {
  double px, py;
  if (relative) {
    px = (x + 0.5) / image.width;
    py = (y + 0.5) / image.height;
  } else {
    px = (x + 0.5) / image.scale_x;
    py = (y + 0.5) / image.scale_y;
  }
  for (const ArtefactBox& b : boxes)
    if (px >= b.x && px < b.x + b.width && py >= b.y && py < b.y + b.height) return true;
  return false;
}

bool region_contains_file_pixel(const ArtefactRegion& region, int width, int height, int x, int y) {
  const double px = region.relative ? (x + 0.5) / width : x + 0.5;
  const double py = region.relative ? (y + 0.5) / height : y + 0.5;
  for (const ArtefactBox& b : region.boxes)
    if (px >= b.x && px < b.x + b.width && py >= b.y && py < b.y + b.height) return true;
  return false;
}

std::vector<ArtefactRegion> read_artefact_regions(const std::string& path) {
  const json j = parse_json_file(path, "regions file");
  if (!j.is_array() || j.empty())
    bad_file(path, "is not a regions file: expected a non-empty JSON array of {\"image\", \"x\", \"y\", \"width\", "
                   "\"height\"} (file pixels)");
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  std::vector<ArtefactRegion> out;
  std::map<std::string, std::size_t> index;
  for (std::size_t i = 0; i < j.size(); ++i) {
    const std::string entry = "entry " + std::to_string(i);
    const json& e = j[i];
    if (!e.is_object()) bad_file(path, "has " + entry + " = " + e.dump() + ": expected an object");
    for (const auto& item : e.items())
      if (item.key() != "image" && item.key() != "image_hex" && item.key() != "x" && item.key() != "y" &&
          item.key() != "width" && item.key() != "height")
        bad_file(path, "has " + entry + " with an unknown field \"" + item.key() +
                           "\": expected image, x, y, width, height");
    std::string image = image_path(e, path, entry);
    if (std::filesystem::path(image).is_relative() && !folder.empty()) image = (folder / image).string();
    const ArtefactBox b{field_number(e, path, entry, "x", false), field_number(e, path, entry, "y", false),
                        field_number(e, path, entry, "width", true), field_number(e, path, entry, "height", true)};
    const auto [it, fresh] = index.emplace(image, out.size());
    if (fresh) out.push_back(ArtefactRegion{image, {}, false});
    out[it->second].boxes.push_back(b);
  }
  return out;
}

std::vector<ArtefactRegion> spray_artefact_regions(const std::string& path, int cluster) {
  const json j = parse_json_file(path, "SpRAy report");
  if (!j.is_object() || !j.contains("cluster_details") || !j.contains("assignments") || !j.contains("grid"))
    bad_file(path, "is not a SpRAy report (bowlrp spray's spray-report.json): expected the fields cluster_details, "
                   "assignments and grid");
  const json& details = j.at("cluster_details");
  if (cluster < 0 || !details.is_array() || static_cast<std::size_t>(cluster) >= details.size())
    bad_file(path, "has no cluster " + std::to_string(cluster) + ": expected 0 .. " +
                       std::to_string(details.is_array() ? static_cast<long>(details.size()) - 1 : -1));
  const json& c = details[static_cast<std::size_t>(cluster)];
  if (!c.contains("causal") || !c.at("causal").contains("region_cells"))
    bad_file(path, "has no causal region for cluster " + std::to_string(cluster) +
                       " (made with --causal-images 0?): run bowlrp spray with its causal test");
  const int gw = j.at("grid").value("width", 0), gh = j.at("grid").value("height", 0);
  if (gw < 1 || gh < 1) bad_file(path, "has a grid of " + j.at("grid").dump() + ": expected width and height >= 1");
  ArtefactRegion proto;
  proto.relative = true;
  for (const json& g : c.at("causal").at("region_cells")) {
    if (!g.is_number_integer() || g.get<long>() < 0 || g.get<long>() >= static_cast<long>(gw) * gh)
      bad_file(path, "has a region cell " + g.dump() + " of cluster " + std::to_string(cluster) + ": expected 0 .. " +
                         std::to_string(gw * gh - 1));
    const long k = g.get<long>();
    proto.boxes.push_back(ArtefactBox{double(k % gw) / gw, double(k / gw) / gh, 1.0 / gw, 1.0 / gh});
  }
  if (proto.boxes.empty()) bad_file(path, "has an empty causal region for cluster " + std::to_string(cluster));
  std::vector<ArtefactRegion> out;
  const json& a = j.at("assignments");
  for (std::size_t i = 0; i < a.size(); ++i) {
    if (!a[i].contains("cluster") || !a[i].at("cluster").is_number_integer() || a[i].at("cluster").get<int>() != cluster)
      continue;
    ArtefactRegion r = proto;
    r.image = image_path(a[i], path, "assignments[" + std::to_string(i) + "]");
    out.push_back(std::move(r));
  }
  if (out.empty()) bad_file(path, "lists no image of cluster " + std::to_string(cluster));
  return out;
}

std::string spray_report_class(const std::string& path) {
  const json j = parse_json_file(path, "SpRAy report");
  if (!j.is_object() || !j.contains("class") || !j.at("class").is_string())
    bad_file(path, "is not a SpRAy report (bowlrp spray's report.json): expected a string field class");
  return j.at("class").get<std::string>();
}

void ArtefactOptions::validate() const {
  to_string(fill);
  if (!(blur_sigma > 0) || !std::isfinite(blur_sigma))
    throw std::invalid_argument("ArtefactOptions.blur_sigma = " + std::to_string(blur_sigma) + ": expected a finite value > 0");
  if (clamp) bow::to_string(*clamp);
  core::validate_threads(threads, "ArtefactOptions.threads");
}

bow::GrayImage erase_region(const bow::GrayImage& image, const ArtefactRegion& region, const ArtefactOptions& options) {
  options.validate();
  PixelFlipOptions fo;
  fo.fill = options.fill;
  fo.blur_sigma = options.blur_sigma;
  fo.seed = options.seed;
  const std::vector<float> fill = flip_fill(image, fo);
  bow::GrayImage out = image;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (region.contains(image, x, y)) {
        const std::size_t q = static_cast<std::size_t>(y) * image.width + x;
        out.pixels[q] = fill[q];
      }
  return out;
}

ArtefactEncodings artefact_encodings(const model::Model& model, const std::vector<ArtefactRegion>& regions,
                                     const ArtefactOptions& options, const core::ProgressFn& progress) {
  options.validate();
  for (std::size_t i = 0; i < regions.size(); ++i)
    if (regions[i].boxes.empty())
      throw std::invalid_argument("artefact region " + std::to_string(i) + " (" + core::utf8_display(regions[i].image) +
                                  ") has no box: expected at least one");
  const std::size_t n = regions.size(), V = model.dimension();
  std::vector<std::vector<double>> with(n), without(n);
  std::vector<std::string> errors(n);
  core::for_each_index(n, options.threads, "encode artefact images", progress, [&](std::size_t i) {
    try {
      const bow::GrayImage image = model.load_image(regions[i].image);
      with[i] = bow::head_input(model.encode(image));
      without[i] = bow::head_input(model.encode(erase_region(image, regions[i], options)));
    } catch (const std::exception& e) {
      errors[i] = e.what();
      with[i].clear();
    }
  });
  ArtefactEncodings out;
  out.V = V;
  for (std::size_t i = 0; i < n; ++i) {
    if (!errors[i].empty()) {
      out.failures.push_back({regions[i].image, errors[i]});
      continue;
    }
    out.with.insert(out.with.end(), with[i].begin(), with[i].end());
    out.without.insert(out.without.end(), without[i].begin(), without[i].end());
    out.images.push_back(regions[i].image);
  }
  return out;
}

bow::ArtefactProjection artefact_projection(const model::Model& model, const ArtefactEncodings& e,
                                            const ArtefactOptions& options) {
  options.validate();
  if (e.size() == 0)
    throw std::invalid_argument("artefact projection: no image of the artefact could be encoded" +
                                (e.failures.empty() ? std::string() : " (first failure: " + e.failures[0].reason + ")"));
  if (e.V != model.dimension())
    throw std::invalid_argument("artefact projection: encodings of " + std::to_string(e.V) + " values for a model of " +
                                std::to_string(model.dimension()));
  const bow::ProjectionClamp clamp =
      options.clamp ? *options.clamp
                    : model.head_needs_non_negative_inputs() ? bow::ProjectionClamp::non_negative : bow::ProjectionClamp::none;
  return bow::ArtefactProjection::from_encodings(e.with.data(), e.size(), e.without.data(), e.size(), e.V, clamp);
}

model::Model project_artefact(const model::Model& model, const std::vector<ArtefactRegion>& regions,
                              const ArtefactOptions& options, const core::ProgressFn& progress) {
  const ArtefactEncodings e = artefact_encodings(model, regions, options, progress);
  return model.with_artefact_projection(artefact_projection(model, e, options));
}

ArtefactPatch cut_artefact(const bow::GrayImage& image, const ArtefactRegion& region) {
  int x0 = image.width, y0 = image.height, x1 = -1, y1 = -1;
  for (int y = 0; y < image.height; ++y)
    for (int x = 0; x < image.width; ++x)
      if (region.contains(image, x, y)) {
        x0 = std::min(x0, x);
        y0 = std::min(y0, y);
        x1 = std::max(x1, x);
        y1 = std::max(y1, y);
      }
  if (x1 < 0)
    throw std::invalid_argument("artefact region on " + core::utf8_display(region.image) +
                                " holds no pixel of the image (" + std::to_string(image.width) + " x " +
                                std::to_string(image.height) + " working px): expected a region inside it");
  ArtefactPatch p;
  p.width = x1 - x0 + 1;
  p.height = y1 - y0 + 1;
  p.x = double(x0) / image.width;
  p.y = double(y0) / image.height;
  for (int y = y0; y <= y1; ++y)
    for (int x = x0; x <= x1; ++x) {
      p.pixels.push_back(image.at(x, y));
      p.mask.push_back(region.contains(image, x, y) ? 1 : 0);
    }
  return p;
}

bow::GrayImage paste_artefact(const bow::GrayImage& image, const ArtefactPatch& patch) {
  bow::GrayImage out = image;
  const int x0 = static_cast<int>(std::floor(patch.x * image.width + 0.5));
  const int y0 = static_cast<int>(std::floor(patch.y * image.height + 0.5));
  for (int v = 0; v < patch.height; ++v)
    for (int u = 0; u < patch.width; ++u) {
      const int x = x0 + u, y = y0 + v;
      const std::size_t q = static_cast<std::size_t>(v) * patch.width + u;
      if (x < 0 || y < 0 || x >= image.width || y >= image.height || !patch.mask[q]) continue;
      out.pixels[static_cast<std::size_t>(y) * image.width + x] = patch.pixels[q];
    }
  return out;
}

void AugmentOptions::validate() const {
  artefact.validate();
  if (!(share > 0 && share <= 1))
    throw std::invalid_argument("AugmentOptions.share = " + std::to_string(share) + ": expected a value in (0, 1]");
}

model::LabelledImages augment_artefact(const model::Model& model, const model::LabelledImages& data, std::size_t cls,
                                       const std::vector<ArtefactRegion>& regions, const AugmentOptions& options,
                                       std::size_t* pasted) {
  options.validate();
  data.validate();
  const std::size_t C = data.class_names.size(), n = data.images.size();
  if (cls >= C)
    throw std::invalid_argument("augment_artefact: class " + std::to_string(cls) + " but the data has " +
                                std::to_string(C) + " classes");
  // The patches, from the regions' images (unreadable ones skipped; at least one needed).
  std::vector<ArtefactPatch> patches;
  std::string first_error;
  for (const ArtefactRegion& r : regions) {
    try {
      patches.push_back(cut_artefact(model.load_image(r.image), r));
    } catch (const std::runtime_error& e) {
      if (first_error.empty()) first_error = e.what();
    }
  }
  if (patches.empty())
    throw std::invalid_argument("augment_artefact: no artefact could be cut from the " + std::to_string(regions.size()) +
                                " regions" + (first_error.empty() ? "" : " (first failure: " + first_error + ")"));
  // Which images: the seeded first share of the others, each with a seeded patch.
  std::vector<std::size_t> others;
  for (std::size_t i = 0; i < n; ++i)
    if (data.labels[i * C + cls] != 1) others.push_back(i);
  const std::vector<std::size_t> order = core::random_permutation(others.size(), options.seed);
  const std::size_t take = static_cast<std::size_t>(std::ceil(options.share * static_cast<double>(others.size()) - 1e-9));
  std::vector<long> patch_of(n, -1);
  for (std::size_t k = 0; k < take; ++k)
    patch_of[others[order[k]]] =
        static_cast<long>(core::derived_seed(options.seed, others[order[k]]) % patches.size());
  std::map<std::string, const ArtefactRegion*> erase;
  for (const ArtefactRegion& r : regions) erase.emplace(r.image, &r);
  std::vector<bow::GrayImage> images(n);
  std::vector<std::string> errors(n);
  core::for_each_index(n, options.artefact.threads, "augment training images", {}, [&](std::size_t i) {
    try {
      bow::GrayImage g = data.images.load(i, model.loader());
      if (options.erase_own && data.images.files()) {
        const auto it = erase.find(data.images.paths()[i]);
        if (it != erase.end() && data.labels[i * C + cls] == 1) g = erase_region(g, *it->second, options.artefact);
      }
      if (patch_of[i] >= 0) g = paste_artefact(g, patches[static_cast<std::size_t>(patch_of[i])]);
      images[i] = std::move(g);
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < n; ++i)
    if (!errors[i].empty()) throw std::runtime_error("augment_artefact: " + errors[i]);
  if (pasted) *pasted = take;
  model::LabelledImages out;
  out.images = model::ImageSource(std::move(images));
  out.class_names = data.class_names;
  out.labels = data.labels;
  out.single_label = data.single_label;
  return out;
}

model::Model augment_and_refit(const model::Model& model, const model::LabelledImages& data, const std::string& class_name,
                               const std::vector<ArtefactRegion>& regions, const AugmentOptions& options,
                               const core::ProgressFn& progress) {
  const auto it = std::find(data.class_names.begin(), data.class_names.end(), class_name);
  if (it == data.class_names.end())
    throw std::invalid_argument("augment_and_refit: the class " + core::utf8_display(class_name) +
                                " is not one of the training data's classes");
  const model::LabelledImages augmented =
      augment_artefact(model, data, static_cast<std::size_t>(it - data.class_names.begin()), regions, options);
  model::FitOptions fo = model::FitOptions::from_model(model);
  fo.threads = options.artefact.threads;
  return model::fit(augmented, fo, progress);
}

ArtefactEffect artefact_effect(const model::Model& model, std::size_t cls, const std::vector<ArtefactRegion>& regions,
                               const std::vector<std::string>& others, std::uint64_t seed, int threads) {
  core::validate_threads(threads, "artefact_effect threads");
  if (cls >= model.classes())
    throw std::invalid_argument("artefact_effect: class " + std::to_string(cls) + " but the model has " +
                                std::to_string(model.classes()) + " classes");
  ArtefactEffect out;
  std::vector<ArtefactPatch> patches;
  std::vector<std::string> region_errors(regions.size());
  std::vector<double> share(regions.size(), 0.0), area(regions.size(), 0.0);
  std::vector<char> region_ok(regions.size(), 0);
  const decompose::Explainer explainer = model.explainer();
  for (std::size_t i = 0; i < regions.size(); ++i) {
    try {
      const bow::GrayImage g = model.load_image(regions[i].image);
      patches.push_back(cut_artefact(g, regions[i]));
    } catch (const std::runtime_error& e) {
      region_errors[i] = e.what();
    }
  }
  if (patches.empty())
    throw std::invalid_argument("artefact_effect: no artefact could be cut from the " + std::to_string(regions.size()) +
                                " regions");
  core::for_each_index(regions.size(), threads, "explain artefact images", {}, [&](std::size_t i) {
    if (!region_errors[i].empty()) return;
    try {
      const decompose::Explanation e = explainer.explain(model.encode_file(regions[i].image), cls);
      const decompose::PixelRelevance& p = e.pixels;
      double in = 0, all = 0, inside = 0;
      for (int y = 0; y < p.height; ++y)
        for (int x = 0; x < p.width; ++x) {
          const bool r = region_contains_file_pixel(regions[i], p.width, p.height, x, y);
          const double v = std::max(0.0, p.at(x, y));
          all += v;
          if (r) {
            in += v;
            inside += 1;
          }
        }
      share[i] = all > 0 ? in / all : 0.0;
      area[i] = inside / (static_cast<double>(p.width) * p.height);
      region_ok[i] = 1;
    } catch (const std::exception& e) {
      region_errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < regions.size(); ++i) {
    if (!region_ok[i]) {
      out.failures.push_back({regions[i].image, region_errors[i]});
      continue;
    }
    ++out.region_images;
    out.relevance_share += share[i];
    out.area_share += area[i];
  }
  if (out.region_images) {
    out.relevance_share /= static_cast<double>(out.region_images);
    out.area_share /= static_cast<double>(out.region_images);
  }
  std::vector<double> rise(others.size(), 0.0);
  std::vector<std::string> errors(others.size());
  core::for_each_index(others.size(), threads, "paste the artefact", {}, [&](std::size_t i) {
    try {
      const bow::GrayImage g = model.load_image(others[i]);
      const ArtefactPatch& patch = patches[core::derived_seed(seed, i) % patches.size()];
      rise[i] = model.scores(model.encode(paste_artefact(g, patch)))[cls] - model.scores(model.encode(g))[cls];
    } catch (const std::exception& e) {
      errors[i] = e.what();
    }
  });
  for (std::size_t i = 0; i < others.size(); ++i) {
    if (!errors[i].empty()) {
      out.failures.push_back({others[i], errors[i]});
      continue;
    }
    ++out.pasted_images;
    out.pasted_rise += rise[i];
  }
  if (out.pasted_images) out.pasted_rise /= static_cast<double>(out.pasted_images);
  return out;
}

void FixComparisonOptions::validate() const { artefact.validate(); }

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// The share of the positive relevance of an explanation's pixel map inside the region, and the region's area share.
std::pair<double, double> region_shares(const decompose::PixelRelevance& p, const ArtefactRegion& region) {
  double in = 0, all = 0, inside = 0;
  for (int y = 0; y < p.height; ++y)
    for (int x = 0; x < p.width; ++x) {
      const double v = std::max(0.0, p.at(x, y));
      all += v;
      if (region_contains_file_pixel(region, p.width, p.height, x, y)) {
        in += v;
        inside += 1;
      }
    }
  return {all > 0 ? in / all : 0.0, inside / (static_cast<double>(p.width) * p.height)};
}

// Mean of v over the indices with ok set.
double mean_ok(const std::vector<double>& v, const std::vector<char>& ok) {
  double s = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < v.size(); ++i)
    if (ok[i]) {
      s += v[i];
      ++n;
    }
  return n ? s / static_cast<double>(n) : kNaN;
}

}  // namespace

FixComparison compare_fix(const model::Model& before, const model::Model& after, std::size_t cls,
                          const std::vector<ArtefactRegion>& regions, const std::vector<std::string>& others,
                          const model::LabelledImages& test, const FixComparisonOptions& options,
                          const core::ProgressFn& progress) {
  options.validate();
  if (before.class_names() != after.class_names())
    throw std::invalid_argument("compare_fix: the models before and after the fix have different classes");
  if (cls >= before.classes())
    throw std::invalid_argument("compare_fix: class " + std::to_string(cls) + " but the model has " +
                                std::to_string(before.classes()) + " classes");
  const std::size_t T = test.images.size(), C = test.class_names.size();
  std::vector<std::size_t> test_cls(C);
  if (T) {
    test.validate();
    for (std::size_t c = 0; c < C; ++c) {
      const auto& names = before.class_names();
      const auto it = std::find(names.begin(), names.end(), test.class_names[c]);
      if (it == names.end())
        throw std::invalid_argument("compare_fix: test class '" + test.class_names[c] + "' is not a class of the model");
      test_cls[c] = static_cast<std::size_t>(it - names.begin());
    }
  }
  const int threads = options.artefact.threads;
  FixComparison out;
  out.cls = cls;
  const std::size_t R = regions.size(), O = others.size();
  for (const ArtefactRegion& r : regions) out.region_images.push_back(r.image);
  out.others = others;
  for (std::size_t i = 0; i < T; ++i) out.test_images.push_back(test.images.name(i));
  if (T) out.test_classes = test.class_names;

  // The patches, cut from the images as the model before decodes them (working px).
  std::vector<std::size_t> patch_region;  // region of each patch
  std::vector<ArtefactPatch> patches;
  std::vector<std::string> region_error(R);
  for (std::size_t i = 0; i < R; ++i) {
    if (regions[i].boxes.empty()) throw std::invalid_argument("compare_fix: region of '" + regions[i].image + "' has no box");
    try {
      patches.push_back(cut_artefact(before.load_image(regions[i].image), regions[i]));
      patch_region.push_back(i);
    } catch (const std::exception& e) {
      region_error[i] = e.what();
    }
  }
  if (patches.empty())
    throw std::invalid_argument("compare_fix: no artefact could be cut from the " + std::to_string(R) + " regions");
  for (std::size_t i = 0; i < O; ++i)
    out.other_patch.push_back(patch_region[core::derived_seed(options.seed, i) % patches.size()]);

  out.area_shares.assign(R, kNaN);
  std::vector<std::string> other_error(O), test_error(T);
  for (int m = 0; m < 2; ++m) {
    const model::Model& model = m == 0 ? before : after;
    FixNumbers& n = m == 0 ? out.before : out.after;
    const decompose::Explainer explainer = model.explainer();
    n.region_scores.assign(R, kNaN);
    n.erased_scores.assign(R, kNaN);
    n.relevance_shares.assign(R, kNaN);
    core::for_each_index(R, threads, "explain the artefact images", progress, [&](std::size_t i) {
      if (!region_error[i].empty()) return;
      try {
        const bow::GrayImage g = model.load_image(regions[i].image);
        const model::Trace t = model.encode(g);
        n.region_scores[i] = model.scores(t)[cls];
        n.erased_scores[i] = model.scores(model.encode(erase_region(g, regions[i], options.artefact)))[cls];
        const auto [share, area] = region_shares(explainer.explain(t, cls).pixels, regions[i]);
        n.relevance_shares[i] = share;
        if (m == 0) out.area_shares[i] = area;
      } catch (const std::exception& e) {
        region_error[i] = e.what();
      }
    });
    n.other_scores.assign(O, kNaN);
    n.pasted_scores.assign(O, kNaN);
    core::for_each_index(O, threads, "paste the artefact", progress, [&](std::size_t i) {
      if (!other_error[i].empty()) return;
      try {
        const bow::GrayImage g = model.load_image(others[i]);
        const ArtefactPatch& patch = patches[core::derived_seed(options.seed, i) % patches.size()];
        n.other_scores[i] = model.scores(model.encode(g))[cls];
        n.pasted_scores[i] = model.scores(model.encode(paste_artefact(g, patch)))[cls];
      } catch (const std::exception& e) {
        other_error[i] = e.what();
      }
    });
    n.test_scores.assign(T, std::vector<double>(C, kNaN));
    core::for_each_index(T, threads, "score the test set", progress, [&](std::size_t i) {
      if (!test_error[i].empty()) return;
      try {
        const std::vector<double> s = model.scores(model.encode(test.images.load(i, model.loader())));
        for (std::size_t c = 0; c < C; ++c) n.test_scores[i][c] = s[test_cls[c]];
      } catch (const std::exception& e) {
        test_error[i] = e.what();
      }
    });
  }
  std::vector<char> region_ok(R), other_ok(O), test_ok(T);
  for (std::size_t i = 0; i < R; ++i) {
    region_ok[i] = region_error[i].empty();
    if (region_ok[i]) ++out.region_used;
    else out.failures.push_back({regions[i].image, region_error[i]});
  }
  for (std::size_t i = 0; i < O; ++i) {
    other_ok[i] = other_error[i].empty();
    if (other_ok[i]) ++out.others_used;
    else out.failures.push_back({others[i], other_error[i]});
  }
  for (std::size_t i = 0; i < T; ++i) {
    test_ok[i] = test_error[i].empty();
    if (test_ok[i]) ++out.test_used;
    else out.failures.push_back({test.images.name(i), test_error[i]});
  }
  out.area_share = mean_ok(out.area_shares, region_ok);
  for (FixNumbers* n : {&out.before, &out.after}) {
    // An image one model could not read is left out of both.
    for (std::size_t i = 0; i < R; ++i)
      if (!region_ok[i]) n->region_scores[i] = n->erased_scores[i] = n->relevance_shares[i] = kNaN;
    for (std::size_t i = 0; i < O; ++i)
      if (!other_ok[i]) n->other_scores[i] = n->pasted_scores[i] = kNaN;
    std::vector<double> drop(R, 0.0), rise(O, 0.0);
    for (std::size_t i = 0; i < R; ++i)
      if (region_ok[i]) drop[i] = n->region_scores[i] - n->erased_scores[i];
    for (std::size_t i = 0; i < O; ++i)
      if (other_ok[i]) rise[i] = n->pasted_scores[i] - n->other_scores[i];
    n->causal_drop = mean_ok(drop, region_ok);
    n->relevance_share = mean_ok(n->relevance_shares, region_ok);
    n->pasted_rise = mean_ok(rise, other_ok);
    n->accuracy = kNaN;
    n->mean_ap = kNaN;
    n->ap.assign(C, kNaN);
    if (!out.test_used) continue;
    if (test.single_label) {
      std::size_t right = 0;
      for (std::size_t i = 0; i < T; ++i) {
        if (!test_ok[i]) continue;
        std::size_t best = 0;
        for (std::size_t c = 1; c < C; ++c)
          if (n->test_scores[i][c] > n->test_scores[i][best]) best = c;
        right += test.labels[i * C + best] == 1;
      }
      n->accuracy = static_cast<double>(right) / static_cast<double>(out.test_used);
    }
    std::vector<double> with_positives;
    for (std::size_t c = 0; c < C; ++c) {
      std::vector<double> s;
      std::vector<int> l;
      for (std::size_t i = 0; i < T; ++i)
        if (test_ok[i]) {
          s.push_back(n->test_scores[i][c]);
          l.push_back(test.labels[i * C + c]);
        }
      if (std::find(l.begin(), l.end(), 1) == l.end()) continue;
      n->ap[c] = datasets::voc07_ap(s, l);
      with_positives.push_back(n->ap[c]);
    }
    if (!with_positives.empty()) n->mean_ap = datasets::mean_ap(with_positives);
  }
  return out;
}

}  // namespace bowlrp::evaluation
