// Tests of the distributed module: the communicator, the block layout, the ordered sum and the
// distributed linear head. ctest runs this suite as the plain entry `distributed` (an MPI singleton,
// one rank) and under `mpirun -n 1 / 2 / 3` (entries distributed_mpirun_<R>). Every case is written
// for any world size W: the rank-count independence tests split the world into sub-communicators of
// every size 1 .. W and compare each against the serial fold or the one-rank model, bit for bit, so
// the 3-rank run checks R = 1, 2 and 3 within one job. Checks are per rank; a collective call is made
// by every rank whatever an earlier check found, so that a failure is reported rather than hung.
#include <bowlrp/distributed/communicator.h>
#include <bowlrp/distributed/linear_head.h>
#include <bowlrp/distributed/ordered_sum.h>
#include <bowlrp/svm/additive_map.h>
#include <bowlrp/svm/kernel.h>
#include <bowlrp/svm/linear_svm.h>
#include <bowlrp/svm/svm.h>

#include "test_util.h"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <random>
#include <string>
#include <vector>

using namespace bowlrp;
using namespace bowlrp::distributed;
using bowlrp::test::throws_with;

namespace {

// ---- the synthetic BoW-like data set: seeded, the same on every rank ----

struct DataSet {
  std::size_t n = 0, dim = 0, classes = 0;
  std::vector<double> X;    // n x dim, l2-normalised word counts
  std::vector<int> labels;  // n x classes in {+1, -1, 0}
  std::vector<std::size_t> truth;  // the class each row was drawn from
  std::vector<std::string> names;
};

// Uniform in [0, 1) from the top 53 bits (the same on every standard library).
double uniform(std::mt19937_64& rng) { return static_cast<double>(rng() >> 11) * 0x1.0p-53; }

// Each class has its own word distribution (a Dirichlet-like random profile); a row draws `words`
// words, each from its class's profile with probability `purity`, else from the background, and is
// the l2-normalised histogram (as a linear head's input usually is). Every 17th row leaves out (label 0) one class, as VOC's "difficult".
// The profiles come from `profile_seed` (a training and a test set share it), the rows from `seed`.
DataSet bow_data(std::size_t n, std::size_t dim, std::size_t classes, std::uint64_t seed,
                 std::uint64_t profile_seed = 1, double purity = 0.12, int words = 40) {
  std::mt19937_64 rng(profile_seed);
  std::vector<std::vector<double>> cdf(classes + 1, std::vector<double>(dim));
  for (auto& c : cdf) {
    double total = 0;
    for (std::size_t d = 0; d < dim; ++d) {
      const double u = uniform(rng);
      total += u * u * u * u * u;  // peaked profiles: a few frequent words per class
      c[d] = total;
    }
    for (double& v : c) v /= total;
  }
  rng.seed(seed);
  DataSet s;
  s.n = n, s.dim = dim, s.classes = classes;
  s.X.assign(n * dim, 0.0);
  s.labels.assign(n * classes, -1);
  for (std::size_t c = 0; c < classes; ++c) s.names.push_back("class" + std::to_string(c));
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t cls = static_cast<std::size_t>(rng() % classes);
    s.truth.push_back(cls);
    for (int w = 0; w < words; ++w) {
      const std::vector<double>& c = uniform(rng) < purity ? cdf[cls] : cdf[classes];
      const std::size_t d = std::min<std::size_t>(
          static_cast<std::size_t>(std::lower_bound(c.begin(), c.end(), uniform(rng)) - c.begin()), dim - 1);
      s.X[i * dim + d] += 1.0;
    }
    double norm2 = 0;
    for (std::size_t d = 0; d < dim; ++d) norm2 += s.X[i * dim + d] * s.X[i * dim + d];
    for (std::size_t d = 0; d < dim; ++d) s.X[i * dim + d] /= std::sqrt(norm2);
    s.labels[i * classes + cls] = 1;
    if (i % 17 == 5) s.labels[i * classes + (cls + 1) % classes] = 0;
  }
  return s;
}

// The rows and labels rank `rank` of `comm` holds under the head's layout.
struct Slice {
  std::vector<double> X;
  std::vector<int> labels;
};

