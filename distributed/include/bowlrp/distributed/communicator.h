// MPI's lifetime in a process and the communicator every distributed computation runs on.
//
// Lifetime: MPI is initialised on first use (Communicator::world(), self() or a Communicator made
// from a caller's MPI_Comm), with MPI_Init_thread(MPI_THREAD_FUNNELED): ranks may run threads, but
// only the thread that initialised MPI calls it. When this library initialised MPI it finalises it at
// process exit (the destructor of one function-local static, the only process-wide state here);
// when the caller did (mpi4py at import, a program's own MPI_Init), it is left to the caller. A
// process not started by mpirun / srun is an MPI singleton: world() has size 1, and every distributed
// computation runs as on one rank.
//
// Communicator: a value that owns a duplicate (MPI_Comm_dup) of the communicator it was made from.
// The duplicate isolates this library's messages from the caller's, and carries MPI_ERRORS_RETURN,
// so that a failed call becomes an MpiError naming the rank, the communicator's size, what was being
// done and MPI's message, rather than MPI's default abort; the caller's communicator is not changed.
// Copies share the duplicate, which is freed (MPI_Comm_free) with the last copy, or left to
// MPI_Finalize when that ran first. Making a Communicator is collective over the ranks of its parent.
#pragma once

#include <mpi.h>

#include <memory>
#include <stdexcept>
#include <string>

namespace bowlrp::distributed {

/// A failed MPI call: its message names the rank, the size, what was being done and MPI's error.
class MpiError : public std::runtime_error {
 public:
  /// Error `code` (an MPI error code) of rank `rank` of `size` while doing `what`.
  MpiError(int code, int rank, int size, const std::string& what);
  /// The MPI error code.
  int code() const { return code_; }
  /// The rank that saw the error (-1 when MPI could not tell it).
  int rank() const { return rank_; }

 private:
  int code_;
  int rank_;
};

/// Whether this process runs MPI now (initialised and not finalised).
bool mpi_active();

/// The thread support MPI provided (MPI_THREAD_*), initialising MPI first if needed; throws
/// std::runtime_error if it is below MPI_THREAD_FUNNELED.
int mpi_thread_level();

/// An owned duplicate of an MPI communicator, with errors returned as exceptions (header note).
class Communicator {
 public:
  /// A duplicate of MPI_COMM_WORLD (size 1 in a process not started by mpirun); collective.
  static Communicator world();
  /// A duplicate of MPI_COMM_SELF: size 1, the serial reference of every distributed computation.
  static Communicator self();
  /// A duplicate of a caller's communicator (e.g. mpi4py's comm), which is not changed; collective.
  explicit Communicator(MPI_Comm parent);
  /// This process's rank, 0 .. size() - 1.
  int rank() const { return rank_; }
  /// Number of ranks.
  int size() const { return size_; }
  /// The ranks of equal `color` as a new communicator, ordered by (key, rank); collective.
  Communicator split(int color, int key) const;
  /// Waits for every rank; collective.
  void barrier() const;
  /// The owned duplicate, for MPI calls of this library (valid while a copy of this lives).
  MPI_Comm native() const { return *comm_; }
  /// Throws MpiError naming this rank and `what` unless code == MPI_SUCCESS.
  void check(int code, const std::string& what) const;

 private:
  struct Adopt {};
  Communicator(Adopt, MPI_Comm owned);
  std::shared_ptr<MPI_Comm> comm_;
  int rank_ = 0;
  int size_ = 1;
};

}  // namespace bowlrp::distributed
