// Tests of the core module: digests, option text, the fixed-order affine sum and the LAPACK
// eigensolver, each against a reference written here.
#include <bowlrp/core/digest.h>
#include <bowlrp/core/dot.h>
#include <bowlrp/core/lapack.h>
#include <bowlrp/core/option_schema.h>
#include <bowlrp/core/option_text.h>
#include <bowlrp/core/progress_display.h>
#include <bowlrp/core/io.h>

#include <fcntl.h>
#include <unistd.h>

#include <boost/test/unit_test.hpp>

#include "test_util.h"

#include <algorithm>
#include <cstdio>
#include <cmath>
#include <limits>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace bc = bowlrp::core;

namespace {

// All eigenvalues of a symmetric n x n matrix by cyclic Jacobi rotations (the naive reference).
std::vector<double> jacobi_eigenvalues(std::vector<double> a, int n) {
  for (int sweep = 0; sweep < 100; ++sweep) {
    double off = 0;
    for (int i = 0; i < n; ++i)
      for (int j = 0; j < n; ++j)
        if (i != j) off += a[i * n + j] * a[i * n + j];
    if (off < 1e-30) break;
    for (int p = 0; p < n; ++p)
      for (int q = p + 1; q < n; ++q) {
        if (a[p * n + q] == 0) continue;
        const double theta = (a[q * n + q] - a[p * n + p]) / (2 * a[p * n + q]);
        const double t = (theta >= 0 ? 1.0 : -1.0) / (std::abs(theta) + std::sqrt(theta * theta + 1));
        const double c = 1 / std::sqrt(t * t + 1), s = t * c;
        for (int k = 0; k < n; ++k) {  // columns p, q
          const double akp = a[k * n + p], akq = a[k * n + q];
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (int k = 0; k < n; ++k) {  // rows p, q
          const double apk = a[p * n + k], aqk = a[q * n + k];
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
      }
  }
  std::vector<double> w(n);
  for (int i = 0; i < n; ++i) w[i] = a[i * n + i];
  std::sort(w.begin(), w.end());
  return w;
}

}  // namespace

namespace {

// A list of counts as the schemas parse them (--bin-sizes, --hidden): the one int-list parser.
std::vector<int> int_list(const std::string& text, const std::string& flag) {
  struct Counts {
    std::vector<int> v;
  } c;
  bowlrp::core::int_list_option<Counts>("v", flag, "", [](Counts& x) -> std::vector<int>& { return x.v; },
                                        bowlrp::core::OptionRange::at_least(1), false)
      .set(c, text, flag);
  return c.v;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(core)

BOOST_AUTO_TEST_CASE(digest_depends_on_bytes_not_on_how_they_are_split) {
  const std::string bytes = bowlrp::test::random_bytes(1000, 1);
  const bc::Digest whole = bc::digest_of(bytes);
  for (std::size_t cut : {0u, 1u, 3u, 7u, 8u, 9u, 500u, 999u, 1000u}) {
    bc::Hasher h;
    h.update(bytes.data(), cut);
    h.update(bytes.data() + cut, bytes.size() - cut);
    BOOST_TEST((h.digest() == whole));
  }
  // Byte at a time.
  bc::Hasher h;
  for (char c : bytes) h.update(&c, 1);
  BOOST_TEST((h.digest() == whole));
  // Any single flipped bit, an appended zero, or truncation changes the digest.
  std::set<std::string> seen{whole.hex()};
  for (std::size_t i : {0u, 7u, 8u, 511u, 999u}) {
    std::string b = bytes;
    b[i] ^= 1;
    seen.insert(bc::digest_of(b).hex());
  }
  seen.insert(bc::digest_of(bytes + std::string(1, '\0')).hex());
  seen.insert(bc::digest_of(bytes.substr(0, 999)).hex());
  seen.insert(bc::digest_of("").hex());
  BOOST_TEST(seen.size() == 9u);
  BOOST_TEST(whole.hex().size() == 32u);
  // Fields carry their length: ("ab","c") and ("a","bc") differ.
  bc::Hasher f1, f2;
  f1.field("ab");
  f1.field("c");
  f2.field("a");
  f2.field("bc");
  BOOST_TEST((f1.digest() != f2.digest()));
}

BOOST_AUTO_TEST_CASE(option_text_parses_formats_and_names_the_flag) {
  BOOST_TEST(int_list("4,6,8", "--bin-sizes") == std::vector<int>({4, 6, 8}));
  const auto levels = bc::parse_pyramid("1x1,2x2,3x1");
  BOOST_TEST(levels.size() == 3u);
  BOOST_TEST(levels[2].cols == 3);
  BOOST_TEST(levels[2].rows == 1);
  BOOST_TEST(bc::parse_pooling("sum") == 1.0);
  BOOST_TEST(bc::parse_pooling("pmean:2.5") == 2.5);
  BOOST_TEST(std::isinf(bc::parse_pooling("max")));
  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  BOOST_TEST(message([] { int_list("4,x", "--bin-sizes"); }).find("--bin-sizes '4,x'") != std::string::npos);
  BOOST_TEST(message([] { bc::parse_pyramid("2by2", "--pyramid"); }).find("--pyramid") != std::string::npos);
  BOOST_TEST(message([] { bc::parse_pooling("pmean:-1"); }).find("pmean:P with P > 0") != std::string::npos);
  BOOST_TEST(bc::format_pyramid(bc::parse_pyramid("1x1,2x2,3x1")) == "1x1,2x2,3x1");
  BOOST_TEST(bc::parse_pooling(bc::format_pooling(2.5)) == 2.5);
  BOOST_TEST(std::isinf(bc::parse_pooling(bc::format_pooling(std::numeric_limits<double>::infinity()))));
}

BOOST_AUTO_TEST_CASE(fixed_order_affine_follows_the_documented_order_bit_for_bit) {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> u(-1e3, 1e3);
  for (std::size_t n = 0; n <= 13; ++n) {
    std::vector<double> w(n), x(n);
    for (std::size_t i = 0; i < n; ++i) {
      w[i] = u(rng) * std::pow(10.0, static_cast<double>(i % 7) - 3);
      x[i] = u(rng);
    }
    const double b = u(rng);
    // dot.h: lane k sums w_i x_i for i = k, k + 4, ... in increasing i; (l0 + l1) + (l2 + l3); then b + that.
    volatile double lane[4] = {0, 0, 0, 0};
    for (std::size_t i = 0; i < n; ++i) {
      volatile double product = w[i] * x[i];
      lane[i % 4] = lane[i % 4] + product;
    }
    volatile double left = lane[0] + lane[1], right = lane[2] + lane[3];
    volatile double sum = left + right;
    const double expected = b + sum;
    const double got = bc::fixed_order_affine(b, w.data(), x.data(), n);
    BOOST_TEST(got == expected, "n = " << n);
  }
}

BOOST_AUTO_TEST_CASE(symmetric_eigenpairs_match_jacobi_and_satisfy_av_eq_lv) {
  const int n = 7;
  std::mt19937_64 rng(11);
  std::normal_distribution<double> g;
  std::vector<double> a(n * n);
  for (int i = 0; i < n; ++i)
    for (int j = 0; j <= i; ++j) a[i * n + j] = a[j * n + i] = g(rng);
  const std::vector<double> all = jacobi_eigenvalues(a, n);
  for (const auto& [il, iu] : std::vector<std::pair<int, int>>{{1, n}, {1, 2}, {n - 2, n}, {3, 3}}) {
    std::vector<double> w, z;
    bc::symmetric_eigenpairs(a, n, il, iu, "test", &w, &z);
    const int m = iu - il + 1;
    BOOST_TEST_REQUIRE(w.size() == static_cast<std::size_t>(m));
    BOOST_TEST_REQUIRE(z.size() == static_cast<std::size_t>(n) * m);
    for (int k = 0; k < m; ++k) {
      BOOST_TEST(std::abs(w[k] - all[il - 1 + k]) < 1e-10, "eigenvalue " << il + k);
      const double* v = z.data() + static_cast<std::size_t>(k) * n;  // column k
      double norm = 0, residual = 0;
      for (int i = 0; i < n; ++i) {
        norm += v[i] * v[i];
        double av = 0;
        for (int j = 0; j < n; ++j) av += a[i * n + j] * v[j];
        residual = std::max(residual, std::abs(av - w[k] * v[i]));
      }
      BOOST_TEST(std::abs(norm - 1) < 1e-12);
      BOOST_TEST(residual < 1e-10);
    }
  }
  std::vector<double> w, z;
  BOOST_CHECK_THROW(bc::symmetric_eigenpairs(a, n, 0, 2, "test", &w, &z), std::invalid_argument);
  BOOST_CHECK_THROW(bc::symmetric_eigenpairs(a, n, 3, 2, "test", &w, &z), std::invalid_argument);
  BOOST_CHECK_THROW(bc::symmetric_eigenpairs(a, n, 1, n + 1, "test", &w, &z), std::invalid_argument);
  BOOST_CHECK_THROW(bc::symmetric_eigenpairs(std::vector<double>(5), n, 1, 1, "test", &w, &z), std::invalid_argument);
}

BOOST_AUTO_TEST_CASE(quoted_values_are_shortened_and_lists_refuse_empty_items) {
  BOOST_TEST(bc::quoted("sum") == "'sum'");
  const std::string sixty(60, 'a');
  BOOST_TEST(bc::quoted(sixty) == "'" + sixty + "'");
  BOOST_TEST(bc::quoted(std::string(100000, 'x')) == "'" + std::string(60, 'x') + "\u2026' (100000 characters)");
  const std::string greek = std::string(59, 'a') + "\u03b5\u03b5\u03b5";  // 62 characters, 65 bytes
  BOOST_TEST(bc::quoted(greek) == "'" + std::string(59, 'a') + "\u03b5\u2026' (62 characters)");
  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("no exception");
  };
  const std::string long_list = std::string(50000, '4') + ",x";
  const std::string m = message([&] { int_list(long_list, "--bin-sizes"); });
  BOOST_TEST(m.size() < 300u, m.size());
  BOOST_TEST(m.find("(50002 characters)") != std::string::npos, m);
  // An empty item is malformed, not skipped ("16," was read as 16).
  for (const std::string text : {"16,", ",16", "4,,6", ""})
    BOOST_TEST(message([&] { int_list(text, "--hidden"); }).find("--hidden '" + text + "'") != std::string::npos,
               text);
  for (const std::string text : {"1x1,", "1x1,,2x2", ",1x1", ""})
    BOOST_TEST(message([&] { bc::parse_pyramid(text, "--fisher-pyramid"); }).find("--fisher-pyramid '" + text + "'") !=
                   std::string::npos,
               text);
  BOOST_TEST(int_list("4,6", "x") == std::vector<int>({4, 6}));
  BOOST_TEST(bc::parse_pyramid("1x1,2x2").size() == 2u);
}

// The option schema's text forms: one parser and one printer per type, ranges described as they
// are checked, lists refused whole, nested options reached through their lens.
namespace {
struct Inner {
  int n = 3;
  std::vector<int> sizes = {4, 6};
};
struct Outer {
  Inner inner;
  double x = 0.5;
  std::uint64_t seed = 0;
};
}  // namespace

BOOST_AUTO_TEST_CASE(option_schema_text_round_trips_and_refusals_name_the_option) {
  using bc::OptionRange;
  auto message = [](auto f) {
    try {
      f();
    } catch (const std::invalid_argument& e) {
      return std::string(e.what());
    }
    return std::string("(no error)");
  };
  // Numbers read back exactly from their shortest text.
  for (double v : {0.005, 0.1, 1e-9, 3.0, 1.0 / 3.0, 2.5e300, -0.0, 123456789.125})
    BOOST_TEST(bc::parse_real(bc::format_real(v), "x") == v);
  BOOST_TEST(bc::format_real(0.005) == "0.005");
  BOOST_TEST(bc::format_real(std::numeric_limits<double>::infinity()) == "inf");
  BOOST_TEST(bc::parse_unsigned("18446744073709551615", "--seed") == 18446744073709551615ull);
  BOOST_TEST(message([] { bc::parse_unsigned("18446744073709551616", "--seed"); }).find("--seed '18446744073709551616'") == 0);
  BOOST_TEST(message([] { bc::parse_unsigned("-1", "--seed"); }) == "--seed '-1': expected a whole number >= 0");
  BOOST_TEST(message([] { bc::parse_integer("12x", "--words", 0, 10); }) == "--words '12x': expected a whole number");
  BOOST_TEST(message([] { bc::parse_integer(" 1", "--words", 0, 10); }) == "--words ' 1': expected a whole number");
  BOOST_TEST(message([] { bc::parse_real("1,5", "--C"); }) == "--C '1,5': expected a number");
  BOOST_TEST(bc::parse_bool("true", "x"));
  BOOST_TEST(!bc::parse_bool("off", "x"));
  BOOST_TEST(message([] { bc::parse_bool("maybe", "--fast"); }) == "--fast 'maybe': expected true or false");
  BOOST_TEST(bc::parse_real_list("none", "x").empty());
  BOOST_TEST(bc::format_real_list({1.5, 2.0}) == "1.5,2");
  BOOST_TEST(message([] { bc::parse_real_list("1,,2", "--class-C"); }).find("--class-C '1,,2'") == 0);
  // Ranges say what they check.
  BOOST_TEST(OptionRange::at_least(1).describe() == ">= 1");
  BOOST_TEST(OptionRange::above(0).describe() == "> 0");
  BOOST_TEST(OptionRange::closed(1, 128).describe() == "1 .. 128");
  BOOST_TEST(OptionRange::half_open(0, 1).describe() == "[0, 1)");
  BOOST_TEST(OptionRange::left_open(0, 1).describe() == "(0, 1]");
  BOOST_TEST(!OptionRange::half_open(0, 1).contains(1.0));
  BOOST_TEST(OptionRange::left_open(0, 1).contains(1.0));
  BOOST_TEST(!OptionRange::above(0).contains(0.0));
  BOOST_TEST(!OptionRange{}.contains(std::nan("")));
  BOOST_TEST(bc::python_annotation(bc::OptionType::int_list, false) == "Tuple[int, ...]");
  BOOST_TEST(bc::python_annotation(bc::OptionType::choice, true) == "Optional[str]");

  // A schema over a nested struct: get / set through the lens, with the flag named in refusals.
  bc::OptionSchema<Inner> inner;
  inner.push_back(bc::integer_option<Inner>("n", "--n", "a count", [](Inner& i) -> int& { return i.n; },
                                            OptionRange::closed(1, 9)));
  inner.push_back(bc::int_list_option<Inner>("sizes", "--sizes", "sizes", [](Inner& i) -> std::vector<int>& { return i.sizes; },
                                             OptionRange::at_least(1), true));
  bc::OptionSchema<Outer> outer;
  bc::append_nested(&outer, inner, [](Outer& o) -> Inner& { return o.inner; });
  outer.push_back(bc::real_option<Outer>("x", "--x", "a share", [](Outer& o) -> double& { return o.x; },
                                         OptionRange::half_open(0, 1)));
  outer.push_back(bc::integer_option<Outer>("seed", "--seed", "a seed", [](Outer& o) -> std::uint64_t& { return o.seed; }));
  Outer o;
  for (const auto& spec : outer) spec.set(o, spec.get(o), spec.flag);  // every default reads back as itself
  BOOST_TEST(o.inner.n == 3);
  BOOST_TEST((o.inner.sizes == std::vector<int>{4, 6}));
  BOOST_TEST(bc::find_option(outer, "sizes")->get(o).value() == "4,6");
  bc::find_option(outer, "sizes")->set(o, std::string("none"), "--sizes");
  BOOST_TEST(o.inner.sizes.empty());
  BOOST_TEST(bc::find_option(outer, "sizes")->get(o).value() == "none");
  bc::find_option(outer, "n")->set(o, std::string("9"), "--n");
  BOOST_TEST(o.inner.n == 9);
  BOOST_TEST(message([&] { bc::find_option(outer, "n")->set(o, std::string("10"), "--n"); }) ==
             "--n '10': expected a value 1 .. 9");
  BOOST_TEST(message([&] { bc::find_option(outer, "sizes")->set(o, std::string("4,0"), "--sizes"); }) ==
             "--sizes '4,0': expected whole numbers >= 1 separated by commas, or none, e.g. 4,6,8");
  BOOST_TEST(message([&] { bc::find_option(outer, "x")->set(o, std::string("1"), "option x"); }) ==
             "option x '1': expected a value [0, 1)");
  BOOST_TEST(message([&] { bc::find_option(outer, "x")->set(o, std::nullopt, "option x"); }).find("cannot be left unset") !=
             std::string::npos);
  BOOST_TEST(o.inner.n == 9);  // a refused value changes nothing
  bc::find_option(outer, "seed")->set(o, std::string("18446744073709551615"), "--seed");
  BOOST_TEST(o.seed == 18446744073709551615ull);
}

namespace {

// What `events` make the display print on stderr (stderr redirected to a file meanwhile).
std::string displayed(bool quiet, const std::vector<bowlrp::core::ProgressEvent>& events) {
  bowlrp::test::TempDir dir;
  const std::string path = dir / "stderr.txt";
  std::fflush(stderr);
  const int saved = ::dup(2);
  const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  ::dup2(fd, 2);
  ::close(fd);
  {
    const bowlrp::core::ProgressFn show = bowlrp::core::progress_display(quiet);
    for (const auto& e : events) show(e);
  }
  std::fflush(stderr);
  ::dup2(saved, 2);
  ::close(saved);
  return bowlrp::core::read_file(path);
}

}  // namespace

// Every recordable type in its digest form, nested keys, the encoding part before the training
// part, a when_true option left out while false, and unrecorded options absent.
BOOST_AUTO_TEST_CASE(option_record_text_writes_each_type_in_its_digest_form) {
  using bc::OptionRange;
  using bc::Recorded;
  struct Stage {
    bool on = true;
    int n = 7;
    std::uint64_t seed = 18446744073709551615ull;
    double x = 0.1;
    std::vector<int> sizes{4, 6};
    std::vector<bc::PyramidLevel> pyramid{{1, 1}, {2, 3}};
    double p = std::numeric_limits<double>::infinity();
    std::string kind = "hik";
    bool extra = false;
    int threads = 2;
  };
  struct Whole {
    Stage stage;
    double tolerance = 1.0 / 3.0;
  };
  bc::OptionSchema<Stage> st;
  st.push_back(bc::record_as(bc::integer_option<Stage>("seed", "", "", [](Stage& s) -> std::uint64_t& { return s.seed; }),
                             "seed", Recorded::training));
  st.push_back(bc::record_as(bc::bool_option<Stage>("on", "--on", "", [](Stage& s) -> bool& { return s.on; }), "on",
                             Recorded::encoding));
  st.push_back(bc::record_as(bc::integer_option<Stage>("n", "--n", "", [](Stage& s) -> int& { return s.n; }), "count",
                             Recorded::encoding));
  st.push_back(bc::record_as(bc::real_option<Stage>("x", "--x", "", [](Stage& s) -> double& { return s.x; }), "x",
                             Recorded::encoding));
  st.push_back(bc::record_as(bc::int_list_option<Stage>("sizes", "--sizes", "", [](Stage& s) -> std::vector<int>& { return s.sizes; },
                                                        OptionRange::at_least(1), false),
                             "sizes", Recorded::encoding));
  st.push_back(bc::record_as(bc::pyramid_option<Stage>("pyramid", "--pyramid", "",
                                                       [](Stage& s) -> std::vector<bc::PyramidLevel>& { return s.pyramid; }),
                             "pyramid", Recorded::encoding));
  st.push_back(bc::record_as(bc::pooling_option<Stage>("pooling", "--pooling", "", [](Stage& s) -> double& { return s.p; }),
                             "p", Recorded::encoding));
  st.push_back(bc::record_as(bc::text_option<Stage>("kind", "--kind", "", [](Stage& s) -> std::string& { return s.kind; }),
                             "kind", Recorded::encoding));
  st.push_back(bc::record_as(bc::bool_option<Stage>("extra", "--extra", "", [](Stage& s) -> bool& { return s.extra; }),
                             "extra", Recorded::encoding, bc::InFile::when_true));
  st.push_back(bc::integer_option<Stage>("threads", "--threads", "", [](Stage& s) -> int& { return s.threads; }));
  bc::OptionSchema<Whole> whole;
  bc::append_nested(&whole, st, [](Whole& w) -> Stage& { return w.stage; }, {"threads"}, "stage");
  whole.push_back(bc::record_as(bc::real_option<Whole>("tolerance", "--tolerance", "", [](Whole& w) -> double& { return w.tolerance; }),
                                "tolerance", Recorded::training, bc::InFile::optional));
  BOOST_TEST(whole.size() == 10u);
  BOOST_TEST(whole[0].key == "stage.seed");
  BOOST_TEST(st[0].key == "seed");  // the inner schema is not changed by nesting it
  Whole w;
  const std::string encoding =
      "stage.on=1;stage.count=7;stage.x=0.10000000000000001;stage.sizes=4,6,;stage.pyramid=1x1,2x3,;stage.p=inf;"
      "stage.kind=hik;";
  BOOST_TEST(bc::record_text(whole, w, Recorded::encoding) == encoding);
  BOOST_TEST(bc::record_text(whole, w, Recorded::training) ==
             encoding + "stage.seed=18446744073709551615;tolerance=0.33333333333333331;");
  w.stage.extra = true;
  w.stage.on = false;
  w.stage.p = 1;
  BOOST_TEST(bc::record_text(whole, w, Recorded::encoding) ==
             "stage.on=0;stage.count=7;stage.x=0.10000000000000001;stage.sizes=4,6,;stage.pyramid=1x1,2x3,;stage.p=1;"
             "stage.kind=hik;stage.extra=1;");
  w.stage.p = 2.5;
  BOOST_TEST(bc::record_text(whole, w, Recorded::encoding).find(";stage.p=2.5;") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(progress_display_draws_stages_and_notes) {
  using Kind = bowlrp::core::ProgressEvent::Kind;
  std::vector<bowlrp::core::ProgressEvent> events{{Kind::start, "encode", 0, 20, ""}};
  for (std::size_t k = 1; k <= 20; ++k) events.push_back({Kind::step, "encode", k, 20, ""});
  events.push_back({Kind::finish, "encode", 20, 20, ""});
  events.push_back({Kind::note, "cache", 0, 0, "cache: 3 read"});
  events.push_back({Kind::note, "cache", 0, 0, "warning: the cache cannot be written"});
  const std::string shown = displayed(false, events);
  // Not a terminal: a line per 10% and the final one, which says how long it took.
  BOOST_TEST(shown.find("encode") != std::string::npos, shown);
  BOOST_TEST(shown.find("20/20") != std::string::npos, shown);
  BOOST_TEST(shown.find("took") != std::string::npos, shown);
  BOOST_TEST(shown.find("[##") != std::string::npos, shown);
  BOOST_TEST(std::count(shown.begin(), shown.end(), '\n') <= 13, shown);
  BOOST_TEST(shown.find("cache: 3 read\n") != std::string::npos, shown);
  // Quiet: only the warnings.
  BOOST_TEST(displayed(true, events) == "warning: the cache cannot be written\n");
}

BOOST_AUTO_TEST_SUITE_END()
