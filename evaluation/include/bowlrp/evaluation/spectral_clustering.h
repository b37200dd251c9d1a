// Spectral clustering of n points x_1 .. x_n in R^d, the rows of an n x d row-major matrix (Shi & Malik
// 2000; Ng, Jordan & Weiss 2001), in the steps SpRAy (spray.h) runs on its preprocessed maps:
//
//   graph:      A_ij = 1 when j is among the k nearest of i or i among the k nearest of j (Euclidean
//               distance, ties to the lower index), else 0 (A_ii = 0);
//   Laplacian:  L = I - D^-1/2 A D^-1/2, D = diag(sum_j A_ij);
//   spectrum:   L v_e = λ_e v_e for the m smallest, 0 = λ_1 <= ... <= λ_m <= 2, by LAPACK's dsyevr
//               (core/lapack.h); each v_e's sign is fixed so that its largest |entry| is positive;
//   eigengap:   c = argmax_{c_min <= i < m} (λ_{i+1} - λ_i);
//   embedding:  y_i = (v_1(i), .., v_c(i)) / ||(v_1(i), .., v_c(i))||, rows of length 1;
//   k-means:    labels l minimising sum_i ||y_i - μ_l(i)||^2 (k-means++ seeding, Lloyd, restarts, the
//               lowest kept), renumbered by decreasing cluster size;
//   layout:     (v_2(i), v_3(i)), a 2-D picture of the graph (v_1 only follows the degrees).
// Everything runs on one thread in a fixed order: the results depend on the inputs and the seed only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace bowlrp::evaluation {

/// Symmetric k-nearest-neighbour adjacency (n x n, 0/1) of the rows of x (n x d); k is capped at n - 1.
std::vector<char> knn_graph(const std::vector<double>& x, std::size_t n, std::size_t d, std::size_t k);

/// The normalised Laplacian I - D^-1/2 A D^-1/2 (n x n) of an adjacency in which every node has an edge.
std::vector<double> normalised_laplacian(const std::vector<char>& adjacency, std::size_t n);

/// The m smallest eigenvalues of a symmetric n x n matrix (ascending) and their eigenvectors, signs fixed, as the columns of *vectors (n x m, column-major); LAPACK errors start with `who`.
void smallest_eigenpairs(std::vector<double> a, std::size_t n, std::size_t m, const std::string& who,
                         std::vector<double>* values, std::vector<double>* vectors);

/// c from the eigengap: the i in [min_clusters, m) (min_clusters capped at m - 1) with the largest λ_{i+1} - λ_i, the first on ties.
int eigengap(const std::vector<double>& eigenvalues, int min_clusters);

/// The first c eigenvectors (columns of n x m column-major `vectors`) as n x c row-major coordinates, each row scaled to length 1.
std::vector<double> spectral_embedding(const std::vector<double>& vectors, std::size_t n, std::size_t c);

/// The entries of each point in the eigenvectors of λ_2 and λ_3 as n x 2 row-major coordinates (0 where m < 3).
std::vector<double> spectral_layout(const std::vector<double>& vectors, std::size_t n, std::size_t m);

/// The best of `restarts` seeded k-means runs on the rows of x (n x d) into k clusters: labels in *labels, returns the inertia.
double seeded_kmeans(const std::vector<double>& x, std::size_t n, std::size_t d, int k, int restarts, int max_iterations,
                     std::uint64_t seed, std::vector<int>* labels);

/// Labels in [0, c) renumbered by decreasing cluster size (ties: the cluster whose first member comes first).
std::vector<int> relabel_by_size(const std::vector<int>& labels, std::size_t c);

/// Per cluster of a labelling: its size, the mean of its points and its members by distance to its centre in the embedding.
struct ClusterSummary {
  std::vector<std::size_t> sizes;                        ///< points per cluster (0 for an empty cluster)
  std::vector<std::vector<double>> mean_points;          ///< per cluster, the mean of its rows of x (zeros when empty)
  std::vector<std::size_t> typical;                      ///< per cluster, the member closest to its embedding centre (n when empty)
  std::vector<std::vector<std::size_t>> ranked_members;  ///< per cluster, its members by distance to that centre
};

/// The ClusterSummary of n = labels.size() points: rows of x (n x d) and of the embedding (n x c), labels in [0, c).
ClusterSummary summarise_clusters(const std::vector<double>& x, std::size_t d, const std::vector<double>& embedding,
                                  std::size_t c, const std::vector<int>& labels);

}  // namespace bowlrp::evaluation
