// bowlrp_bench_spray_preprocessing: which SpRAy preprocessing isolates a planted strategy with the
// cluster count SpRAy picks itself (eigengap, clusters = 0)? Not a test: it prints, for every
// variant (normalisation max | l1 | l2 | none, signed or positive part; grid sizes and k of the graph
// for the default and for l2 of the signed maps) and every planted case, the number of clusters and the precision
// and recall of the cluster holding most marked maps (precision = marked members / cluster size,
// recall = marked members in it / all marked), as a markdown table (README, SpRAy section).
//
// Planted cases:
//  - synthetic maps on the 32 x 32 grid, 100 per set, 5 seeds: each map an object blob of relevance
//    (random place, width and strength over two orders of magnitude), negative relevance scattered
//    over the background and noise; a share of the maps (20% or 30%) also carries positive relevance
//    on a corner block of 2 x 2, 4 x 4 or 8 x 8 cells holding 0.25 or 0.5 of the object's relevance;
//  - real explanations, 3 shapes seeds: the shapes model of the test suite's planted Clever-Hans
//    fixture (every training circle carries a checkerboard, 16 or 8 px, in its top-left corner, no
//    square does; 96 x 96 px images), explained for "circle" on 80 test circles of which every fifth
//    (20%) carries the marker.
// Everything is seeded; the real case trains a small model (about a minute on one core).
//   bowlrp_bench_spray_preprocessing [--no-real] [--threads N]
#include <bowlrp/datasets/shapes.h>
#include <bowlrp/evaluation/spray.h>
#include <bowlrp/model/fit.h>
#include <bowlrp/model/model.h>

#include "planted_hans_fixtures.h"  // tests/: the marked images and the model's fit options, as the tests use them

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <tuple>
#include <vector>

