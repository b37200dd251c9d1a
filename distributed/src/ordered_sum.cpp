#include <bowlrp/distributed/ordered_sum.h>

#include <algorithm>
#include <chrono>
#include <climits>
#include <stdexcept>
#include <string>

namespace bowlrp::distributed {

BlockLayout::BlockLayout(std::size_t rows, std::size_t block_rows, int ranks)
    : rows_(rows), block_rows_(block_rows), blocks_(0), ranks_(ranks) {
  if (block_rows == 0) throw std::invalid_argument("BlockLayout: block_rows 0, expected at least 1 row per block");
  if (ranks < 1) throw std::invalid_argument("BlockLayout: ranks " + std::to_string(ranks) + ", expected at least 1");
  blocks_ = rows / block_rows + (rows % block_rows ? 1 : 0);
}

void BlockLayout::check_rank(int rank) const {
  if (rank < 0 || rank >= ranks_)
    throw std::out_of_range("BlockLayout: rank " + std::to_string(rank) + ", expected 0 .. " +
                            std::to_string(ranks_ - 1));
}

std::size_t BlockLayout::first_block(int rank) const {
  check_rank(rank);
  // r B / R without overflow for any realistic B (B < 2^40, R < 2^23).
  return static_cast<std::size_t>(static_cast<unsigned __int128>(rank) * blocks_ / static_cast<unsigned>(ranks_));
}

std::size_t BlockLayout::end_block(int rank) const {
  check_rank(rank);
  return static_cast<std::size_t>(static_cast<unsigned __int128>(rank + 1) * blocks_ / static_cast<unsigned>(ranks_));
}

std::size_t BlockLayout::block_first_row(std::size_t block) const {
  if (block > blocks_)
    throw std::out_of_range("BlockLayout: block " + std::to_string(block) + ", expected 0 .. " + std::to_string(blocks_));
  return std::min(block * block_rows_, rows_);
}

std::size_t BlockLayout::block_end_row(std::size_t block) const {
  if (block >= blocks_)
    throw std::out_of_range("BlockLayout: block " + std::to_string(block) + ", expected 0 .. " +
                            std::to_string(blocks_ ? blocks_ - 1 : 0));
  return std::min((block + 1) * block_rows_, rows_);
}

std::vector<double> ordered_sum(const Communicator& comm, const BlockLayout& layout, const double* partials,
                                std::size_t length, Traffic* traffic) {
  if (layout.ranks() != comm.size())
    throw std::invalid_argument("ordered_sum: the layout deals rows to " + std::to_string(layout.ranks()) +
                                " ranks, but the communicator has " + std::to_string(comm.size()));
  const std::size_t B = layout.blocks();
  std::vector<double> sum(length, 0.0);
  if (B == 0 || length == 0) return sum;
  const std::size_t total = B * length;
  if (total / length != B || total > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("ordered_sum: " + std::to_string(B) + " blocks x " + std::to_string(length) +
                                " values exceed MPI's int count (" + std::to_string(INT_MAX) +
                                "); use larger blocks (block_rows) or shorter vectors");
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<int> counts(static_cast<std::size_t>(comm.size())), offsets(counts.size());
  for (int r = 0; r < comm.size(); ++r) {
    counts[r] = static_cast<int>((layout.end_block(r) - layout.first_block(r)) * length);
    offsets[r] = static_cast<int>(layout.first_block(r) * length);
  }
  std::vector<double> all(total);
  const int mine = counts[comm.rank()];
  comm.check(MPI_Allgatherv(mine ? partials : nullptr, mine, MPI_DOUBLE, all.data(), counts.data(), offsets.data(),
                            MPI_DOUBLE, comm.native()),
             "gathering " + std::to_string(B) + " block partials of " + std::to_string(length) +
                 " values (MPI_Allgatherv in ordered_sum)");
  for (std::size_t b = 0; b < B; ++b) {
    const double* p = all.data() + b * length;
    for (std::size_t j = 0; j < length; ++j) sum[j] += p[j];
  }
  if (traffic) {
    ++traffic->calls;
    traffic->bytes_sent += static_cast<std::uint64_t>(mine) * sizeof(double);
    traffic->bytes_received += static_cast<std::uint64_t>(total - static_cast<std::size_t>(mine)) * sizeof(double);
    traffic->seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  }
  return sum;
}

std::vector<std::int64_t> sum_counts(const Communicator& comm, const std::vector<std::int64_t>& local) {
  if (local.size() > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("sum_counts: " + std::to_string(local.size()) + " counts exceed MPI's int count");
  std::vector<std::int64_t> total(local.size(), 0);
  if (local.empty()) return total;
  comm.check(MPI_Allreduce(local.data(), total.data(), static_cast<int>(local.size()), MPI_INT64_T, MPI_SUM,
                           comm.native()),
             "summing " + std::to_string(local.size()) + " counts (MPI_Allreduce in sum_counts)");
  return total;
}

}  // namespace bowlrp::distributed
