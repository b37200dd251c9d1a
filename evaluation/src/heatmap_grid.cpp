#include <bowlrp/evaluation/heatmap_grid.h>

#include <bowlrp/core/option_text.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>

namespace bowlrp::evaluation {
namespace {

// Weights of the pixels [0, size) inside [begin, end) (fractional at the ends).
double overlap(int pixel, double begin, double end) {
  return std::max(0.0, std::min(end, pixel + 1.0) - std::max(begin, static_cast<double>(pixel)));
}

}  // namespace

std::vector<double> downsize_map(const double* map, int width, int height, int grid_width, int grid_height) {
  if (width < 1 || height < 1 || grid_width < 1 || grid_height < 1)
    throw std::invalid_argument("downsize_map: a " + std::to_string(width) + "x" + std::to_string(height) +
                                " map onto a " + std::to_string(grid_width) + "x" + std::to_string(grid_height) +
                                " grid: expected sizes >= 1");
  const double sx = static_cast<double>(width) / grid_width, sy = static_cast<double>(height) / grid_height;
  // Along x: H rows of gw cell sums, then along y.
  std::vector<double> rows(static_cast<std::size_t>(height) * grid_width, 0.0);
  for (int y = 0; y < height; ++y)
    for (int u = 0; u < grid_width; ++u) {
      const double b = u * sx, e = (u + 1) * sx;
      double s = 0;
      for (int x = static_cast<int>(std::floor(b)); x < std::min(width, static_cast<int>(std::ceil(e))); ++x)
        s += overlap(x, b, e) * map[static_cast<std::size_t>(y) * width + x];
      rows[static_cast<std::size_t>(y) * grid_width + u] = s;
    }
  std::vector<double> out(static_cast<std::size_t>(grid_width) * grid_height, 0.0);
  for (int v = 0; v < grid_height; ++v) {
    const double b = v * sy, e = (v + 1) * sy;
    for (int y = static_cast<int>(std::floor(b)); y < std::min(height, static_cast<int>(std::ceil(e))); ++y) {
      const double w = overlap(y, b, e);
      for (int u = 0; u < grid_width; ++u)
        out[static_cast<std::size_t>(v) * grid_width + u] += w * rows[static_cast<std::size_t>(y) * grid_width + u];
    }
  }
  for (double& c : out) c /= sx * sy;  // sums -> means over the cell's area
  return out;
}

std::string to_string(MapNormalisation n) {
  switch (n) {
    case MapNormalisation::max: return "max";
    case MapNormalisation::l1: return "l1";
    case MapNormalisation::l2: return "l2";
    case MapNormalisation::none: return "none";
  }
  return "max";
}

MapNormalisation map_normalisation_from_string(const std::string& name) {
  for (MapNormalisation n : {MapNormalisation::max, MapNormalisation::l1, MapNormalisation::l2, MapNormalisation::none})
    if (name == to_string(n)) return n;
  throw std::invalid_argument("unknown map normalisation " + core::quoted(name) + ": expected max, l1, l2 or none");
}

std::vector<double> stack_grid_maps(const std::vector<std::vector<double>>& maps, std::size_t size,
                                    MapNormalisation normalisation, bool positive, const std::string& who) {
  std::vector<double> x(maps.size() * size);
  for (std::size_t i = 0; i < maps.size(); ++i) {
    if (maps[i].size() != size)
      throw std::invalid_argument(who + ": map " + std::to_string(i) + " has " + std::to_string(maps[i].size()) +
                                  " values: expected grid_width x grid_height = " + std::to_string(size));
    double* row = x.data() + i * size;
    double peak = 0, sum = 0, squares = 0;
    for (std::size_t g = 0; g < size; ++g) {
      const double v = maps[i][g];
      if (!std::isfinite(v)) throw std::invalid_argument(who + ": map " + std::to_string(i) + " holds a non-finite value");
      row[g] = positive ? std::max(0.0, v) : v;
      peak = std::max(peak, std::fabs(row[g]));
      sum += std::fabs(row[g]);
      squares += row[g] * row[g];
    }
    double norm = 0;
    switch (normalisation) {
      case MapNormalisation::max: norm = peak; break;
      case MapNormalisation::l1: norm = sum; break;
      case MapNormalisation::l2: norm = std::sqrt(squares); break;
      case MapNormalisation::none: norm = 0; break;
    }
    if (norm > 0)
      for (std::size_t g = 0; g < size; ++g) row[g] /= norm;
  }
  return x;
}

}  // namespace bowlrp::evaluation
