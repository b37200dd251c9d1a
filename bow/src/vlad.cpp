#include <bowlrp/bow/vlad.h>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace bowlrp::bow {
namespace {

constexpr int kSift = FeatureTrace::kDim;
// Floor of the block and cell norms (VLFeat's vl_vlad_encode uses the same): an all-zero block or
// cell stays 0.
constexpr double kNormFloor = 1e-12;

[[noreturn]] void bad(const std::string& field, const std::string& value, const std::string& expected) {
  throw std::invalid_argument("VladOptions::" + field + " = " + value + ": expected " + expected);
}

bool all_zero(const float* d) {
  return std::all_of(d, d + kSift, [](float v) { return v == 0.0f; });
}

}  // namespace

int VladOptions::cells() const {
  int c = 0;
  for (const core::PyramidLevel& l : pyramid) c += l.cols * l.rows;
  return c;
}

KMeansOptions VladOptions::kmeans_options() const {
  KMeansOptions km;
  km.words = words;
  km.samples = samples;
  km.max_iterations = max_iterations;
  km.seed = seed;
  return km;
}

const core::OptionSchema<VladOptions>& VladOptions::schema() {
  using O = VladOptions;
  using core::OptionRange;
  using core::Recorded;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(core::integer_option<O>("vlad_words", "--vlad-words", "vlad: K, codebook centres",
                                                        [](O& o) -> int& { return o.words; }, OptionRange::closed(1, 4096)),
                                "words", Recorded::encoding));
    s.push_back(core::record_as(core::integer_option<O>("vlad_samples", "--vlad-samples", "vlad: descriptors sampled for k-means",
                                                        [](O& o) -> std::size_t& { return o.samples; },
                                                        OptionRange::at_least(1)),
                                "samples", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("vlad_iterations", "--vlad-iterations", "vlad: k-means iteration cap",
                                                        [](O& o) -> int& { return o.max_iterations; },
                                                        OptionRange::at_least(1)),
                                "max_iterations", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("vlad_seed", "",
                                                        "vlad: seed of the k-means sample and start (model::FitOptions' seed sets it)",
                                                        [](O& o) -> std::uint64_t& { return o.seed; }),
                                "seed", Recorded::training));
    s.push_back(core::record_as(core::bool_option<O>("vlad_root_sift", "--no-vlad-root-sift",
                                                     "vlad: RootSIFT map of each descriptor before assignment",
                                                     [](O& o) -> bool& { return o.root_sift; }, true),
                                "root_sift", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("signed_sqrt", "--no-signed-sqrt",
                                                     "vlad: signed square root of every dimension",
                                                     [](O& o) -> bool& { return o.signed_sqrt; }, true),
                                "signed_sqrt", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("intra_normalisation", "--no-intra-normalisation",
                                                     "vlad: L2-normalise each cell's block of each word",
                                                     [](O& o) -> bool& { return o.intra_normalisation; }, true),
                                "intra_normalisation", Recorded::encoding));
    s.push_back(core::record_as(core::pyramid_option<O>("vlad_pyramid", "--vlad-pyramid",
                                                        "vlad: spatial pyramid levels COLSxROWS,...",
                                                        [](O& o) -> std::vector<core::PyramidLevel>& { return o.pyramid; }),
                                "pyramid", Recorded::encoding));
    return s;
  }();
  return schema;
}

void VladOptions::validate() const {
  if (words < 1 || words > 4096) bad("words", std::to_string(words), "1 .. 4096");
  if (samples < 1) bad("samples", std::to_string(samples), "at least 1 (and at least words)");
  if (max_iterations < 1) bad("max_iterations", std::to_string(max_iterations), "at least 1");
  if (pyramid.empty()) bad("pyramid", "(empty)", "at least one level, e.g. 1x1");
  for (std::size_t i = 0; i < pyramid.size(); ++i)
    if (pyramid[i].cols < 1 || pyramid[i].rows < 1 || pyramid[i].cols > 64 || pyramid[i].rows > 64)
      bad("pyramid[" + std::to_string(i) + "]", std::to_string(pyramid[i].cols) + "x" + std::to_string(pyramid[i].rows),
          "1..64 cells across and down");
}

const core::OptionSchema<VladPipelineOptions>& VladPipelineOptions::schema() {
  using O = VladPipelineOptions;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    core::append_nested(&s, ImageOptions::schema(), [](O& o) -> ImageOptions& { return o.image; }, {}, "image");
    core::append_nested(&s, DsiftOptions::schema(), [](O& o) -> DsiftOptions& { return o.dsift; }, {}, "dsift");
    core::append_nested(&s, VladOptions::schema(), [](O& o) -> VladOptions& { return o.vlad; }, {}, "vlad");
    return s;
  }();
  return schema;
}

void VladPipelineOptions::validate() const {
  image.validate();
  dsift.validate();
  vlad.validate();
}

std::string canonical_encoding_options(const VladPipelineOptions& o) {
  return core::record_text(VladPipelineOptions::schema(), o, core::Recorded::encoding);
}

