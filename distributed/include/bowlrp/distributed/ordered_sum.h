// Rows dealt to ranks in fixed blocks, and the sum over rows whose bits do not depend on the rank count.
//
// Block layout: N rows are cut into B = ceil(N / block_rows) blocks of block_rows consecutive rows
// (the last one shorter); block_rows is a property of the computation, never of the rank count R.
// Rank r of R holds the contiguous range of blocks [floor(r B / R), floor((r + 1) B / R)), i.e. the
// contiguous rows [first_row(r), end_row(r)): a rank reads one slice of a row file, and a rank may
// hold no block when B < R.
//
// Ordered sum: each rank computes one partial sum per block it holds, p_b = sum over the rows of block
// b, always in increasing row order (so p_b does not depend on R either), and hands them in block
// order. ordered_sum gathers every block's partial on every rank (MPI_Allgatherv) and adds them in
// block order,
//   S_j = (((0 + p_0j) + p_1j) + p_2j) + ... + p_(B-1)j,   j = 0 .. length - 1,
// the same left fold on every rank, so S has the same bits for every R (and every rank holds it).
// An MPI_Allreduce would add the ranks' sums in an order that depends on R and on MPI's algorithm.
//
// Bytes per call: rank r hands MPI its own blocks' partials, B_r * length * 8 bytes, and receives the
// other ranks', (B - B_r) * length * 8 bytes; every rank ends with all B * length doubles. (How many
// bytes cross the network to deliver them is MPI's algorithm: a ring forwards each partial R - 1
// times.) So a sum of one vector of V doubles over 200 000 rows in blocks of 256 rows (B = 782)
// receives ~782 * V * 8 bytes per rank, 32 MB for V = 5121: the price of R-independent bits is a
// factor B / R over an MPI_Allreduce; a larger block_rows trades it down.
#pragma once

#include <bowlrp/distributed/communicator.h>

#include <cstddef>
#include <cstdint>
#include <vector>

namespace bowlrp::distributed {

/// Rows per block when a computation does not choose (a property of the computation, not of R).
constexpr std::size_t kDefaultBlockRows = 256;

/// N rows in fixed blocks dealt to R ranks as contiguous ranges of blocks (header note).
class BlockLayout {
 public:
  /// rows N >= 0, block_rows >= 1, ranks R >= 1; throws std::invalid_argument naming the bad value.
  BlockLayout(std::size_t rows, std::size_t block_rows, int ranks);
  /// Total rows N.
  std::size_t rows() const { return rows_; }
  /// Rows per block (the last block may be shorter).
  std::size_t block_rows() const { return block_rows_; }
  /// Number of ranks R.
  int ranks() const { return ranks_; }
  /// Number of blocks B = ceil(N / block_rows).
  std::size_t blocks() const { return blocks_; }
  /// First block of rank r: floor(r B / R).
  std::size_t first_block(int rank) const;
  /// One past the last block of rank r: floor((r + 1) B / R).
  std::size_t end_block(int rank) const;
  /// First row of block b.
  std::size_t block_first_row(std::size_t block) const;
  /// One past the last row of block b.
  std::size_t block_end_row(std::size_t block) const;
  /// First row rank r holds.
  std::size_t first_row(int rank) const { return block_first_row(first_block(rank)); }
  /// One past the last row rank r holds.
  std::size_t end_row(int rank) const { return block_first_row(end_block(rank)); }
  /// Rows rank r holds.
  std::size_t rows_of(int rank) const { return end_row(rank) - first_row(rank); }

 private:
  void check_rank(int rank) const;
  std::size_t rows_, block_rows_, blocks_;
  int ranks_;
};

/// Bytes and calls of the ordered sums of a computation, as this rank saw them.
struct Traffic {
  std::uint64_t calls = 0;           ///< ordered_sum calls
  std::uint64_t bytes_sent = 0;      ///< bytes of this rank's own partials handed to MPI
  std::uint64_t bytes_received = 0;  ///< bytes of the other ranks' partials received
  double seconds = 0;                ///< wall time inside ordered_sum: waiting for the other ranks, gathering, adding
};

/// The sum over all blocks, in block order, of per-block partials (header note); collective over
/// `comm`, whose size must be layout.ranks(). `partials` holds this rank's blocks, block-major:
/// (end_block - first_block) x length doubles. Every rank must pass the same layout and length.
/// Adds this call's bytes to `traffic` when given. Throws std::invalid_argument on a layout of
/// another size than comm, MpiError if MPI fails.
std::vector<double> ordered_sum(const Communicator& comm, const BlockLayout& layout, const double* partials,
                                std::size_t length, Traffic* traffic = nullptr);

/// Element-wise sums of exact integers (counts) over the ranks, the same on every rank (integer sums
/// do not depend on their order); collective, every rank passing the same length.
std::vector<std::int64_t> sum_counts(const Communicator& comm, const std::vector<std::int64_t>& local);

}  // namespace bowlrp::distributed
