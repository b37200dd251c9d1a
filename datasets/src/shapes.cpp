#include <bowlrp/datasets/shapes.h>

#include <bowlrp/bow/imgcodecs.h>
#include <bowlrp/core/io.h>

#include "random.h"

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <tbb/parallel_for.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <stdexcept>
#include <string>
#include <vector>

namespace bowlrp::datasets {

namespace {

constexpr double kPi = 3.14159265358979323846;
const char* const kShapeNames[] = {"circle", "square", "triangle", "cross"};
// Enclosing radius of every outline (a rotated square's half diagonal) over the side; the same
// for all classes so that the position distribution does not reveal the class.
constexpr double kEnclosingRadius = 0.70711;

int shape_id(const std::string& name) {
  for (int k = 0; k < 4; ++k)
    if (name == kShapeNames[k]) return k;
  return -1;
}

// sin on IEEE doubles with + and * only (libm's sin may differ in the last bit between
// platforms, and such a bit can flip a rounded pixel). Absolute error < 1e-9.
double portable_sin(double x) {
  x -= 2.0 * kPi * std::nearbyint(x / (2.0 * kPi));  // [-pi, pi]
  if (x > 0.5 * kPi) x = kPi - x;
  else if (x < -0.5 * kPi) x = -kPi - x;  // [-pi/2, pi/2]
  const double x2 = x * x;
  // Taylor series to x^15: remainder (pi/2)^17/17! < 1e-10.
  double p = -1.0 / 1307674368000.0;
  p = p * x2 + 1.0 / 6227020800.0;
  p = p * x2 - 1.0 / 39916800.0;
  p = p * x2 + 1.0 / 362880.0;
  p = p * x2 - 1.0 / 5040.0;
  p = p * x2 + 1.0 / 120.0;
  p = p * x2 - 1.0 / 6.0;
  p = p * x2 + 1.0;
  return x * p;
}
double portable_cos(double x) { return portable_sin(x + 0.5 * kPi); }

struct Rgb {
  double c[3];
};

// A random colour of given luminance (Rec. 601 weights): a random chroma around grey, scaled by a
// random saturation, then clamped.
Rgb colour_with_luminance(detail::Rng& rng, double luminance) {
  double r = rng.uniform(), g = rng.uniform(), b = rng.uniform();
  const double y = 0.299 * r + 0.587 * g + 0.114 * b;
  const double saturation = rng.uniform(0.3, 0.9);
  Rgb out{{luminance + saturation * (r - y), luminance + saturation * (g - y), luminance + saturation * (b - y)}};
  for (double& v : out.c) v = std::clamp(v, 0.0, 1.0);
  return out;
}

// A plane wave 0.5 + 0.5 sin(k . p + phase) with a random direction, wavelength and phase.
struct Grating {
  double kx, ky, phase;
  Grating(detail::Rng& rng, double min_wavelength, double max_wavelength) {
    const double wavelength = rng.uniform(min_wavelength, max_wavelength);
    const double angle = rng.uniform(0.0, kPi);
    const double k = 2.0 * kPi / wavelength;
    kx = k * portable_cos(angle);
    ky = k * portable_sin(angle);
    phase = rng.uniform(0.0, 2.0 * kPi);
  }
  double operator()(double x, double y) const { return portable_sin(kx * x + ky * y + phase); }
};

struct Blob {
  double x, y, inv_r2, strength;
  Rgb colour;
};

// Whether local point (u, v), in units of the side and centred on the frame, is on the object.
bool inside(int shape, double u, double v) {
  switch (shape) {
    case 0: return u * u + v * v <= 0.25;
    case 1: return std::fabs(u) <= 0.5 && std::fabs(v) <= 0.5;
    case 2: return v <= 0.5 && std::fabs(u) <= 0.5 * (v + 0.5);  // apex up, base at the bottom
    default: {
      const double au = std::fabs(u), av = std::fabs(v);
      return (au <= 1.0 / 6.0 && av <= 0.5) || (av <= 1.0 / 6.0 && au <= 0.5);
    }
  }
}

std::string fail(const std::string& field, const std::string& value, const std::string& expected) {
  return "ShapesOptions::" + field + " = " + value + ", expected " + expected;
}

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%g", v);
  return buf;
}

std::string image_stem(const std::string& class_name, int i) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "_%04d", i);
  return class_name + buf;
}

}  // namespace

