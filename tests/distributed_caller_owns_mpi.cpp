// The distributed module in a process whose MPI the caller initialised and finalises (as mpi4py does,
// with MPI_THREAD_MULTIPLE): Communicator uses it without initialising it again, a communicator made
// from the caller's MPI_Comm is a duplicate, the caller's MPI_Finalize is the only one (the module's
// lifetime does not finalise what it did not initialise), and a Communicator still alive after
// MPI_Finalize is destroyed without an MPI call. Not a Boost.Test file: MPI can be initialised once
// per process, and here it must be by main(). Exit code 0 when every check holds; run by ctest as
// distributed_caller_owns_mpi under mpirun -n 2.
#include <bowlrp/distributed/communicator.h>
#include <bowlrp/distributed/ordered_sum.h>

#include <mpi.h>

#include <cstdio>
#include <memory>
#include <vector>

using namespace bowlrp::distributed;

namespace {

int failures = 0;

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "distributed_caller_owns_mpi: FAILED: %s\n", what);
    ++failures;
  }
}

}  // namespace

int main(int argc, char** argv) {
  int provided = 0;
  MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
  int world_size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  // Kept past MPI_Finalize on purpose: its destructor must not call MPI.
  std::unique_ptr<Communicator> late;
  try {
    check(mpi_thread_level() == provided, "the thread level is the caller's");
    const Communicator comm(MPI_COMM_WORLD);
    check(comm.size() == world_size, "size of the caller's communicator");
    int relation = -1;
    MPI_Comm_compare(comm.native(), MPI_COMM_WORLD, &relation);
    check(relation == MPI_CONGRUENT, "a duplicate of the caller's communicator");
    const BlockLayout layout(10, 1, comm.size());
    std::vector<double> partials;
    for (std::size_t b = layout.first_block(comm.rank()); b < layout.end_block(comm.rank()); ++b)
      partials.push_back(static_cast<double>(b));
    const std::vector<double> sum = ordered_sum(comm, layout, partials.data(), 1);
    check(sum.size() == 1 && sum[0] == 45.0, "ordered sum of 0 .. 9");
    late = std::make_unique<Communicator>(comm.split(0, comm.rank()));
  } catch (const std::exception& e) {
    std::fprintf(stderr, "distributed_caller_owns_mpi: %s\n", e.what());
    ++failures;
  }
  MPI_Finalize();
  check(!mpi_active(), "MPI finalised by the caller");
  late.reset();  // after MPI_Finalize: no MPI call, no crash
  if (failures == 0) std::printf("distributed_caller_owns_mpi: all checks hold\n");
  return failures == 0 ? 0 : 1;
}