std::string canonical_training_options(const VladPipelineOptions& o) {
  return core::record_text(VladPipelineOptions::schema(), o, core::Recorded::training);
}

std::vector<float> vlad_local_descriptors(const VladOptions& o, const float* descriptors, std::size_t n) {
  std::vector<float> out(descriptors, descriptors + n * kSift);
  if (!o.root_sift) return out;
  for (std::size_t l = 0; l < n; ++l) {
    float* s = out.data() + l * kSift;
    double l1 = 0;
    for (int j = 0; j < kSift; ++j) l1 += std::abs(static_cast<double>(s[j]));
    if (l1 == 0) continue;  // a zero descriptor stays 0
    for (int j = 0; j < kSift; ++j) s[j] = static_cast<float>(std::sqrt(std::abs(static_cast<double>(s[j])) / l1));
  }
  return out;
}

Codebook train_vlad_codebook(const float* descriptors, std::size_t n, const VladOptions& o, KMeansReport* report) {
  o.validate();
  std::vector<float> kept;
  kept.reserve(n * kSift);
  for (std::size_t l = 0; l < n; ++l)
    if (!all_zero(descriptors + l * kSift)) kept.insert(kept.end(), descriptors + l * kSift, descriptors + (l + 1) * kSift);
  const std::size_t m = kept.size() / kSift;
  if (m < static_cast<std::size_t>(o.words))
    throw std::invalid_argument("cannot train a VLAD codebook of " + std::to_string(o.words) + " words from " +
                                std::to_string(m) + " non-zero descriptors (of " + std::to_string(n) +
                                "): use fewer words or more images");
  const std::vector<float> s = vlad_local_descriptors(o, kept.data(), m);
  return Codebook::train(s.data(), m, kSift, o.kmeans_options(), report);
}

namespace {
const VladPipelineOptions& validated(const VladPipelineOptions& o) {
  o.validate();
  return o;
}

Codebook validated(const VladPipelineOptions& o, Codebook codebook) {
  if (codebook.dim() != kSift || codebook.size() != o.vlad.words)
    throw std::invalid_argument("VladPipeline: the codebook has " + std::to_string(codebook.size()) +
                                " words of dimension " + std::to_string(codebook.dim()) + "; expected " +
                                std::to_string(o.vlad.words) + " (VladOptions::words) of dimension 128");
  return codebook;
}
}  // namespace

VladPipeline::VladPipeline(VladPipelineOptions options, Codebook codebook)
    : options_(validated(options)),
      loader_(options_.image),
      sift_(options_.dsift),
      mapper_(validated(options_, std::move(codebook))) {
  core::Hasher h;
  h.field("bowlrp-vlad-v1");
  h.field(canonical_encoding_options(options_));
  h.digest_field(codebook_digest(mapper_.codebook()));
  fingerprint_ = h.digest();
}

std::size_t VladPipeline::dimension() const {
  return static_cast<std::size_t>(options_.vlad.words) * kSift * static_cast<std::size_t>(options_.vlad.cells());
}

VladTrace VladPipeline::encode(const GrayImage& image) const { return encode_features(sift_.extract(image)); }

VladTrace VladPipeline::encode_features(FeatureTrace features) const {
  const VladOptions& o = options_.vlad;
  VladTrace t;
  t.features = std::move(features);
  const std::size_t L = t.features.size();
  if (t.features.descriptors.size() != L * kSift)
    throw std::invalid_argument("VladPipeline: the feature trace has " + std::to_string(t.features.descriptors.size()) +
                                " descriptor values for " + std::to_string(L) + " frames; expected 128 per frame");
  if (L > 0 && (t.features.width < 1 || t.features.height < 1))
    throw std::invalid_argument("VladPipeline: the feature trace has no image size");
  t.local = vlad_local_descriptors(o, t.features.descriptors.data(), L);
  // Nearest centre of every descriptor (a pure function of the descriptor: exact distances decide),
  // then -1 for the zeroed ones.
  const std::vector<std::int32_t> nearest = mapper_.nearest(t.local.data(), L);
  t.assignment.assign(nearest.begin(), nearest.end());
  for (std::size_t l = 0; l < L; ++l)
    if (all_zero(t.features.descriptor(l))) t.assignment[l] = -1;
  t.cells = o.cells();
  t.levels = static_cast<int>(o.pyramid.size());
  t.feature_cells = pyramid_cells(t.features, o.pyramid, &t.cell_counts);
  t.pipeline = fingerprint_;
  pool(t);
  return t;
}

