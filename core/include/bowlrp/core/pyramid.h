// A spatial pyramid level: the image cut into cols x rows cells of equal size. A local feature belongs
// to the cell that holds its centre (column floor((x + 1/2) * cols / width), x the centre in original
// px whose pixel spans [x - 1/2, x + 1/2); rows alike); cells are numbered level by level, row-major.
// Every encoding that pools local features per cell (Bag-of-Words, Fisher vectors) uses it.
#pragma once

namespace bowlrp::core {

/// One level of the spatial pyramid.
struct PyramidLevel {
  int cols = 1;  ///< cells across
  int rows = 1;  ///< cells down
};

}  // namespace bowlrp::core
