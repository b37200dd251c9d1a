// Relevance maps of images of any sizes onto one common grid of gw x gh cells (the preprocessing of
// SpRAy, spray.h), so that a cell means the same relative position in every image:
//
//   downsizing (area average): a W x H map R onto the grid, sx = W / gw, sy = H / gh,
//     G(u, v) = 1 / (sx sy) * sum_{x, y} ω(x; u sx, (u+1) sx) ω(y; v sy, (v+1) sy) R(x, y),
//     ω(p; b, e) = |[p, p + 1) ∩ [b, e)|, the overlap of pixel p with the cell (fractional at its ends);
//     the aspect ratio is not kept (every map is stretched onto the same grid);
//   positive part (optional): G_i(g) <- max(0, G_i(g)), before the normalisation;
//   normalisation, so that maps of different images become comparable (an all-zero map stays zero):
//     max:  G_i <- G_i / max_g |G_i(g)|;
//     l1:   G_i <- G_i / sum_g |G_i(g)|;
//     l2:   G_i <- G_i / (sum_g G_i(g)^2)^1/2;
//     none: G_i unchanged.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Area average of a W x H row-major map onto a gw x gh row-major grid; throws std::invalid_argument for empty sizes.
std::vector<double> downsize_map(const double* map, int width, int height, int grid_width, int grid_height);

/// How each grid map is scaled before the maps are compared.
enum class MapNormalisation { max, l1, l2, none };

/// "max", "l1", "l2" or "none".
std::string to_string(MapNormalisation n);
/// Parses "max", "l1", "l2" or "none"; throws std::invalid_argument naming them.
MapNormalisation map_normalisation_from_string(const std::string& name);

/// n grid maps of `size` values as one n x size row-major matrix, each cut to its positive part when `positive` and then scaled by `normalisation`; throws std::invalid_argument, starting with `who`, for a map of another size or a non-finite value.
std::vector<double> stack_grid_maps(const std::vector<std::vector<double>>& maps, std::size_t size,
                                    MapNormalisation normalisation, bool positive, const std::string& who);

}  // namespace bowlrp::evaluation