Slice slice_of(const DataSet& s, const Communicator& comm, std::size_t block_rows) {
  const BlockLayout layout(s.n, block_rows, comm.size());
  const std::size_t a = layout.first_row(comm.rank()), b = layout.end_row(comm.rank());
  Slice out;
  out.X.assign(s.X.begin() + static_cast<std::ptrdiff_t>(a * s.dim), s.X.begin() + static_cast<std::ptrdiff_t>(b * s.dim));
  out.labels.assign(s.labels.begin() + static_cast<std::ptrdiff_t>(a * s.classes),
                    s.labels.begin() + static_cast<std::ptrdiff_t>(b * s.classes));
  return out;
}

// One thread per rank unless the options say otherwise (ctest runs 3 ranks on 2 cores).
LinearHeadResult train_on(const Communicator& comm, const DataSet& s, LinearHeadOptions options) {
  if (options.threads == 0) options.threads = 1;
  const Slice mine = slice_of(s, comm, options.block_rows);
  return train_linear_head(comm, s.n, mine.X.data(), s.dim, mine.labels, s.names, options);
}

bool same_bits(double a, double b) { return std::memcmp(&a, &b, sizeof a) == 0; }

bool same_model(const svm::LinearSvm& a, const svm::LinearSvm& b) {
  if (a.dim() != b.dim() || a.classes().size() != b.classes().size()) return false;
  for (std::size_t c = 0; c < a.classes().size(); ++c) {
    const svm::LinearClass &x = a.classes()[c], &y = b.classes()[c];
    if (x.name != y.name || !same_bits(x.bias, y.bias) ||
        std::memcmp(x.weights.data(), y.weights.data(), x.weights.size() * sizeof(double)) != 0)
      return false;
  }
  return true;
}

// ---- naive references of the objective, written from linear_head.h's formulas ----

// f(w) and grad f(w) of class c over all rows, w = (weights, bias / B).
double naive_objective(const DataSet& s, std::size_t c, const svm::LinearClass& m, double B, double C,
                       std::vector<double>* gradient = nullptr) {
  const std::size_t L = s.dim + (B > 0 ? 1 : 0);
  std::vector<double> w(m.weights);
  if (B > 0) w.push_back(m.bias / B);
  double f = 0;
  for (double v : w) f += 0.5 * v * v;
  if (gradient) *gradient = w;
  for (std::size_t i = 0; i < s.n; ++i) {
    const int y = s.labels[i * s.classes + c];
    if (y == 0) continue;
    double score = m.bias;
    for (std::size_t d = 0; d < s.dim; ++d) score += m.weights[d] * s.X[i * s.dim + d];
    const double slack = 1 - y * score;
    if (slack <= 0) continue;
    f += C * slack * slack;
    if (gradient) {
      for (std::size_t d = 0; d < s.dim; ++d) (*gradient)[d] -= 2 * C * slack * y * s.X[i * s.dim + d];
      if (B > 0) (*gradient)[L - 1] -= 2 * C * slack * y * B;
    }
  }
  return f;
}

// The hinge-loss primal of libsvm's problem, 1/2 |w|^2 + C sum max(0, 1 - y (w.x + b)).
double naive_hinge_objective(const DataSet& s, std::size_t c, const svm::LinearClass& m, double C) {
  double f = 0;
  for (double v : m.weights) f += 0.5 * v * v;
  for (std::size_t i = 0; i < s.n; ++i) {
    const int y = s.labels[i * s.classes + c];
    if (y == 0) continue;
    double score = m.bias;
    for (std::size_t d = 0; d < s.dim; ++d) score += m.weights[d] * s.X[i * s.dim + d];
    f += C * std::max(0.0, 1 - y * score);
  }
  return f;
}

double norm(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x * x;
  return std::sqrt(s);
}

std::size_t predicted_class(const svm::LinearSvm& m, const double* x) {
  const std::vector<double> f = m.decision(x);
  return static_cast<std::size_t>(std::max_element(f.begin(), f.end()) - f.begin());
}

}  // namespace

BOOST_AUTO_TEST_SUITE(distributed)

