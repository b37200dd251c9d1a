// bowlrp_bench_distributed: the distributed linear head on seeded synthetic Bag-of-Words encodings, each
// rank generating and holding only its own rows. Run it under mpirun with R = 1, 2, ...: rank 0 prints
// the wall time, the Newton and CG steps, each rank's ordered-sum bytes and peak memory, and a digest of
// the model's bytes, which must be the same for every R.
//
//   mpirun -n 2 bowlrp_bench_distributed --rows 200000 --dim 5120 --classes 20 [--block-rows 256]
//          [--threads 1] [--double] [--C 1] [--epsilon 0.01] [--seed 1]
//
// OpenMPI binds each rank to one core when there are at most 2 ranks: with --threads > 1, start it
// with `mpirun --bind-to none` (or --map-by slot:PE=<threads>), else TBB sees one core and runs one thread.
//
// Rows: row i draws its class and 40 words from its own seed (core::derived_seed(seed, i)), 35% from
// its class's word profile and the rest from a background profile, and is the l2-normalised
// histogram (float by default, as a large encoding set would be stored).
#include <bowlrp/core/digest.h>
#include <bowlrp/core/random.h>
#include <bowlrp/distributed/communicator.h>
#include <bowlrp/distributed/linear_head.h>
#include <bowlrp/distributed/ordered_sum.h>

#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

using namespace bowlrp;
using namespace bowlrp::distributed;

namespace {

struct Args {
  std::size_t rows = 20000, dim = 1024, classes = 10, block_rows = kDefaultBlockRows;
  int threads = 1;
  bool use_double = false;
  double C = 1, epsilon = 0.01;
  std::uint64_t seed = 1;
};

Args parse(int argc, char** argv) {
  Args a;
  for (int i = 1; i < argc; ++i) {
    const std::string k = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) throw std::invalid_argument(k + " needs a value");
      return argv[++i];
    };
    if (k == "--rows") a.rows = std::stoull(value());
    else if (k == "--dim") a.dim = std::stoull(value());
    else if (k == "--classes") a.classes = std::stoull(value());
    else if (k == "--block-rows") a.block_rows = std::stoull(value());
    else if (k == "--threads") a.threads = std::stoi(value());
    else if (k == "--double") a.use_double = true;
    else if (k == "--C") a.C = std::stod(value());
    else if (k == "--epsilon") a.epsilon = std::stod(value());
    else if (k == "--seed") a.seed = std::stoull(value());
    else throw std::invalid_argument("unknown argument " + k);
  }
  return a;
}

double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Cumulative word profiles of the classes and the background (the last one), from the seed.
std::vector<std::vector<double>> profiles(const Args& a) {
  std::mt19937_64 rng(core::derived_seed(a.seed, ~std::uint64_t{0}));
  std::vector<std::vector<double>> cdf(a.classes + 1, std::vector<double>(a.dim));
  for (auto& c : cdf) {
    double total = 0;
    for (std::size_t d = 0; d < a.dim; ++d) {
      const double u = uniform(rng);
      total += u * u * u * u * u;
      c[d] = total;
    }
    for (double& v : c) v /= total;
  }
  return cdf;
}

template <class T>
void make_rows(const Args& a, std::size_t first, std::size_t end, std::vector<T>& X, std::vector<int>& labels) {
  const auto cdf = profiles(a);
  X.assign((end - first) * a.dim, T(0));
  labels.assign((end - first) * a.classes, -1);
  std::vector<double> h(a.dim);
  for (std::size_t i = first; i < end; ++i) {
    std::mt19937_64 rng(core::derived_seed(a.seed, i));
    const std::size_t cls = static_cast<std::size_t>(rng() % a.classes);
    std::fill(h.begin(), h.end(), 0.0);
    for (int w = 0; w < 40; ++w) {
      const std::vector<double>& c = uniform(rng) < 0.35 ? cdf[cls] : cdf[a.classes];
      const std::size_t d = std::min<std::size_t>(
          static_cast<std::size_t>(std::lower_bound(c.begin(), c.end(), uniform(rng)) - c.begin()), a.dim - 1);
      h[d] += 1;
    }
    double norm = 0;
    for (double v : h) norm += v * v;
    norm = std::sqrt(norm);
    for (std::size_t d = 0; d < a.dim; ++d) X[(i - first) * a.dim + d] = static_cast<T>(h[d] / norm);
    labels[(i - first) * a.classes + cls] = 1;
  }
}

