// Spectral relevance analysis (SpRAy; Lapuschkin, Wäldchen, Binder, Montavon, Samek, Müller 2019,
// "Unmasking Clever Hans predictors and assessing what machines really learn", Nat. Commun. 10:1096):
// cluster the relevance maps of many images of one class to find the strategies behind the decisions.
//
// Steps, as CoRelAy's SpRAy pipeline runs them:
//  1. preprocessing: every map is area-averaged onto a fixed grid of gw x gh cells (downsize_map; the
//     image's aspect ratio is not kept: each map is stretched onto the same grid, so that a cell means
//     the same relative position in every image), cut to its positive part R+ = max(0, R) (positive,
//     the default; false keeps the signed map), then normalised so that maps of different images
//     become comparable (normalisation: divided by its largest |value| (max, the default), by the
//     sum of its |values| (l1), by its Euclidean norm (l2), or left as it is (none); an all-zero map
//     stays zero). Until issue 24 the signed maps were divided by their max |value|: the negative
//     relevance, spread over each image for reasons of its own, then weighs in every distance; on
//     the positive part alone a map says where the evidence for the class lies (README, SpRAy, and
//     bench/spray_preprocessing.cpp, bench/spray_horse.py for the measurements behind the defaults);
//  2. a k-nearest-neighbour graph over the n maps (Euclidean distance; ties to the lower index),
//     symmetrised: A_ij = 1 when j is among the k nearest of i or i among those of j, else 0;
//  3. the normalised Laplacian L = I - D^-1/2 A D^-1/2 (D = degrees) and its m smallest eigenvalues
//     0 = λ_1 <= ... <= λ_m <= 2 with their eigenvectors, by LAPACK's dsyevr (a real eigensolver,
//     not an iteration written here);
//  4. the number of clusters: the eigengap, c = argmax_{min_clusters <= i < m} (λ_{i+1} - λ_i) (as many
//     clusters as small eigenvalues before the largest jump), unless given. min_clusters is 2 by default:
//     on a connected graph the first gap λ_2 - λ_1 = λ_2 is often the largest, and "one cluster" says
//     nothing about the strategies inside it (min_clusters = 1 allows that answer);
//  5. the spectral embedding: the c first eigenvectors as n x c coordinates, each row scaled to unit
//     length (Ng, Jordan, Weiss 2001), clustered by seeded k-means (k-means++ seeding, Lloyd, several
//     restarts, the lowest within-cluster sum kept). Clusters are renumbered by decreasing size.
// Everything runs on one thread in a fixed order: results depend on the seed only. The numerics are
// pure functions on arrays: the preprocessing in heatmap_grid.h (downsize_map, declared there, is
// reachable through this header), the graph, spectrum, eigengap, embedding and k-means in
// spectral_clustering.h; spray() strings them together.
//
// Over a model (spray_images): every image is explained for one class (parallel; one image per
// task), its pixel map downsized to the grid, and SpRAy run on the maps. The causal test asks whether
// a cluster's strategy is used or only seen: its region is the set of grid cells holding the largest
// share (causal_share) of the positive relevance of the cluster's mean map; in up to causal_images of
// the cluster's members and as many images of the other clusters (seeded choices; at most n / (4 c)
// of each per cluster, so that the whole test re-scores at most half as many images as were explained),
// the working-image pixels of that region are erased and the class re-scored. A strategy in use drops f in its members
// far more than the same region does elsewhere. Erasing is a flat fill with the image's mean grey
// (the default: it removes the gradients dense SIFT reads, like an inpainting without texture), or the
// pixel-flipping noise (evaluation::flip_noise on the flipping regions whose centre falls in the
// region, one step of the incremental flipper). Noise is the flipping's choice, but it adds texture:
// for a strategy that rests on texture (a watermark, a checkerboard) noise can add evidence instead of
// removing it, which a flat fill cannot.
#pragma once

#include <bowlrp/core/parallel.h>
#include <bowlrp/decompose/rules.h>
#include <bowlrp/evaluation/heatmap_grid.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Options of SpRAy.
struct SprayOptions {
  int grid_width = 32;        ///< gw, cells across of the preprocessed maps (>= 1)
  int grid_height = 32;       ///< gh, cells down (>= 1)
  MapNormalisation normalisation = MapNormalisation::max;  ///< scaling of each preprocessed map (heatmap_grid.h)
  bool positive = true;       ///< keep only each map's positive part R+ = max(0, R) before normalising (signed until issue 24)
  int neighbours = 10;        ///< k of the nearest-neighbour graph (>= 1; capped at n - 1)
  int eigenvalues = 32;       ///< m, leading eigenpairs of the Laplacian (>= 2; capped at n)
  int clusters = 0;           ///< c; 0 = from the eigengap
  int min_clusters = 2;       ///< smallest c the eigengap may give (>= 1, < eigenvalues)
  int restarts = 10;          ///< k-means restarts (>= 1)
  int max_iterations = 300;   ///< Lloyd iterations per restart (>= 1)
  std::uint64_t seed = 0;     ///< seed of k-means
  /// Throws std::invalid_argument naming the bad field and what was expected.
  void validate() const;
  /// Every option, described once (core/option_schema.h).
  static const core::OptionSchema<SprayOptions>& schema();
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
  std::vector<std::vector<std::size_t>> ranked_members;  ///< per cluster, its members by distance to that centre
  /// n x 2 picture of the graph: each map's entries in the eigenvectors of λ_2 and λ_3 (the spectral
  /// layout; the eigenvector of λ_1 only follows the degrees; λ_3's column is 0 when m = 2).
  std::vector<double> layout;
  double inertia = 0;                       ///< within-cluster sum of squares of the kept k-means run
};