BOOST_AUTO_TEST_CASE(communicator_wraps_a_duplicate) {
  const Communicator world = Communicator::world();
  int world_size = 0, world_rank = -1;
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  MPI_Comm_rank(MPI_COMM_WORLD, &world_rank);
  BOOST_TEST(world.size() == world_size);
  BOOST_TEST(world.rank() == world_rank);
  BOOST_TEST(mpi_active());
  BOOST_TEST(mpi_thread_level() >= MPI_THREAD_FUNNELED);
  // A duplicate: the same group, another context (congruent, not identical).
  int relation = -1;
  MPI_Comm_compare(world.native(), MPI_COMM_WORLD, &relation);
  BOOST_TEST(relation == MPI_CONGRUENT);
  // Errors are returned on the duplicate; the caller's MPI_COMM_WORLD keeps its handler.
  MPI_Errhandler handler;
  MPI_Comm_get_errhandler(MPI_COMM_WORLD, &handler);
  BOOST_TEST((handler == MPI_ERRORS_ARE_FATAL));
  MPI_Errhandler_free(&handler);
  const Communicator self = Communicator::self();
  BOOST_TEST(self.size() == 1);
  BOOST_TEST(self.rank() == 0);
  // Splitting: ranks of even and odd world rank.
  const Communicator part = world.split(world.rank() % 2, world.rank());
  BOOST_TEST(part.size() == (world.size() + 1 - world.rank() % 2) / 2);
  BOOST_TEST(part.rank() == world.rank() / 2);
  // Copies share the duplicate.
  const Communicator copy = part;
  BOOST_TEST((copy.native() == part.native()));
  // A communicator handed in (as mpi4py will hand one) is duplicated, not taken.
  const Communicator from_caller(MPI_COMM_WORLD);
  BOOST_TEST(from_caller.size() == world_size);
  BOOST_TEST((from_caller.native() != world.native()));
  world.barrier();
  BOOST_CHECK_THROW(world.split(-1, 0), std::invalid_argument);
  BOOST_CHECK_THROW(Communicator(MPI_COMM_NULL), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(mpi_errors_become_exceptions_naming_the_rank) {
  const Communicator world = Communicator::world();
  // A real failing call on the duplicate: a negative count is refused by MPI's argument checks and
  // returned (MPI_ERRORS_RETURN), not fatal.
  double x = 0;
  const std::string rank_text = "rank " + std::to_string(world.rank()) + " of " + std::to_string(world.size());
  BOOST_TEST(throws_with<MpiError>([&] { world.check(MPI_Bcast(&x, -1, MPI_DOUBLE, 0, world.native()), "broadcasting x"); },
                                   {rank_text, "while broadcasting x"}));
  try {
    world.check(MPI_ERR_COUNT, "counting");
    BOOST_FAIL("no exception");
  } catch (const MpiError& e) {
    BOOST_TEST(e.code() == MPI_ERR_COUNT);
    BOOST_TEST(e.rank() == world.rank());
  }
  world.check(MPI_SUCCESS, "nothing");
}

BOOST_AUTO_TEST_CASE(block_layout_deals_contiguous_blocks) {
  for (std::size_t rows : {0u, 1u, 5u, 256u, 257u, 1000u})
    for (std::size_t block_rows : {1u, 3u, 256u})
      for (int ranks : {1, 2, 3, 7}) {
        const BlockLayout layout(rows, block_rows, ranks);
        BOOST_TEST(layout.blocks() == (rows + block_rows - 1) / block_rows);
        std::size_t next_row = 0, next_block = 0;
        for (int r = 0; r < ranks; ++r) {
          // Contiguous, in rank order, floor(r B / R) .. floor((r + 1) B / R).
          BOOST_TEST(layout.first_block(r) == next_block);
          BOOST_TEST(layout.first_block(r) == r * layout.blocks() / ranks);
          BOOST_TEST(layout.first_row(r) == next_row);
          next_block = layout.end_block(r);
          next_row = layout.end_row(r);
          BOOST_TEST(layout.rows_of(r) == layout.end_row(r) - layout.first_row(r));
        }
        BOOST_TEST(next_block == layout.blocks());
        BOOST_TEST(next_row == rows);
        for (std::size_t b = 0; b < layout.blocks(); ++b) {
          BOOST_TEST(layout.block_first_row(b) == b * block_rows);
          BOOST_TEST(layout.block_end_row(b) == std::min(rows, (b + 1) * block_rows));
        }
      }
  BOOST_CHECK_THROW(BlockLayout(10, 0, 1), std::invalid_argument);
  BOOST_CHECK_THROW(BlockLayout(10, 4, 0), std::invalid_argument);
  BOOST_CHECK_THROW(BlockLayout(10, 4, 2).first_block(2), std::out_of_range);
}

BOOST_AUTO_TEST_CASE(ordered_sum_is_the_serial_fold_for_every_rank_count) {
  const Communicator world = Communicator::world();
  // Partials spanning 40 binary orders of magnitude, of both signs: a sum whose bits depend on the order.
  const std::size_t rows = 1000, block_rows = 7, length = 5;
  std::mt19937_64 rng(2024);
  const std::size_t B = (rows + block_rows - 1) / block_rows;
  std::vector<double> partials(B * length);
  for (double& p : partials) p = (uniform(rng) - 0.5) * std::ldexp(1.0, static_cast<int>(rng() % 40));
  // The naive reference: the left fold over blocks in order, computed here on one rank.
  std::vector<double> serial(length, 0.0), reversed(length, 0.0);
  for (std::size_t b = 0; b < B; ++b)
    for (std::size_t j = 0; j < length; ++j) serial[j] += partials[b * length + j];
  for (std::size_t b = B; b-- > 0;)
    for (std::size_t j = 0; j < length; ++j) reversed[j] += partials[b * length + j];
  // The data can tell orders apart (else the test below could not fail).
  BOOST_TEST(std::memcmp(serial.data(), reversed.data(), length * sizeof(double)) != 0);
  for (int R = 1; R <= world.size(); ++R) {
    // Ranks 0 .. R-1 form one communicator of size R; the others one of size W - R (also checked).
    const Communicator part = world.split(world.rank() < R ? 0 : 1, world.rank());
    const BlockLayout layout(rows, block_rows, part.size());
    const std::size_t first = layout.first_block(part.rank()), end = layout.end_block(part.rank());
    Traffic traffic;
    const std::vector<double> sum =
        ordered_sum(part, layout, partials.data() + first * length, length, &traffic);
    BOOST_TEST(std::memcmp(sum.data(), serial.data(), length * sizeof(double)) == 0,
               "R = " << part.size() << ": the ordered sum differs from the serial fold");
    BOOST_TEST(traffic.calls == 1u);
    BOOST_TEST(traffic.bytes_sent == (end - first) * length * sizeof(double));
    BOOST_TEST(traffic.bytes_received == (B - (end - first)) * length * sizeof(double));
  }
  // A layout for another rank count is refused on every rank.
  BOOST_CHECK_THROW(ordered_sum(world, BlockLayout(rows, block_rows, world.size() + 1), partials.data(), length),
                    std::invalid_argument);
  // No rows: zeros.
  const std::vector<double> none = ordered_sum(world, BlockLayout(0, block_rows, world.size()), nullptr, 3);
  BOOST_TEST((none == std::vector<double>(3, 0.0)));
  // Exact counts.
  const std::vector<std::int64_t> counts = sum_counts(world, {1, world.rank()});
  BOOST_TEST(counts[0] == world.size());
  BOOST_TEST(counts[1] == world.size() * (world.size() - 1) / 2);
}

BOOST_AUTO_TEST_CASE(linear_head_options_are_validated) {
  LinearHeadOptions ok;
  ok.validate();
  auto refused = [](auto change, const std::string& needle) {
    LinearHeadOptions o;
    change(o);
    return throws_with<std::invalid_argument>([&] { o.validate(); }, {needle});
  };
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.C = 0; }, "C 0"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.C = std::nan(""); }, "C"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.epsilon = -1; }, "epsilon"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.max_iterations = 0; }, "max_iterations 0"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.bias = -1; }, "bias"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.block_rows = 0; }, "block_rows 0"));
  BOOST_TEST(refused([](LinearHeadOptions& o) { o.threads = -1; }, "threads"));
}

