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
  using core::OptionRange;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::integer_option<O>("words", "--words", "K, visual words of the codebook",
                                        [](O& o) -> int& { return o.kmeans.words; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("samples", "--kmeans-samples", "descriptors sampled for k-means",
                                        [](O& o) -> std::size_t& { return o.kmeans.samples; }, OptionRange::at_least(1)));
    s.push_back(core::integer_option<O>("kmeans_iterations", "--kmeans-iterations", "k-means iteration cap",
                                        [](O& o) -> int& { return o.kmeans.max_iterations; }, OptionRange::at_least(1)));
    s.push_back(core::choice_option<O>(
        "kmeans_algorithm", "--kmeans-algorithm", "k-means: lloyd_gemm | vlfeat_elkan | vlfeat_ann",
        {"lloyd_gemm", "vlfeat_elkan", "vlfeat_ann"}, [](O& o) -> KMeansAlgorithm& { return o.kmeans.algorithm; },
        [](KMeansAlgorithm a) { return to_string(a); }, &kmeans_algorithm_from_string));
    s.push_back(core::real_option<O>("kmeans_tolerance", "--kmeans-tolerance",
                                     "lloyd_gemm: k-means stops below this relative energy decrease",
                                     [](O& o) -> double& { return o.kmeans.tolerance; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("max_side", "--max-side", "cap on the longer image side in px (0: never resize)",
                                        [](O& o) -> int& { return o.image.max_side; }, OptionRange::at_least(0)));
    s.push_back(core::integer_option<O>("max_pixels", "--max-pixels",
                                        "largest width x height an image file may declare (0: no limit)",
                                        [](O& o) -> long long& { return o.image.max_pixels; }, OptionRange::at_least(0)));
    s.push_back(core::int_list_option<O>("bin_sizes", "--bin-sizes", "dense SIFT bin sizes in working px, one scale each",
                                         [](O& o) -> std::vector<int>& { return o.dsift.bin_sizes; },
                                         OptionRange::closed(1, 256), false));
    s.push_back(core::integer_option<O>("step", "--step", "dense SIFT grid step in working px",
                                        [](O& o) -> int& { return o.dsift.step; }, OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("magnif", "--magnif", "dense SIFT pre-smoothing sigma = bin size / magnif",
                                     [](O& o) -> double& { return o.dsift.magnif; }, OptionRange::at_least(0.01)));
    s.push_back(core::real_option<O>("contrast_threshold", "--contrast-threshold",
                                     "dense SIFT descriptors of smaller norm are zeroed",
                                     [](O& o) -> double& { return o.dsift.contrast_threshold; }, OptionRange::at_least(0)));
    s.push_back(core::real_option<O>("window_size", "--window-size", "dense SIFT: VLFeat's Gaussian window, in bins",
                                     [](O& o) -> double& { return o.dsift.window_size; }, OptionRange::above(0)));
    s.push_back(core::bool_option<O>("fast", "--fast", "flat-window approximation of dense SIFT",
                                     [](O& o) -> bool& { return o.dsift.fast; }));
    s.push_back(core::choice_option<O>("mapping", "--mapping", "feature-to-word mapping: hard | soft | rank",
                                       {"hard", "soft", "rank"}, [](O& o) -> MappingKind& { return o.mapping.kind; },
                                       [](MappingKind k) { return to_string(k); }, &mapping_kind_from_string));
    s.push_back(core::integer_option<O>("neighbours", "--neighbours", "soft / rank mapping: words kept per feature",
                                        [](O& o) -> int& { return o.mapping.neighbours; }, OptionRange::at_least(1)));
    s.push_back(core::real_option<O>("beta", "--beta", "soft mapping: kernel sharpness",
                                     [](O& o) -> double& { return o.mapping.beta; }, OptionRange::above(0)));
    s.push_back(core::real_option<O>("rank_decay", "--rank-decay", "rank mapping: weight ratio between ranks",
                                     [](O& o) -> double& { return o.mapping.rank_decay; }, OptionRange::left_open(0, 1)));
    s.push_back(core::pooling_option<O>("pooling", "--pooling", "sum | pmean:P | max",
                                        [](O& o) -> double& { return o.pooling.p; }));
    s.push_back(core::pyramid_option<O>("pyramid", "--pyramid", "bag-of-words: spatial pyramid levels COLSxROWS,...",
                                        [](O& o) -> std::vector<core::PyramidLevel>& { return o.pooling.pyramid; }));
    s.push_back(core::choice_option<O>("normalisation", "--normalisation", "of the histogram: l1 | l2 | none",
                                       {"l1", "l2", "none"}, [](O& o) -> Normalisation& { return o.pooling.normalisation; },
                                       [](Normalisation n) { return to_string(n); }, &normalisation_from_string));
    s.push_back(core::bool_option<O>("hellinger", "--hellinger", "square-root map before normalisation",
                                     [](O& o) -> bool& { return o.pooling.hellinger; }));
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