/// Preprocesses maps already on the grid (positive part and normalisation only; each of grid_width x grid_height values).
std::vector<double> preprocess(const std::vector<std::vector<double>>& grid_maps, const SprayOptions& options);

/// Runs SpRAy on n >= 2 maps already on the grid (each grid_width x grid_height values); throws
/// std::invalid_argument for fewer than two maps, maps of another size or non-finite values.
SprayResult spray(const std::vector<std::vector<double>>& grid_maps, const SprayOptions& options = {});

/// Options of SpRAy over a model's explanations.
struct SprayImagesOptions {
  SprayOptions spray;               ///< grid, graph, eigenpairs, clusters, k-means
  decompose::Composite composite;   ///< rules of the explanations
  int thumbnail = 64;               ///< side of the grey thumbnails averaged into each cluster's mean image (px, >= 1)
  double causal_share = 0.5;        ///< share of a cluster's positive mean relevance its causal region holds (0, 1]
  /// How the causal region is erased.
  enum class Fill { mean, noise };
  Fill fill = Fill::mean;           ///< flat fill with the image's mean grey, or the flipping noise
  int causal_images = 25;           ///< members (and as many others) re-scored per cluster, at most n / (4 c) (0: no test)
  int flip_region = 9;              ///< side of the flipping regions the causal region is made of (working px)
  std::uint64_t seed = 0;           ///< seeds the noise and the choices of re-scored images
  int threads = 0;                  ///< worker threads (0: all cores, else 1 .. core::kMaxThreads)
  /// Throws std::invalid_argument naming the bad field.
  void validate() const;
  /// Every option (SprayOptions::schema() with its seed named kmeans_seed, the thumbnails, the causal
  /// test, the rules of decompose::Composite::schema(), threads), described once.
  static const core::OptionSchema<SprayImagesOptions>& schema();
};

/// "mean" or "noise".
std::string to_string(SprayImagesOptions::Fill fill);
/// Parses "mean" or "noise"; throws std::invalid_argument naming them.
SprayImagesOptions::Fill spray_fill_from_string(const std::string& name);

/// The causal test of one cluster.
struct SprayCausal {
  std::vector<char> region;         ///< grid cells of the region (gw x gh, 1 = in)
  std::size_t members = 0;          ///< member images re-scored
  std::size_t others = 0;           ///< images of other clusters re-scored
  double member_drop = 0;           ///< mean f(x) - f(x with the region flipped) over the members
  double other_drop = 0;            ///< the same over the others (0 when there are none)
};

/// SpRAy over the explanations of one class.
struct SprayAnalysis {
  std::vector<std::string> paths;           ///< the images given
  std::size_t cls = 0;                      ///< the explained class
  int grid_width = 0, grid_height = 0;      ///< the grid of the maps (SprayOptions)
  int thumbnail = 0;                        ///< the side of the thumbnails
  std::vector<model::Skipped> failures;     ///< images that could not be explained
  std::vector<std::size_t> analysed;        ///< indices into paths of the clustered images (SprayResult order)
  std::vector<double> scores;               ///< f_cls of each analysed image
  std::vector<std::vector<double>> grid_maps;  ///< each analysed image's map on the grid (before normalisation)
  std::vector<std::vector<float>> thumbnails;  ///< each analysed image's grey thumbnail (thumbnail^2, row-major)
  SprayResult result;                       ///< the clustering
  std::vector<std::vector<float>> mean_images;  ///< per cluster, the mean thumbnail of its members
  std::vector<SprayCausal> causal;          ///< per cluster (empty when causal_images = 0)
  std::vector<std::pair<std::string, double>> timings;  ///< stage -> wall seconds
};

/// Explains `cls` on every image, clusters the maps and runs the causal test; images that cannot be
/// read are reported, not fatal (at least two must be explained).
SprayAnalysis spray_images(const model::Model& model, const std::vector<std::string>& paths, std::size_t cls,
                           const SprayImagesOptions& options = {}, const core::ProgressFn& progress = {});

}  // namespace bowlrp::evaluation