BOOST_AUTO_TEST_CASE(linear_head_model_bytes_do_not_depend_on_rank_count) {
  const Communicator world = Communicator::world();
  const DataSet s = bow_data(2000, 200, 4, 7);
  LinearHeadOptions options;
  options.block_rows = 64;  // 32 blocks: every rank holds several
  // The one-rank model, trained by every rank alone on all rows.
  const LinearHeadResult serial = train_on(Communicator::self(), s, options);
  for (const ClassTraining& c : serial.classes) BOOST_TEST(c.converged, c.name);
  for (int R = 2; R <= world.size(); ++R) {
    const Communicator part = world.split(world.rank() < R ? 0 : 1, world.rank());
    const auto t0 = std::chrono::steady_clock::now();
    const LinearHeadResult result = train_on(part, s, options);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    BOOST_TEST(same_model(result.model, serial.model), "R = " << part.size() << ": the model differs from R = 1");
    for (std::size_t c = 0; c < s.classes; ++c) {
      BOOST_TEST(result.classes[c].iterations == serial.classes[c].iterations);
      BOOST_TEST(result.classes[c].cg_iterations == serial.classes[c].cg_iterations);
      BOOST_TEST(same_bits(result.classes[c].objective, serial.classes[c].objective));
    }
    // With more than one rank, every call received the other ranks' blocks.
    if (part.size() > 1) BOOST_TEST(result.traffic.bytes_received > 0u);
    BOOST_TEST_MESSAGE("rank " << world.rank() << ", R = " << part.size() << ": " << seconds << " s, "
                               << result.traffic.calls << " ordered sums, " << result.traffic.bytes_sent
                               << " bytes sent, " << result.traffic.bytes_received << " received");
  }
  // Threads within a rank change nothing either.
  LinearHeadOptions threaded = options;
  threaded.threads = 3;
  BOOST_TEST(same_model(train_on(world, s, threaded).model, serial.model));
  // Float rows give the model of the same values as doubles.
  std::vector<float> Xf(s.X.begin(), s.X.end());
  DataSet widened = s;
  widened.X.assign(Xf.begin(), Xf.end());
  const BlockLayout layout(s.n, options.block_rows, world.size());
  const std::size_t a = layout.first_row(world.rank()), b = layout.end_row(world.rank());
  const std::vector<float> mine(Xf.begin() + static_cast<std::ptrdiff_t>(a * s.dim), Xf.begin() + static_cast<std::ptrdiff_t>(b * s.dim));
  const std::vector<int> labels(s.labels.begin() + static_cast<std::ptrdiff_t>(a * s.classes),
                                s.labels.begin() + static_cast<std::ptrdiff_t>(b * s.classes));
  options.threads = 1;
  const LinearHeadResult from_float = train_linear_head(world, s.n, mine.data(), s.dim, labels, s.names, options);
  const LinearHeadResult from_double = train_on(Communicator::self(), widened, options);
  BOOST_TEST(same_model(from_float.model, from_double.model));
  // The model depends on block_rows (the order of the sums), by rounding only.
  LinearHeadOptions other = options;
  other.block_rows = 100;
  const LinearHeadResult reblocked = train_on(world, s, other);
  double largest = 0;
  for (std::size_t c = 0; c < s.classes; ++c)
    for (std::size_t d = 0; d < s.dim; ++d)
      largest = std::max(largest, std::abs(reblocked.model.classes()[c].weights[d] - serial.model.classes()[c].weights[d]));
  BOOST_TEST(largest < 1e-4, "block_rows 64 vs 100: largest weight difference " << largest);
}