void VladPipeline::pool(VladTrace& t) const {
  const VladOptions& o = options_.vlad;
  const std::size_t K = static_cast<std::size_t>(o.words), cells = static_cast<std::size_t>(o.cells());
  const std::size_t levels = o.pyramid.size(), cell_dim = K * kSift, L = t.features.size();
  if (t.local.size() != L * kSift || t.assignment.size() != L || t.feature_cells.size() != L * levels ||
      t.cell_counts.size() != cells || t.cells != static_cast<int>(cells) || t.levels != static_cast<int>(levels))
    throw std::invalid_argument("VladPipeline::pool: the trace's local descriptors, assignment and cells disagree (" +
                                std::to_string(t.local.size()) + " values, " + std::to_string(t.assignment.size()) +
                                " words, " + std::to_string(L) + " features)");
  for (std::size_t l = 0; l < L; ++l)
    if (t.assignment[l] < -1 || t.assignment[l] >= static_cast<int>(K))
      throw std::invalid_argument("VladPipeline::pool: feature " + std::to_string(l) + " is assigned to word " +
                                  std::to_string(t.assignment[l]) + " of " + std::to_string(K));
  for (std::size_t i = 0; i < t.feature_cells.size(); ++i)
    if (t.feature_cells[i] < 0 || t.feature_cells[i] >= static_cast<int>(cells))
      throw std::invalid_argument("VladPipeline::pool: feature " + std::to_string(i / levels) + " lies in cell " +
                                  std::to_string(t.feature_cells[i]) + " of " + std::to_string(cells));
  // Residual sums, in double, in feature order.
  t.word_counts.assign(cells * K, 0);
  t.unnormalised.assign(cells * cell_dim, 0.0);
  for (std::size_t l = 0; l < L; ++l) {
    if (t.assignment[l] < 0) continue;
    const std::size_t k = static_cast<std::size_t>(t.assignment[l]);
    const float* s = t.local.data() + l * kSift;
    const float* ck = mapper_.codebook().centre(static_cast<int>(k));
    for (std::size_t lv = 0; lv < levels; ++lv) {
      const std::size_t c = static_cast<std::size_t>(t.feature_cells[l * levels + lv]);
      ++t.word_counts[c * K + k];
      double* z = t.unnormalised.data() + c * cell_dim + k * kSift;
      for (int j = 0; j < kSift; ++j) z[j] += static_cast<double>(s[j]) - static_cast<double>(ck[j]);
    }
  }

  // Normalisations, cell by cell.
  t.block_norms.assign(cells * K, 1.0);
  t.cell_norms.assign(cells, 1.0);
  t.vlad.assign(cells * cell_dim, 0.0);
  const double root_cells = std::sqrt(static_cast<double>(cells));
  for (std::size_t c = 0; c < cells; ++c) {
    const double* z = t.unnormalised.data() + c * cell_dim;
    double* v = t.vlad.data() + c * cell_dim;
    for (std::size_t d = 0; d < cell_dim; ++d)
      v[d] = o.signed_sqrt ? std::copysign(std::sqrt(std::abs(z[d])), z[d]) : z[d];
    if (o.intra_normalisation)
      for (std::size_t k = 0; k < K; ++k) {
        double* b = v + k * kSift;
        double sq = 0;
        for (int j = 0; j < kSift; ++j) sq += b[j] * b[j];
        const double norm = std::max(std::sqrt(sq), kNormFloor);
        t.block_norms[c * K + k] = norm;
        for (int j = 0; j < kSift; ++j) b[j] /= norm;
      }
    double sq = 0;
    for (std::size_t d = 0; d < cell_dim; ++d) sq += v[d] * v[d];
    const double norm = std::max(std::sqrt(sq), kNormFloor) * root_cells;
    t.cell_norms[c] = norm;
    for (std::size_t d = 0; d < cell_dim; ++d) v[d] /= norm;
  }
}

void VladPipeline::replace_features(VladTrace& t, const FeatureTrace& replacement,
                                    const std::vector<std::size_t>& indices) const {
  const std::size_t L = t.features.size();
  if (replacement.size() != indices.size() || replacement.descriptors.size() != indices.size() * kSift)
    throw std::invalid_argument("VladPipeline::replace_features: " + std::to_string(replacement.size()) +
                                " replacement features (" + std::to_string(replacement.descriptors.size()) +
                                " descriptor values) for " + std::to_string(indices.size()) + " indices");
  for (std::size_t i = 0; i < indices.size(); ++i)
    if (indices[i] >= L)
      throw std::invalid_argument("VladPipeline::replace_features: feature index " + std::to_string(indices[i]) +
                                  " outside the trace's " + std::to_string(L) + " features");
  if (t.local.size() != L * kSift || t.assignment.size() != L)
    throw std::invalid_argument("VladPipeline::replace_features: the trace's local descriptors and assignment "
                                "disagree with its " + std::to_string(L) + " features");
  const std::vector<float> s = vlad_local_descriptors(options_.vlad, replacement.descriptors.data(), indices.size());
  const std::vector<std::int32_t> nearest = mapper_.nearest(s.data(), indices.size());
  for (std::size_t i = 0; i < indices.size(); ++i) {
    const std::size_t l = indices[i];
    std::copy(replacement.descriptor(i), replacement.descriptor(i) + kSift, t.features.descriptors.begin() + l * kSift);
    std::copy(s.begin() + i * kSift, s.begin() + (i + 1) * kSift, t.local.begin() + l * kSift);
    t.assignment[l] = all_zero(replacement.descriptor(i)) ? -1 : nearest[i];
  }
  pool(t);
}

}  // namespace bowlrp::bow
