#include <bowlrp/bow/fingerprint.h>

#include <bowlrp/bow/pipeline.h>


namespace bowlrp::bow {
std::string canonical_encoding_options(const PipelineOptions& o) {
  return core::record_text(PipelineOptions::schema(), o, core::Recorded::encoding);
}

std::string canonical_codebook_options(const PipelineOptions& o) {
  return core::record_text(PipelineOptions::schema(), o, core::Recorded::training);
}

core::Digest codebook_digest(const Codebook& codebook) {
  core::Hasher h;
  const std::uint64_t k = static_cast<std::uint64_t>(codebook.size()), d = static_cast<std::uint64_t>(codebook.dim());
  h.update(&k, 8);
  h.update(&d, 8);
  h.update(codebook.centres().data(), codebook.centres().size() * sizeof(float));
  return h.digest();
}

}  // namespace bowlrp::bow