BOOST_AUTO_TEST_CASE(linear_head_with_ranks_holding_no_rows) {
  // 2 blocks: with 3 ranks one of them holds no row, and still takes part in every sum.
  const Communicator world = Communicator::world();
  const DataSet s = bow_data(60, 30, 2, 51);
  LinearHeadOptions options;
  options.block_rows = 32;
  const BlockLayout layout(s.n, options.block_rows, world.size());
  if (world.size() > 2) BOOST_TEST(layout.rows_of(world.rank()) == (world.rank() == 0 ? 0u : world.rank() == 1 ? 32u : 28u));
  const LinearHeadResult serial = train_on(Communicator::self(), s, options);
  const LinearHeadResult result = train_on(world, s, options);
  BOOST_TEST(same_model(result.model, serial.model));
  BOOST_TEST(result.traffic.calls == serial.traffic.calls);
}

BOOST_AUTO_TEST_CASE(linear_head_reaches_the_optimum) {
  // The objective is 1-strongly convex, so f(w) - min f <= |grad f(w)|^2 / 2: the naive gradient
  // computed here certifies how close the returned weights are to the optimum.
  const Communicator world = Communicator::world();
  const DataSet s = bow_data(1500, 200, 3, 11);
  for (double bias : {1.0, 0.0}) {
    LinearHeadOptions options;
    options.C = 4;
    options.bias = bias;
    options.epsilon = 1e-5;
    options.block_rows = 50;
    const LinearHeadResult result = train_on(world, s, options);
    for (std::size_t c = 0; c < s.classes; ++c) {
      const ClassTraining& info = result.classes[c];
      std::vector<double> g;
      const double f = naive_objective(s, c, result.model.classes()[c], bias, options.C, &g);
      std::vector<double> g0;
      svm::LinearClass zero{s.names[c], 0.0, std::vector<double>(s.dim, 0.0)};
      naive_objective(s, c, zero, bias, options.C, &g0);
      BOOST_TEST(info.converged);
      BOOST_TEST(std::abs(f - info.objective) <= 1e-10 * f, "objective " << info.objective << " vs naive " << f);
      BOOST_TEST(std::abs(norm(g) - info.gradient_norm) <= 1e-6 * norm(g0));
      BOOST_TEST(std::abs(norm(g0) - info.initial_gradient_norm) <= 1e-10 * norm(g0));
      const double eps = options.epsilon * static_cast<double>(std::min(info.positives, info.negatives)) /
                         static_cast<double>(info.positives + info.negatives);
      BOOST_TEST(norm(g) <= eps * norm(g0) * (1 + 1e-6));
      const double gap = 0.5 * norm(g) * norm(g);
      BOOST_TEST(gap <= 1e-6 * f, "class " << c << ": f - min f <= " << gap << " of f = " << f);
      BOOST_TEST(info.iterations >= 1);
      BOOST_TEST(info.cg_iterations >= info.iterations);
      // Counts of the labels over all rows.
      std::size_t pos = 0, neg = 0;
      for (std::size_t i = 0; i < s.n; ++i) {
        pos += s.labels[i * s.classes + c] == 1;
        neg += s.labels[i * s.classes + c] == -1;
      }
      BOOST_TEST(info.positives == pos);
      BOOST_TEST(info.negatives == neg);
      if (bias == 0) BOOST_TEST(result.model.classes()[c].bias == 0.0);
    }
  }
}