void ShapesOptions::validate() const {
  if (classes.empty()) throw std::invalid_argument(fail("classes", "{}", "a non-empty subset of circle, square, triangle, cross"));
  for (std::size_t i = 0; i < classes.size(); ++i) {
    if (shape_id(classes[i]) < 0) {
      throw std::invalid_argument(fail("classes[" + std::to_string(i) + "]", "'" + classes[i] + "'",
                                       "one of circle, square, triangle, cross"));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (classes[j] == classes[i]) {
        throw std::invalid_argument(fail("classes[" + std::to_string(i) + "]", "'" + classes[i] + "'",
                                         "each class at most once"));
      }
    }
  }
  if (images_per_class < 1 || images_per_class > 1000000) {
    throw std::invalid_argument(fail("images_per_class", std::to_string(images_per_class), "1 .. 1000000"));
  }
  if (width < 16 || width > 8192) throw std::invalid_argument(fail("width", std::to_string(width), "16 .. 8192 pixels"));
  if (height < 16 || height > 8192) throw std::invalid_argument(fail("height", std::to_string(height), "16 .. 8192 pixels"));
  if (!(min_scale > 0.0 && min_scale <= max_scale)) {
    throw std::invalid_argument(fail("min_scale", number(min_scale), "0 < min_scale <= max_scale (" + number(max_scale) + ")"));
  }
  if (!(max_scale <= 0.7)) {
    throw std::invalid_argument(fail("max_scale", number(max_scale), "at most 0.7 (a rotated object must fit the image)"));
  }
  const double min_side = min_scale * std::min(width, height);
  if (!(min_side >= 8.0)) {
    throw std::invalid_argument(fail("min_scale", number(min_scale),
                                     "at least 8 pixels / min(width, height) = " + number(8.0 / std::min(width, height)) +
                                         " so the smallest object is 8 pixels wide"));
  }
  if (!(max_rotation >= 0.0 && max_rotation <= 180.0)) {
    throw std::invalid_argument(fail("max_rotation", number(max_rotation), "0 .. 180 degrees"));
  }
}

double shape_area_factor(const std::string& class_name) {
  switch (shape_id(class_name)) {
    case 0: return kPi / 4.0;
    case 1: return 1.0;
    case 2: return 0.5;
    case 3: return 5.0 / 9.0;
    default: throw std::invalid_argument("shape_area_factor: unknown shape class '" + class_name +
                                         "', expected circle, square, triangle or cross");
  }
}

ShapeImage generate_shape(const ShapesOptions& options, int index) {
  options.validate();
  const int n_classes = static_cast<int>(options.classes.size());
  const long long total = static_cast<long long>(n_classes) * options.images_per_class;
  if (index < 0 || index >= total) {
    throw std::out_of_range("generate_shape: index " + std::to_string(index) + " outside the set, expected 0 .. " +
                            std::to_string(total - 1));
  }
  const int w = options.width, h = options.height;
  const double m = std::min(w, h);
  // One stream per image: any image can be generated alone, in any order or thread.
  detail::Rng rng(options.seed, static_cast<std::uint64_t>(index));

  ShapeImage img;
  img.class_name = options.classes[static_cast<std::size_t>(index % n_classes)];
  img.width = w;
  img.height = h;
  const int shape = shape_id(img.class_name);

  // Background: two colours of different luminance mixed by two gratings, then soft blobs.
  const double bg_luminance = rng.uniform(0.3, 0.7);
  const Rgb bg_a = colour_with_luminance(rng, bg_luminance + 0.1);
  const Rgb bg_b = colour_with_luminance(rng, bg_luminance - 0.1);
  const Grating g1(rng, 0.09 * m, 0.25 * m), g2(rng, 0.09 * m, 0.25 * m);
  const double g1_weight = rng.uniform(0.5, 0.8);
  std::vector<Blob> blobs(3 + rng.below(4));
  for (Blob& b : blobs) {
    b.x = rng.uniform(0.0, w);
    b.y = rng.uniform(0.0, h);
    const double r = rng.uniform(0.06, 0.2) * m;
    b.inv_r2 = 1.0 / (r * r);
    b.strength = rng.uniform(0.3, 0.7);
    b.colour = colour_with_luminance(rng, bg_luminance + rng.uniform(-0.12, 0.12));
  }

  // Object: place, size, rotation, and a finer texture whose mean luminance is well away from
  // the background's, so that its outline has strong gradients all round.
  img.scale = rng.uniform(options.min_scale, options.max_scale);
  const double side = img.scale * m;
  const double reach = kEnclosingRadius * side;
  img.center_x = rng.uniform(reach, w - reach);
  img.center_y = rng.uniform(reach, h - reach);
  img.rotation = rng.uniform(-options.max_rotation, options.max_rotation);
  const double theta = img.rotation * (kPi / 180.0);
  const double cos_t = portable_cos(theta), sin_t = portable_sin(theta);
  double ob_luminance = bg_luminance + ((rng.bits() >> 63) ? 1.0 : -1.0) * rng.uniform(0.2, 0.3);
  if (ob_luminance < 0.05 || ob_luminance > 0.95) ob_luminance = 2.0 * bg_luminance - ob_luminance;
  const Rgb ob_a = colour_with_luminance(rng, ob_luminance + 0.06);
  const Rgb ob_b = colour_with_luminance(rng, ob_luminance - 0.06);
  const Grating g3(rng, 0.03 * m, 0.08 * m);
  const double noise = rng.uniform(0.01, 0.04);

  img.bgr.resize(static_cast<std::size_t>(w) * h * 3);
  img.mask.resize(static_cast<std::size_t>(w) * h);
  const double inv_side = 1.0 / side;
  for (int y = 0; y < h; ++y) {
    const double py = y + 0.5;
    for (int x = 0; x < w; ++x) {
      const double px = x + 0.5;
      const double dx = px - img.center_x, dy = py - img.center_y;
      const double u = (cos_t * dx + sin_t * dy) * inv_side;
      const double v = (cos_t * dy - sin_t * dx) * inv_side;
      const bool on = inside(shape, u, v);
      double c[3];
      if (on) {
        const double t = 0.5 + 0.5 * g3(px, py);
        for (int k = 0; k < 3; ++k) c[k] = ob_b.c[k] + (ob_a.c[k] - ob_b.c[k]) * t;
      } else {
        const double t = 0.5 + 0.5 * (g1_weight * g1(px, py) + (1.0 - g1_weight) * g2(px, py));
        for (int k = 0; k < 3; ++k) c[k] = bg_b.c[k] + (bg_a.c[k] - bg_b.c[k]) * t;
        for (const Blob& b : blobs) {
          const double d2 = ((px - b.x) * (px - b.x) + (py - b.y) * (py - b.y)) * b.inv_r2;
          if (d2 >= 1.0) continue;
          const double a = b.strength * (1.0 - d2) * (1.0 - d2);
          for (int k = 0; k < 3; ++k) c[k] += (b.colour.c[k] - c[k]) * a;
        }
      }
      const std::size_t i = static_cast<std::size_t>(y) * w + x;
      img.mask[i] = on ? 1 : 0;
      for (int k = 0; k < 3; ++k) {  // RGB -> BGR, with noise drawn for every pixel alike
        const double value = std::clamp(c[k] + rng.uniform(-noise, noise), 0.0, 1.0);
        img.bgr[i * 3 + static_cast<std::size_t>(2 - k)] = static_cast<unsigned char>(value * 255.0 + 0.5);
      }
    }
  }
  return img;
}

