#include <bowlrp/core/random.h>

#include <bowlrp/core/digest.h>

#include <numeric>
#include <random>
#include <utility>

namespace bowlrp::core {

std::uint64_t derived_seed(std::uint64_t seed, std::uint64_t index) { return mix_seed(seed ^ mix_seed(index)); }

std::vector<std::size_t> random_permutation(std::size_t n, std::uint64_t seed) {
  std::vector<std::size_t> order(n);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::mt19937_64 engine(mix_seed(seed));
  for (std::size_t i = n; i > 1; --i) {
    const std::uint64_t m = i;
    const std::uint64_t limit = ~std::uint64_t{0} - (~std::uint64_t{0} % m + 1) % m;
    std::uint64_t r;
    do r = engine();
    while (r > limit);
    std::swap(order[i - 1], order[r % m]);
  }
  return order;
}

}  // namespace bowlrp::core
