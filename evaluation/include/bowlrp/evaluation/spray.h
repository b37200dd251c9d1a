// Spectral relevance analysis (SpRAy; Lapuschkin, Wäldchen, Binder, Montavon, Samek, Müller 2019,
// "Unmasking Clever Hans predictors and assessing what machines really learn", Nat. Commun. 10:1096):
// cluster the relevance maps of many images of one class to find the strategies behind the decisions.
//
// Steps, as CoRelAy's SpRAy pipeline runs them:
//  1. preprocessing: every map is area-averaged onto a fixed grid of gw x gh cells (downsize_map; the
//     image's aspect ratio is not kept: each map is stretched onto the same grid, so that a cell means
//     the same relative position in every image), then divided by its largest |value| (maps of
//     different images become comparable; an all-zero map stays zero);
//  2. a k-nearest-neighbour graph over the n maps (Euclidean distance; ties to the lower index),
//     symmetrised: A_ij = 1 when j is among the k nearest of i or i among those of j, else 0;
//  3. the normalised Laplacian L = I - D^-1/2 A D^-1/2 (D = degrees) and its m smallest eigenvalues
//     0 = λ_1 <= ... <= λ_m <= 2 with their eigenvectors, by LAPACK's dsyevr (a real eigensolver,
//     not an iteration written here);
//  4. the number of clusters: the eigengap, c = argmax_{1 <= i < m} (λ_{i+1} - λ_i) (as many clusters
//     as near-zero eigenvalues before the largest jump), unless given;
//  5. the spectral embedding: the c first eigenvectors as n x c coordinates, each row scaled to unit
//     length (Ng, Jordan, Weiss 2001), clustered by seeded k-means (k-means++ seeding, Lloyd, several
//     restarts, the lowest within-cluster sum kept). Clusters are renumbered by decreasing size.
// Everything runs on one thread in a fixed order: results depend on the seed only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bowlrp::evaluation {

/// Options of SpRAy.
struct SprayOptions {
  int grid_width = 32;        ///< gw, cells across of the preprocessed maps (>= 1)
  int grid_height = 32;       ///< gh, cells down (>= 1)
  bool normalise = true;      ///< divide each preprocessed map by its largest |value|
  int neighbours = 10;        ///< k of the nearest-neighbour graph (>= 1; capped at n - 1)
  int eigenvalues = 32;       ///< m, leading eigenpairs of the Laplacian (>= 2; capped at n)
  int clusters = 0;           ///< c; 0 = from the eigengap
  int restarts = 10;          ///< k-means restarts (>= 1)
  int max_iterations = 300;   ///< Lloyd iterations per restart (>= 1)
  std::uint64_t seed = 0;     ///< seed of k-means
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
};

/// What SpRAy found.
struct SprayResult {
  std::size_t images = 0;                   ///< n
  std::vector<double> eigenvalues;          ///< λ_1 .. λ_m of the normalised Laplacian, ascending
  int eigengap_clusters = 0;                ///< c read from the eigengap
  int clusters = 0;                         ///< c used (given or from the eigengap)
  std::vector<double> embedding;            ///< n x c row-normalised spectral coordinates, row-major
  std::vector<int> labels;                  ///< cluster of each map, 0 = the largest cluster
  std::vector<std::size_t> sizes;           ///< maps per cluster, decreasing
  std::vector<std::vector<double>> mean_maps;  ///< per cluster, the mean preprocessed map (gw x gh)
  std::vector<std::size_t> typical;         ///< per cluster, the member closest to its embedding centre
  double inertia = 0;                       ///< within-cluster sum of squares of the kept k-means run
};

/// Area average of a W x H row-major map onto a gw x gh grid: cell (u, v) is the mean of the map over
/// the rectangle [u W / gw, (u+1) W / gw) x [v H / gh, (v+1) H / gh), fractional pixels weighted by
/// their overlap. Throws std::invalid_argument for empty sizes.
std::vector<double> downsize_map(const double* map, int width, int height, int grid_width, int grid_height);

/// Preprocesses maps already on the grid (normalisation only; each of grid_width x grid_height values).
std::vector<double> preprocess(const std::vector<std::vector<double>>& grid_maps, const SprayOptions& options);

/// Runs SpRAy on n >= 2 maps already on the grid (each grid_width x grid_height values); throws
/// std::invalid_argument for fewer than two maps, maps of another size or non-finite values.
SprayResult spray(const std::vector<std::vector<double>>& grid_maps, const SprayOptions& options = {});

}  // namespace bowlrp::evaluation
