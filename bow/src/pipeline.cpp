#include <bowlrp/bow/pipeline.h>

#include <stdexcept>
#include <string>

namespace bowlrp::bow {

PoolingOptions PipelineOptions::default_pooling() {
  PoolingOptions p;
  p.pyramid = {core::PyramidLevel{1, 1}, core::PyramidLevel{2, 2}};
  return p;
}

const core::OptionSchema<PipelineOptions>& PipelineOptions::schema() {
  using O = PipelineOptions;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    core::append_nested(&s, KMeansOptions::schema(), [](O& o) -> KMeansOptions& { return o.kmeans; }, {}, "kmeans");
    core::append_nested(&s, ImageOptions::schema(), [](O& o) -> ImageOptions& { return o.image; }, {}, "image");
    core::append_nested(&s, DsiftOptions::schema(), [](O& o) -> DsiftOptions& { return o.dsift; }, {}, "dsift");
    core::append_nested(&s, MappingOptions::schema(), [](O& o) -> MappingOptions& { return o.mapping; }, {}, "mapping");
    core::append_nested(&s, PoolingOptions::schema(), [](O& o) -> PoolingOptions& { return o.pooling; }, {}, "pooling");
    return s;
  }();
  return schema;
}

void PipelineOptions::validate() const {
  image.validate();
  dsift.validate();
  kmeans.validate();
  mapping.validate();
  pooling.validate();
}

namespace {
// Validates before any stage is built, so the message names the options, not a stage.
const PipelineOptions& validated(const PipelineOptions& o) {
  o.validate();
  return o;
}
}  // namespace

Pipeline::Pipeline(PipelineOptions options, Codebook codebook)
    : options_(validated(options)),
      loader_(options_.image),
      sift_(options_.dsift),
      mapper_(std::move(codebook), options_.mapping),
      pooler_(mapper_.codebook().size(), options_.pooling) {
  if (mapper_.codebook().dim() != FeatureTrace::kDim)
    throw std::invalid_argument("Pipeline: the codebook has " + std::to_string(mapper_.codebook().dim()) +
                                "-dimensional words, expected " + std::to_string(FeatureTrace::kDim) +
                                " (SIFT)");
  core::Hasher h;
  h.field("bowlrp-pipeline-v1");
  h.field(canonical_encoding_options(options_));
  h.digest_field(codebook_digest(mapper_.codebook()));
  fingerprint_ = h.digest();
}

EncodeTrace Pipeline::encode(const GrayImage& image) const {
  EncodeTrace t;
  t.features = sift_.extract(image);
  t.assignment = mapper_.assign(t.features);
  t.pool = pooler_.pool(t.features, t.assignment);
  t.pipeline = fingerprint_;
  return t;
}

}  // namespace bowlrp::bow