BOOST_AUTO_TEST_CASE(linear_head_agrees_with_the_single_node_svm) {
  // The single-node linear head (svm::train_linear_one_vs_rest: libsvm C-SVC, hinge loss, unregularised
  // bias) and this head (squared hinge, regularised bias) solve different problems on the same rows;
  // each must be the better one on its own objective, and they must classify held-out rows alike.
  const Communicator world = Communicator::world();
  const DataSet train = bow_data(3000, 200, 4, 21), test = bow_data(1000, 200, 4, 22);
  LinearHeadOptions options;
  options.C = 2;
  const LinearHeadResult head = train_on(world, train, options);
  if (world.rank() != 0) return;  // libsvm is one process; rank 0 compares
  svm::TrainOptions svm_options;
  svm_options.C = options.C;
  svm_options.threads = 1;
  const auto t0 = std::chrono::steady_clock::now();
  const svm::LinearSvm single = svm::train_linear_one_vs_rest(train.X.data(), train.n, train.dim, train.labels,
                                                              train.names, svm_options);
  const double svm_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::size_t agree = 0, right_head = 0, right_single = 0;
  for (std::size_t i = 0; i < test.n; ++i) {
    const std::size_t a = predicted_class(head.model, &test.X[i * test.dim]);
    const std::size_t b = predicted_class(single, &test.X[i * test.dim]);
    agree += a == b;
    right_head += a == test.truth[i];
    right_single += b == test.truth[i];
  }
  const double n = static_cast<double>(test.n);
  BOOST_TEST_MESSAGE("held-out accuracy: distributed head " << right_head / n << ", single-node libsvm "
                     << right_single / n << ", same prediction on " << agree / n << " (libsvm " << svm_seconds
                     << " s)");
  BOOST_TEST(right_single / n > 0.6);  // the data is learnable, not trivially
  BOOST_TEST(std::abs(right_head / n - right_single / n) <= 0.03);
  BOOST_TEST(agree / n >= 0.9);
  for (std::size_t c = 0; c < train.classes; ++c) {
    const svm::LinearClass &h = head.model.classes()[c], &l = single.classes()[c];
    // Squared hinge (this head's problem; libsvm's bias b enters as the weight b / B of the constant).
    const double sq_head = naive_objective(train, c, h, options.bias, options.C);
    const double sq_single = naive_objective(train, c, l, options.bias, options.C);
    // Hinge with a free bias (libsvm's problem; libsvm stops at epsilon 1e-3 of its dual).
    const double hinge_head = naive_hinge_objective(train, c, h, options.C);
    const double hinge_single = naive_hinge_objective(train, c, l, options.C);
    BOOST_TEST_MESSAGE("class " << c << ": squared hinge " << sq_head << " (head) vs " << sq_single
                       << " (libsvm); hinge " << hinge_head << " (head) vs " << hinge_single << " (libsvm)");
    BOOST_TEST(sq_head <= sq_single * (1 + 1e-6));
    BOOST_TEST(hinge_single <= hinge_head * (1 + 1e-3));
    // Close problems, close optima.
    BOOST_TEST(std::abs(sq_head - sq_single) <= 0.25 * sq_single);
    BOOST_TEST(std::abs(hinge_head - hinge_single) <= 0.25 * hinge_single);
  }
}

