// Suite model/feature_cache: the on-disk feature cache of `bowlrp voc` (model/feature_cache.h): histogram
// entries keyed by the encoding options, codebook and image bytes, every corruption detected and
// counted, and the cached codebooks with their keys.
#include <bowlrp/bow/codebook.h>
#include <bowlrp/bow/pipeline.h>
#include <bowlrp/core/io.h>
#include <bowlrp/model/feature_cache.h>

#include "bow_fixtures.h"
#include "test_util.h"

#include <cmath>
#include <filesystem>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using bowlrp::test::random_bytes;
using bowlrp::test::random_codebook;
using bowlrp::test::TempDir;

BOOST_AUTO_TEST_SUITE(model)
BOOST_AUTO_TEST_SUITE(feature_cache)

BOOST_AUTO_TEST_CASE(histogram_cache_round_trip_and_corruption) {
  TempDir dir;
  const bowlrp::bow::PipelineOptions o;
  const bowlrp::bow::Codebook cb = random_codebook(8, 2), other = random_codebook(8, 3);
  const std::size_t V = 40;
  const bowlrp::model::HistogramCache cache(dir / "cache", o, cb, V);
  const std::string image = random_bytes(5000, 4);
  const bowlrp::core::Digest key = cache.key(image);
  // Keys: same inputs agree; another codebook, option or image disagrees.
  BOOST_TEST((bowlrp::model::HistogramCache(dir / "cache", o, cb, V).key(image) == key));
  BOOST_TEST((bowlrp::model::HistogramCache(dir / "cache", o, other, V).key(image) != key));
  bowlrp::bow::PipelineOptions o2 = o;
  o2.dsift.step = 3;
  BOOST_TEST((bowlrp::model::HistogramCache(dir / "cache", o2, cb, V).key(image) != key));
  BOOST_TEST((cache.key(image + "x") != key));

  std::vector<double> h(V), back(V, -1.0);
  for (std::size_t d = 0; d < V; ++d) h[d] = std::sqrt(double(d) + 0.1) / 7.0;
  BOOST_TEST(!cache.load(key, back.data()));
  BOOST_TEST(cache.stats().misses.load() == 1u);
  cache.store(key, h.data());
  BOOST_TEST(cache.load(key, back.data()));
  BOOST_TEST(back == h);  // bit for bit
  BOOST_TEST(cache.stats().hits.load() == 1u);

  const std::string good = bowlrp::core::read_file(cache.path(key));
  // Every single-byte change, a truncation and an extension are rejected (and counted).
  std::size_t rejected = 0;
  for (std::size_t i = 0; i < good.size(); i += 7) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0x20);
    bowlrp::core::write_file_atomic(cache.path(key), bad);
    rejected += !cache.load(key, back.data());
  }
  BOOST_TEST(rejected == (good.size() + 6) / 7);
  bowlrp::core::write_file_atomic(cache.path(key), good.substr(0, good.size() - 1));
  BOOST_TEST(!cache.load(key, back.data()));
  bowlrp::core::write_file_atomic(cache.path(key), good + "0");
  BOOST_TEST(!cache.load(key, back.data()));
  BOOST_TEST(cache.stats().corrupt.load() == rejected + 2);
  // A valid entry of another key placed at this key's path is not trusted.
  const bowlrp::core::Digest key2 = cache.key(image + "y");
  cache.store(key2, h.data());
  fs::copy_file(cache.path(key2), cache.path(key), fs::copy_options::overwrite_existing);
  BOOST_TEST(!cache.load(key, back.data()));
  // An entry of another length is rejected by a cache of length V.
  const bowlrp::model::HistogramCache shorter(dir / "cache", o, cb, V - 1);
  // same key prefix differs (dim is part of it): write a V-entry under the shorter cache's key.
  const bowlrp::core::Digest ks = shorter.key(image);
  cache.store(ks, h.data());
  BOOST_TEST(!shorter.load(ks, back.data()));
  // Rewriting restores it.
  cache.store(key, h.data());
  BOOST_TEST(cache.load(key, back.data()));
  BOOST_TEST(back == h);
}

BOOST_AUTO_TEST_CASE(codebook_cache_round_trip) {
  TempDir dir;
  bowlrp::bow::PipelineOptions o;
  const std::vector<std::string> paths = {dir / "a.jpg", dir / "b.jpg"};
  bowlrp::core::write_file_atomic(paths[0], "aaaa");
  bowlrp::core::write_file_atomic(paths[1], "bbbbbb");
  const bowlrp::core::Digest key = bowlrp::model::codebook_key(o, paths);
  BOOST_TEST((bowlrp::model::codebook_key(o, paths) == key));
  BOOST_TEST((bowlrp::model::codebook_key(o, {paths[0]}) != key));
  o.kmeans.seed = 5;
  BOOST_TEST((bowlrp::model::codebook_key(o, paths) != key));
  BOOST_TEST(!bowlrp::model::load_cached_codebook(dir / "cache", key).has_value());
  const bowlrp::bow::Codebook cb = random_codebook(5, 9);
  bowlrp::model::store_cached_codebook(dir / "cache", key, cb);
  const auto back = bowlrp::model::load_cached_codebook(dir / "cache", key);
  BOOST_REQUIRE(back.has_value());
  BOOST_TEST(back->size() == 5);
  BOOST_TEST(back->dim() == 128);
  BOOST_TEST(back->centres() == cb.centres());
  // A changed training file (size) changes the key.
  bowlrp::core::write_file_atomic(paths[1], "bbbbbbb");
  o.kmeans.seed = 0;
  BOOST_TEST((bowlrp::model::codebook_key(o, paths) != key));
}

BOOST_AUTO_TEST_SUITE_END()
BOOST_AUTO_TEST_SUITE_END()