namespace {

namespace be = bowlrp::evaluation;

// One planted data set: maps on the grid of `grid` x `grid` cells, which of them carry the marker.
struct Set {
  std::vector<std::vector<double>> maps;
  std::vector<char> marked;
  int grid = 32;
};

// A planted case: the same construction under several seeds.
struct Case {
  std::string name;
  std::vector<Set> sets;
};

// n synthetic maps on a 32 x 32 grid, a `share` of them with a corner block of side `block` cells
// holding `strength` times the object's positive relevance.
Set synthetic(int n, double share, int block, double strength, std::uint64_t seed) {
  const int G = 32;
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> z(0.0, 1.0);
  std::uniform_real_distribution<double> u(0.0, 1.0);
  Set c;
  for (int i = 0; i < n; ++i) {
    std::vector<double> m(static_cast<std::size_t>(G) * G, 0.0);
    const double cx = 8 + 16 * u(rng), cy = 8 + 16 * u(rng), s = 3 + 4 * u(rng);
    const double amplitude = std::exp(2.3 * z(rng));  // strengths spread over two orders of magnitude
    double object = 0;
    for (int y = 0; y < G; ++y)
      for (int x = 0; x < G; ++x) {
        const double d2 = (x - cx) * (x - cx) + (y - cy) * (y - cy);
        double v = std::exp(-d2 / (2 * s * s));
        object += v;
        if (u(rng) < 0.15) v -= 0.6 * u(rng);  // scattered negative relevance on the background
        m[static_cast<std::size_t>(y) * G + x] = v + 0.05 * z(rng);
      }
    const bool mark = (i % static_cast<int>(std::lround(1.0 / share))) == 0;
    if (mark)
      for (int y = 1; y < 1 + block; ++y)
        for (int x = 1; x < 1 + block; ++x)
          m[static_cast<std::size_t>(y) * G + x] += strength * object / (block * block) * (0.7 + 0.6 * u(rng));
    for (double& v : m) v *= amplitude;
    c.maps.push_back(std::move(m));
    c.marked.push_back(mark);
  }
  return c;
}


// The real case: grid maps (32 x 32) of "circle" on 80 test circles, every fifth marked with a
// checkerboard of side `marker` px (as the training circles).
Set real_set(int marker, std::uint64_t seed, int threads) {
  const std::filesystem::path dir = std::filesystem::temp_directory_path() / "bowlrp_bench_spray_preprocessing";
  bowlrp::datasets::ShapesOptions so;
  so.classes = {"circle", "square"};
  so.images_per_class = 110;
  so.width = so.height = 96;
  so.seed = seed;
  std::vector<std::string> train_paths, train_labels, test_paths;
  Set c;
  int tests = 0;
  for (int i = 0; i < 2 * so.images_per_class; ++i) {
    const bool circle = i % 2 == 0;
    const int k = i / 2;
    if (k < 30) {
      train_paths.push_back(bowlrp::test::write_marked(so, i, circle, (dir / ("train/" + std::to_string(i) + ".png")).string(), marker));
      train_labels.push_back(circle ? "circle" : "square");
    } else if (circle) {
      const bool m = tests % 5 == 0;
      test_paths.push_back(bowlrp::test::write_marked(so, i, m, (dir / ("test/" + std::to_string(i) + ".png")).string(), marker));
      c.marked.push_back(m);
      ++tests;
    }
  }
  bowlrp::model::FitOptions fo = bowlrp::test::planted_fit_options();
  fo.threads = threads;
  const bowlrp::model::Model model =
      bowlrp::model::fit(bowlrp::model::LabelledImages::from_paths(train_paths, train_labels), fo);
  be::SprayImagesOptions o;
  o.causal_images = 0;
  o.threads = threads;
  const be::SprayAnalysis a = be::spray_images(model, test_paths, model.class_index("circle"), o);
  if (a.analysed.size() != test_paths.size()) throw std::runtime_error("real case: an image failed");
  c.maps = a.grid_maps;
  // Does the model use the marker? Mean f and the marker cells' share of the positive relevance, marked against not.
  const int cells = (2 + marker + 2) / 3;  // 3 px per cell of the 32 x 32 grid over 96 px
  double f[2] = {0, 0}, share[2] = {0, 0};
  int count[2] = {0, 0};
  for (std::size_t k = 0; k < c.maps.size(); ++k) {
    double all = 0, corner = 0;
    for (int y = 0; y < 32; ++y)
      for (int x = 0; x < 32; ++x) {
        const double v = std::max(0.0, c.maps[k][static_cast<std::size_t>(y) * 32 + x]);
        all += v;
        if (x < cells && y < cells) corner += v;
      }
    const int m = c.marked[k] ? 1 : 0;
    f[m] += a.scores[k];
    share[m] += all > 0 ? corner / all : 0;
    ++count[m];
  }
  std::printf("real, %d px marker, seed %llu: f marked %.3f, unmarked %.3f; marker cells' share of R+ %.3f marked, %.3f "
              "unmarked (area %.3f)\n",
              marker, static_cast<unsigned long long>(seed), f[1] / count[1], f[0] / count[0], share[1] / count[1],
              share[0] / count[0], cells * cells / 1024.0);
  std::filesystem::remove_all(dir);
  return c;
}

struct Score {
  int clusters = 0;
  double precision = 0, recall = 0;
};

Score score(const Set& c, const be::SprayOptions& o) {
  const be::SprayResult r = be::spray(c.maps, o);
  std::vector<int> marked_in(static_cast<std::size_t>(r.clusters), 0);
  int marked = 0;
  for (std::size_t i = 0; i < c.maps.size(); ++i)
    if (c.marked[i]) {
      ++marked_in[static_cast<std::size_t>(r.labels[i])];
      ++marked;
    }
  std::size_t best = 0;
  for (std::size_t k = 1; k < marked_in.size(); ++k)
    if (marked_in[k] > marked_in[best]) best = k;
  Score s;
  s.clusters = r.clusters;
  s.precision = static_cast<double>(marked_in[best]) / static_cast<double>(r.sizes[best]);
  s.recall = static_cast<double>(marked_in[best]) / marked;
  return s;
}

// Downsizes maps on a G x G grid onto g x g (g divides G: block means).
Set regrid(const Set& c, int g) {
  Set out = c;
  out.grid = g;
  for (std::vector<double>& m : out.maps) m = be::downsize_map(m.data(), c.grid, c.grid, g, g);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  bool real = true;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--no-real") {
      real = false;
    } else if (a == "--threads" && i + 1 < argc) {
      threads = std::atoi(argv[++i]);
    } else {
      std::fprintf(stderr, "usage: bowlrp_bench_spray_preprocessing [--no-real] [--threads N]\n");
      return 2;
    }
  }
  const int seeds = 5;
  std::vector<Case> cases;
  for (const auto& [block, share, strength] : std::vector<std::tuple<int, double, double>>{
           {2, 0.2, 0.25}, {2, 0.2, 0.5}, {4, 0.2, 0.5}, {8, 0.3, 0.5}}) {
    Case c;
    c.name = "synthetic " + std::to_string(block) + "x" + std::to_string(block) + " corner x" +
             std::to_string(strength).substr(0, 4) + ", " + std::to_string(static_cast<int>(share * 100 + 0.5)) + "%";
    for (int s = 0; s < seeds; ++s) c.sets.push_back(synthetic(100, share, block, strength, 100 * block + s));
    cases.push_back(std::move(c));
  }
  if (real) {
    const auto t0 = std::chrono::steady_clock::now();
    for (int marker : {16, 8}) {
      Case c;
      c.name = "real shapes, " + std::to_string(marker) + " px checkerboard, 20%";
      for (std::uint64_t s : {21, 22, 23}) c.sets.push_back(real_set(marker, s, threads));
      cases.push_back(std::move(c));
    }
    std::printf("real cases: 6 models and 480 explanations in %.1f s\n",
                std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  }
  struct Variant {
    std::string name;
    be::SprayOptions options;
    int grid;
  };
  std::vector<Variant> variants;
  for (bool positive : {false, true})
    for (be::MapNormalisation n : {be::MapNormalisation::max, be::MapNormalisation::l1, be::MapNormalisation::l2,
                                   be::MapNormalisation::none}) {
      be::SprayOptions o;
      o.normalisation = n;
      o.positive = positive;
      variants.push_back({to_string(n) + (positive ? ", R+" : ", signed"), o, 32});
    }
  // The graph's k and the grid, for the default (max of R+) and for l2 of the signed maps.
  for (const bool positive : {true, false}) {
    const be::MapNormalisation n = positive ? be::MapNormalisation::max : be::MapNormalisation::l2;
    const std::string name = to_string(n) + (positive ? ", R+" : ", signed");
    for (int k : {5, 20}) {
      be::SprayOptions o;
      o.normalisation = n;
      o.positive = positive;
      o.neighbours = k;
      variants.push_back({name + ", k " + std::to_string(k), o, 32});
    }
    for (int g : {16, 8}) {
      be::SprayOptions o;
      o.normalisation = n;
      o.positive = positive;
      o.grid_width = o.grid_height = g;
      variants.push_back({name + ", grid " + std::to_string(g), o, g});
    }
  }
  std::printf("| variant |");
  for (const Case& c : cases) std::printf(" %s |", c.name.c_str());
  std::printf("\n| --- |");
  for (std::size_t i = 0; i < cases.size(); ++i) std::printf(" --- |");
  std::printf("\n");
  for (const Variant& v : variants) {
    std::printf("| %s |", v.name.c_str());
    for (const Case& c : cases) {
      double precision = 0, recall = 0, clusters = 0;
      for (const Set& set : c.sets) {
        const Score s = score(v.grid == set.grid ? set : regrid(set, v.grid), v.options);
        precision += s.precision / c.sets.size();
        recall += s.recall / c.sets.size();
        clusters += static_cast<double>(s.clusters) / c.sets.size();
      }
      std::printf(" %.2f / %.2f (%.1f) |", precision, recall, clusters);
    }
    std::printf("\n");
    std::fflush(stdout);
  }
  std::printf("cells: precision / recall of the cluster holding most marked maps (clusters from the eigengap), means over "
              "%d seeds (synthetic) and 3 seeds (real)\n", seeds);
  return 0;
}