BOOST_AUTO_TEST_CASE(explicit_map_head_is_explained_exactly) {
  // Bag-of-Words at scale: the chi2 kernel through its explicit map (svm::AdditiveKernelMap), the
  // distributed head on Psi(x), against the chi2 kernel SVM on x; relevance per histogram dimension
  // R_d = w_d . psi(x_d) conserves f(x) = b + w . Psi(x).
  const Communicator world = Communicator::world();
  DataSet train = bow_data(1500, 100, 3, 41, 3), test = bow_data(500, 100, 3, 42, 3);
  for (DataSet* s : {&train, &test})  // l1-normalised histograms, chi2's usual input
    for (std::size_t i = 0; i < s->n; ++i) {
      double sum = 0;
      for (std::size_t d = 0; d < s->dim; ++d) sum += s->X[i * s->dim + d];
      for (std::size_t d = 0; d < s->dim; ++d) s->X[i * s->dim + d] /= sum;
    }
  svm::AdditiveMapOptions map_options;
  map_options.kernel = svm::KernelType::chi2;
  map_options.order = 1;
  const svm::AdditiveKernelMap map(map_options);
  const std::size_t W = train.dim * map.components();
  DataSet mapped = train;
  mapped.dim = W;
  mapped.X = map.map_rows(train.X.data(), train.n, train.dim);
  LinearHeadOptions options;
  options.C = 10;
  options.block_rows = 100;
  const LinearHeadResult head = train_on(world, mapped, options);
  BOOST_TEST(head.model.dim() == W);
  // Conservation on every held-out row and class, against the head's own fixed-order decision.
  double worst = 0;
  std::size_t right_head = 0;
  std::vector<double> psi(W);
  for (std::size_t i = 0; i < test.n; ++i) {
    const double* x = &test.X[i * test.dim];
    map.map_row(x, test.dim, psi.data());
    const std::vector<double> f = head.model.decision(psi.data());
    right_head += static_cast<std::size_t>(std::max_element(f.begin(), f.end()) - f.begin()) == test.truth[i];
    for (std::size_t c = 0; c < test.classes; ++c) {
      const svm::LinearClass& m = head.model.classes()[c];
      const std::vector<double> R = map.relevance(m.weights.data(), x, test.dim);
      double total = m.bias;
      for (std::size_t d = 0; d < test.dim; ++d) {
        total += R[d];
        if (x[d] == 0) BOOST_TEST(R[d] == 0.0);  // an empty bin takes no relevance
      }
      worst = std::max(worst, std::abs(total - f[c]) / std::max(1.0, std::abs(f[c])));
    }
  }
  BOOST_TEST(worst <= 1e-9, "largest relative conservation error " << worst);
  if (world.rank() != 0) return;  // the kernel SVM is one process; rank 0 compares
  svm::TrainOptions svm_options;
  svm_options.C = options.C;
  svm_options.threads = 1;
  svm::Kernel chi2_kernel;
  chi2_kernel.type = svm::KernelType::chi2;
  const svm::KernelSvm kernel_svm = svm::train_one_vs_rest(train.X.data(), train.n, train.dim, train.labels,
                                                           train.names, chi2_kernel, svm_options);
  const std::vector<double> g = kernel_svm.decision_batch(test.X.data(), test.n, 1);
  std::size_t right_kernel = 0;
  for (std::size_t i = 0; i < test.n; ++i)
    right_kernel += static_cast<std::size_t>(std::max_element(g.begin() + static_cast<std::ptrdiff_t>(i * test.classes),
                                                              g.begin() + static_cast<std::ptrdiff_t>((i + 1) * test.classes)) -
                                             (g.begin() + static_cast<std::ptrdiff_t>(i * test.classes))) == test.truth[i];
  const double n = static_cast<double>(test.n);
  BOOST_TEST_MESSAGE("held-out accuracy: chi2 map (order 1) + distributed head " << right_head / n
                     << ", chi2 kernel SVM " << right_kernel / n << "; worst conservation error " << worst);
  BOOST_TEST(right_kernel / n > 0.6);
  BOOST_TEST(std::abs(right_head / n - right_kernel / n) <= 0.04);
}