template <class T>
int run(const Args& a, const Communicator& world) {
  LinearHeadOptions options;
  options.C = a.C;
  options.epsilon = a.epsilon;
  options.block_rows = a.block_rows;
  options.threads = a.threads;
  const BlockLayout layout(a.rows, a.block_rows, world.size());
  std::vector<T> X;
  std::vector<int> labels;
  const auto t_data = std::chrono::steady_clock::now();
  make_rows(a, layout.first_row(world.rank()), layout.end_row(world.rank()), X, labels);
  const double data_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_data).count();
  std::vector<std::string> names;
  for (std::size_t c = 0; c < a.classes; ++c) names.push_back("class" + std::to_string(c));
  world.barrier();
  const auto t0 = std::chrono::steady_clock::now();
  const LinearHeadResult result = train_linear_head(world, a.rows, X.data(), a.dim, labels, names, options);
  world.barrier();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  core::Hasher hasher;
  for (const svm::LinearClass& c : result.model.classes()) {
    hasher.update(&c.bias, sizeof c.bias);
    hasher.update(c.weights.data(), c.weights.size() * sizeof(double));
  }
  struct rusage usage {};
  getrusage(RUSAGE_SELF, &usage);
  // Per rank: bytes sent, received, peak resident kB, microseconds in ordered sums.
  const std::uint64_t mine[4] = {result.traffic.bytes_sent, result.traffic.bytes_received,
                                 static_cast<std::uint64_t>(usage.ru_maxrss),
                                 static_cast<std::uint64_t>(result.traffic.seconds * 1e6)};
  std::vector<std::uint64_t> all(4 * static_cast<std::size_t>(world.size()));
  world.check(MPI_Gather(mine, 4, MPI_UINT64_T, all.data(), 4, MPI_UINT64_T, 0, world.native()), "gathering statistics");
  if (world.rank() == 0) {
    int iterations = 0, cg = 0, converged = 0;
    for (const ClassTraining& c : result.classes) {
      iterations += c.iterations;
      cg += c.cg_iterations;
      converged += c.converged;
    }
    std::printf("rows %zu, dim %zu, classes %zu, %s rows, block_rows %zu (%zu blocks), ranks %d, threads per rank %d\n",
                a.rows, a.dim, a.classes, sizeof(T) == 4 ? "float" : "double", a.block_rows, layout.blocks(),
                world.size(), a.threads);
    std::printf("  rows generated in %.2f s (rank 0); training %.2f s: %d Newton iterations, %d CG steps, "
                "%llu ordered sums, %d/%zu classes converged\n",
                data_seconds, seconds, iterations, cg, static_cast<unsigned long long>(result.traffic.calls), converged,
                a.classes);
    for (int r = 0; r < world.size(); ++r)
      std::printf("  rank %d: %llu rows, sent %.1f MB, received %.1f MB, %.2f s in ordered sums, peak resident %.1f MB\n",
                  r, static_cast<unsigned long long>(layout.rows_of(r)), all[4 * r] / 1e6, all[4 * r + 1] / 1e6,
                  all[4 * r + 3] / 1e6, all[4 * r + 2] / 1024.0);
    std::printf("  model digest %s\n", hasher.digest().hex().c_str());
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const Args a = parse(argc, argv);
    const Communicator world = Communicator::world();
    return a.use_double ? run<double>(a, world) : run<float>(a, world);
  } catch (const std::exception& e) {
    std::cerr << "bowlrp_bench_distributed: " << e.what() << "\n";
    return 1;
  }
}
