#include <bowlrp/distributed/communicator.h>

#include <string>
#include <utility>

namespace bowlrp::distributed {

namespace {

std::string mpi_error_text(int code) {
  char text[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) return "MPI error code " + std::to_string(code);
  return std::string(text, static_cast<std::size_t>(length));
}

// MPI's lifetime (the header note): initialised by the constructor unless someone else did, finalised
// by the destructor, at process exit, only when it was initialised here.
class Lifetime {
 public:
  Lifetime() {
    int initialised = 0, finalised = 0;
    MPI_Initialized(&initialised);
    MPI_Finalized(&finalised);
    if (finalised)
      throw std::runtime_error("MPI was finalised already in this process; it cannot be initialised again");
    if (initialised) {
      MPI_Query_thread(&provided_);
    } else {
      const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_FUNNELED, &provided_);
      if (code != MPI_SUCCESS) throw MpiError(code, -1, 0, "initialising MPI (MPI_Init_thread)");
      owned_ = true;
    }
    if (provided_ < MPI_THREAD_FUNNELED)
      throw std::runtime_error("MPI provides thread level " + std::to_string(provided_) +
                               ", expected at least MPI_THREAD_FUNNELED (" + std::to_string(MPI_THREAD_FUNNELED) +
                               "): initialise MPI with MPI_Init_thread and MPI_THREAD_FUNNELED or higher");
  }
  ~Lifetime() {
    int finalised = 0;
    MPI_Finalized(&finalised);
    if (owned_ && !finalised) MPI_Finalize();
  }
  Lifetime(const Lifetime&) = delete;
  Lifetime& operator=(const Lifetime&) = delete;
  int provided() const { return provided_; }

 private:
  bool owned_ = false;
  int provided_ = 0;
};

const Lifetime& lifetime() {
  static const Lifetime instance;
  return instance;
}

// Frees a duplicate unless MPI_Finalize ran first (a Communicator outliving main's MPI).
void free_comm(MPI_Comm* comm) {
  if (mpi_active() && *comm != MPI_COMM_NULL) MPI_Comm_free(comm);
  delete comm;
}

}  // namespace

MpiError::MpiError(int code, int rank, int size, const std::string& what)
    : std::runtime_error("MPI error on rank " + (rank < 0 ? std::string("?") : std::to_string(rank)) +
                         (size > 0 ? " of " + std::to_string(size) : std::string()) + " while " + what + ": " +
                         mpi_error_text(code)),
      code_(code),
      rank_(rank) {}

bool mpi_active() {
  int initialised = 0, finalised = 0;
  MPI_Initialized(&initialised);
  MPI_Finalized(&finalised);
  return initialised && !finalised;
}

int mpi_thread_level() { return lifetime().provided(); }

Communicator::Communicator(MPI_Comm parent) {
  lifetime();
  if (parent == MPI_COMM_NULL) throw std::invalid_argument("Communicator: the communicator handed in is MPI_COMM_NULL");
  int rank = -1, size = 0;
  MPI_Comm_rank(parent, &rank);
  MPI_Comm_size(parent, &size);
  MPI_Comm dup = MPI_COMM_NULL;
  // The parent's error handler may abort; its MPI_Comm_dup failing is reported by it, not here.
  const int code = MPI_Comm_dup(parent, &dup);
  if (code != MPI_SUCCESS) throw MpiError(code, rank, size, "duplicating a communicator (MPI_Comm_dup)");
  *this = Communicator(Adopt{}, dup);
}

Communicator::Communicator(Adopt, MPI_Comm owned) : comm_(new MPI_Comm(owned), free_comm) {
  MPI_Comm_set_errhandler(owned, MPI_ERRORS_RETURN);
  check(MPI_Comm_rank(owned, &rank_), "reading the rank (MPI_Comm_rank)");
  check(MPI_Comm_size(owned, &size_), "reading the size (MPI_Comm_size)");
}

Communicator Communicator::world() {
  lifetime();
  return Communicator(MPI_COMM_WORLD);
}

Communicator Communicator::self() {
  lifetime();
  return Communicator(MPI_COMM_SELF);
}

Communicator Communicator::split(int color, int key) const {
  if (color < 0)
    throw std::invalid_argument("Communicator::split: color " + std::to_string(color) +
                                ", expected a non-negative color (every rank joins one part)");
  MPI_Comm part = MPI_COMM_NULL;
  check(MPI_Comm_split(native(), color, key, &part),
        "splitting the communicator (MPI_Comm_split, color " + std::to_string(color) + ")");
  return Communicator(Adopt{}, part);
}

void Communicator::barrier() const { check(MPI_Barrier(native()), "waiting for every rank (MPI_Barrier)"); }

void Communicator::check(int code, const std::string& what) const {
  if (code != MPI_SUCCESS) throw MpiError(code, rank_, size_, what);
}

}  // namespace bowlrp::distributed