BOOST_AUTO_TEST_CASE(linear_head_refuses_bad_inputs_on_every_rank) {
  const Communicator world = Communicator::world();
  const DataSet s = bow_data(300, 20, 2, 31);
  LinearHeadOptions options;
  options.block_rows = 16;
  options.threads = 1;
  Slice mine = slice_of(s, world, options.block_rows);
  // The last rank holds one label too few: it names itself, the others name it, nobody hangs.
  const int bad = world.size() - 1;
  if (world.rank() == bad) mine.labels.pop_back();
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { train_linear_head(world, s.n, mine.X.data(), s.dim, mine.labels, s.names, options); },
      {"rank " + std::to_string(bad)}));
  mine = slice_of(s, world, options.block_rows);
  // Ranks called with different sizes.
  if (world.size() > 1)
    BOOST_TEST(throws_with<std::invalid_argument>(
        [&] {
          train_linear_head(world, s.n, mine.X.data(), world.rank() == 0 ? s.dim : s.dim - 1, mine.labels, s.names,
                            options);
        },
        {"every rank must train the same problem"}));
  // A label outside {+1, -1, 0}.
  std::vector<int> odd = mine.labels;
  if (!odd.empty()) odd[0] = 2;
  if (!odd.empty())  // (every rank holds rows here: 19 blocks)
    BOOST_TEST(throws_with<std::invalid_argument>(
        [&] { train_linear_head(world, s.n, mine.X.data(), s.dim, odd, s.names, options); }, {"label 2"}));
  // A class without a negative row over all ranks.
  std::vector<int> all_positive(mine.labels.size(), 1);
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { train_linear_head(world, s.n, mine.X.data(), s.dim, all_positive, s.names, options); },
      {"class 'class0'", "0 negative"}));
  // A repeated class name.
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { train_linear_head(world, s.n, mine.X.data(), s.dim, mine.labels, {"a", "a"}, options); },
      {"class name 'a'", "repeated"}));
  // Bad options.
  options.C = -1;
  BOOST_TEST(throws_with<std::invalid_argument>(
      [&] { train_linear_head(world, s.n, mine.X.data(), s.dim, mine.labels, s.names, options); }, {"C -1"}));
}

BOOST_AUTO_TEST_SUITE_END()
