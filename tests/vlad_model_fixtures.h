// The VLAD model shared by the model/vlad and evaluation/vlad suites: the fixture's pipeline
// (vlad_fixtures.h) with a random linear head of three classes. Needs the model module.
#pragma once

#include <bowlrp/model/model.h>
#include <bowlrp/svm/linear_svm.h>

#include "vlad_fixtures.h"

#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

namespace bowlrp::test::vlad {

/// A VLAD model of the fixture's pipeline with a random linear head of three classes.
inline bowlrp::model::Model vlad_model(std::uint64_t seed) {
  const std::size_t V = fixture().pipeline->dimension();
  std::mt19937_64 rng(seed);
  std::normal_distribution<double> g(0, 1);
  std::vector<bowlrp::svm::LinearClass> classes;
  for (const char* name : {"a", "b", "c"}) {
    bowlrp::svm::LinearClass c{name, g(rng), std::vector<double>(V)};
    for (double& w : c.weights) w = g(rng);
    classes.push_back(std::move(c));
  }
  return bowlrp::model::Model(fixture().pipeline, std::make_shared<const bowlrp::svm::LinearSvm>(V, std::move(classes)));
}

}  // namespace bowlrp::test::vlad
