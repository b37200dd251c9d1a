#include <bowlrp/bow/fingerprint.h>

#include <bowlrp/bow/pipeline.h>

#include <cstdio>
#include <sstream>

namespace bowlrp::bow {
namespace {

// Round-trip text of a double (17 significant digits).
std::string num(double v) {
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

}  // namespace

std::string canonical_image_dsift_options(const ImageOptions& image, const DsiftOptions& dsift) {
  std::ostringstream s;
  s << "image.max_side=" << image.max_side << ";dsift.bin_sizes=";
  for (int b : dsift.bin_sizes) s << b << ',';
  s << ";dsift.step=" << dsift.step << ";dsift.magnif=" << num(dsift.magnif)
    << ";dsift.contrast_threshold=" << num(dsift.contrast_threshold) << ";dsift.window_size="
    << num(dsift.window_size) << ";dsift.fast=" << dsift.fast;
  return s.str();
}

std::string canonical_encoding_options(const PipelineOptions& o) {
  std::ostringstream s;
  s << canonical_image_dsift_options(o.image, o.dsift) << ";mapping.kind=" << to_string(o.mapping.kind)
    << ";mapping.neighbours=" << o.mapping.neighbours << ";mapping.beta=" << num(o.mapping.beta)
    << ";mapping.rank_decay=" << num(o.mapping.rank_decay) << ";pooling.p=" << num(o.pooling.p)
    << ";pooling.pyramid=";
  for (const auto& l : o.pooling.pyramid) s << l.cols << 'x' << l.rows << ',';
  s << ";pooling.normalisation=" << to_string(o.pooling.normalisation)
    << ";pooling.hellinger=" << o.pooling.hellinger << ';';
  return s.str();
}

std::string canonical_codebook_options(const PipelineOptions& o) {
  std::ostringstream s;
  s << canonical_encoding_options(o) << "kmeans.words=" << o.kmeans.words << ";kmeans.samples=" << o.kmeans.samples
    << ";kmeans.max_iterations=" << o.kmeans.max_iterations << ";kmeans.seed=" << o.kmeans.seed
    << ";kmeans.algorithm=" << to_string(o.kmeans.algorithm) << ";kmeans.tolerance=" << num(o.kmeans.tolerance)
    << ';';
  return s.str();
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