int write_shapes(const ShapesOptions& options, const std::string& root) {
  options.validate();
  namespace fs = std::filesystem;
  const fs::path base = fs::u8path(root);
  const int n_classes = static_cast<int>(options.classes.size());
  const int total = n_classes * options.images_per_class;
  // Images are independent streams, so the files do not depend on the thread count; the
  // parallelism mostly overlaps the per-file fsync of the atomic writes.
  tbb::parallel_for(0, total, [&](int index) {
    const ShapeImage img = generate_shape(options, index);
    const std::string stem = image_stem(img.class_name, index / n_classes);
    const cv::Mat bgr(img.height, img.width, CV_8UC3, const_cast<unsigned char*>(img.bgr.data()));
    cv::Mat mask(img.height, img.width, CV_8UC1);
    for (std::size_t i = 0; i < img.mask.size(); ++i) mask.data[i] = img.mask[i] ? 255 : 0;
    const fs::path image_path = base / "images" / fs::u8path(img.class_name) / (stem + ".png");
    const fs::path mask_path = base / "masks" / fs::u8path(img.class_name) / (stem + ".png");
    std::vector<uchar> buffer;
    for (const auto& [mat, path] : {std::pair<const cv::Mat*, const fs::path*>{&bgr, &image_path}, {&mask, &mask_path}}) {
      if (!bow::imencode(".png", *mat, buffer)) {
        throw std::runtime_error("write_shapes: cannot encode '" + path->u8string() + "' as PNG");
      }
      core::write_file_atomic(path->u8string(), std::string(buffer.begin(), buffer.end()));
    }
  });
  return total;
}

std::string shape_mask_path(const std::string& image_path) {
  namespace fs = std::filesystem;
  const fs::path p = fs::u8path(image_path);
  const fs::path class_dir = p.parent_path();
  const fs::path images_dir = class_dir.parent_path();
  if (!p.has_filename() || class_dir.empty() || images_dir.filename() != "images") {
    throw std::invalid_argument("shape_mask_path: '" + image_path +
                                "' is not of the form ROOT/images/<class>/<file> written by write_shapes");
  }
  return (images_dir.parent_path() / "masks" / class_dir.filename() / p.filename()).u8string();
}

}  // namespace bowlrp::datasets
