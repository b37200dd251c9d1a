#include <bowlrp/bow/fisher.h>

#include <cblas.h>

extern "C" {
#include <vl/generic.h>
#include <vl/gmm.h>
}

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <iomanip>
#include <limits>
#include <memory>
#include <mutex>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <bowlrp/bow/codebook.h>
#include <bowlrp/core/lapack.h>

namespace bowlrp::bow {
namespace {

constexpr int kSift = FeatureTrace::kDim;
// Features per SGEMM block of the log-likelihoods: 4096 x K floats stay a few MB.
constexpr std::size_t kBlock = 4096;
// Log-likelihood gap below the top component beyond which a posterior's exp is not evaluated.
constexpr double kLogCut = 42.0;

[[noreturn]] void bad(const std::string& field, const std::string& value, const std::string& expected) {
  throw std::invalid_argument("FisherOptions::" + field + " = " + value + ": expected " + expected);
}

std::string num(double v) {
  std::ostringstream s;
  s << std::setprecision(17) << v;
  return s.str();
}

// RootSIFT of one descriptor into out (128 floats): sqrt(d / |d|_1); 0 stays 0.
void root_sift(const float* d, float* out) {
  double l1 = 0;
  for (int j = 0; j < kSift; ++j) l1 += std::abs(d[j]);
  if (l1 == 0) {
    std::fill(out, out + kSift, 0.0f);
    return;
  }
  for (int j = 0; j < kSift; ++j) out[j] = static_cast<float>(std::sqrt(std::abs(d[j]) / l1));
}

// VLFeat's thread count is process-wide: EM runs on one thread (deterministic sums), and the
// previous setting is restored, under a lock so that concurrent trainings do not interleave.
std::mutex vl_threads_mutex;

}  // namespace

int FisherOptions::cells() const {
  int c = 0;
  for (const core::PyramidLevel& l : pyramid) c += l.cols * l.rows;
  return c;
}

const core::OptionSchema<FisherOptions>& FisherOptions::schema() {
  using O = FisherOptions;
  using core::OptionRange;
  using core::Recorded;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    s.push_back(core::record_as(core::integer_option<O>("pca", "--pca", "fisher: D, SIFT dimensions kept by PCA",
                                                        [](O& o) -> int& { return o.pca_dimension; },
                                                        OptionRange::closed(1, 128)),
                                "pca_dimension", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("root_sift", "--no-root-sift",
                                                     "fisher: RootSIFT map of each descriptor before PCA",
                                                     [](O& o) -> bool& { return o.root_sift; }, true),
                                "root_sift", Recorded::encoding));
    s.push_back(core::record_as(core::bool_option<O>("append_xy", "--no-xy",
                                                     "fisher: append the frame centre's normalised position to each descriptor",
                                                     [](O& o) -> bool& { return o.append_xy; }, true),
                                "append_xy", Recorded::encoding));
    s.push_back(core::record_as(core::integer_option<O>("components", "--components", "fisher: K, Gaussians of the mixture",
                                                        [](O& o) -> int& { return o.components; },
                                                        OptionRange::closed(1, 4096)),
                                "components", Recorded::encoding));
    s.push_back(core::record_as(core::integer_option<O>("fisher_samples", "--fisher-samples",
                                                        "fisher: descriptors sampled for PCA and the mixture",
                                                        [](O& o) -> std::size_t& { return o.samples; },
                                                        OptionRange::at_least(1)),
                                "samples", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("fisher_iterations", "--fisher-iterations", "fisher: EM iteration cap",
                                                        [](O& o) -> int& { return o.max_iterations; },
                                                        OptionRange::at_least(1)),
                                "max_iterations", Recorded::training));
    s.push_back(core::record_as(core::integer_option<O>("fisher_seed", "",
                                                        "fisher: seed of the sample and of EM's start (model::FitOptions' seed sets it)",
                                                        [](O& o) -> std::uint64_t& { return o.seed; }),
                                "seed", Recorded::training));
    s.push_back(core::record_as(core::real_option<O>("posterior_threshold", "--posterior-threshold",
                                                     "fisher: posteriors below are set to 0",
                                                     [](O& o) -> double& { return o.posterior_threshold; },
                                                     OptionRange::half_open(0, 1)),
                                "posterior_threshold", Recorded::encoding));
    s.push_back(core::record_as(core::pyramid_option<O>("fisher_pyramid", "--fisher-pyramid",
                                                        "fisher: spatial pyramid levels COLSxROWS,...",
                                                        [](O& o) -> std::vector<core::PyramidLevel>& { return o.pyramid; }),
                                "pyramid", Recorded::encoding));
    // Written only when on: files of the earlier behaviour keep their bytes (and digests), and a
    // file without the field reads as off.
    s.push_back(core::record_as(core::bool_option<O>("skip_zeroed", "--keep-zeroed",
                                                     "fisher: zeroed (low-contrast) descriptors add no Fisher term",
                                                     [](O& o) -> bool& { return o.skip_zeroed; }, true),
                                "skip_zeroed", Recorded::encoding, core::InFile::when_true));
    return s;
  }();
  return schema;
}

void FisherOptions::validate() const {
  if (pca_dimension < 1 || pca_dimension > kSift) bad("pca_dimension", std::to_string(pca_dimension), "1 .. 128");
  if (components < 1 || components > 4096) bad("components", std::to_string(components), "1 .. 4096");
  if (samples < 1) bad("samples", std::to_string(samples), "at least 1 (and at least components)");
  if (max_iterations < 1) bad("max_iterations", std::to_string(max_iterations), "at least 1");
  if (!(posterior_threshold >= 0 && posterior_threshold < 1))
    bad("posterior_threshold", num(posterior_threshold), "a value in [0, 1)");
  if (pyramid.empty()) bad("pyramid", "(empty)", "at least one level, e.g. 1x1");
  for (std::size_t i = 0; i < pyramid.size(); ++i)
    if (pyramid[i].cols < 1 || pyramid[i].rows < 1 || pyramid[i].cols > 64 || pyramid[i].rows > 64)
      bad("pyramid[" + std::to_string(i) + "]", std::to_string(pyramid[i].cols) + "x" + std::to_string(pyramid[i].rows),
          "1..64 cells across and down");
}

const core::OptionSchema<FisherPipelineOptions>& FisherPipelineOptions::schema() {
  using O = FisherPipelineOptions;
  static const core::OptionSchema<O> schema = [] {
    core::OptionSchema<O> s;
    core::append_nested(&s, ImageOptions::schema(), [](O& o) -> ImageOptions& { return o.image; }, {}, "image");
    core::append_nested(&s, DsiftOptions::schema(), [](O& o) -> DsiftOptions& { return o.dsift; }, {}, "dsift");
    core::append_nested(&s, FisherOptions::schema(), [](O& o) -> FisherOptions& { return o.fisher; }, {}, "fisher");
    return s;
  }();
  return schema;
}

void FisherPipelineOptions::validate() const {
  image.validate();
  dsift.validate();
  fisher.validate();
}

std::string canonical_encoding_options(const FisherPipelineOptions& o) {
  return core::record_text(FisherPipelineOptions::schema(), o, core::Recorded::encoding);
}

std::string canonical_training_options(const FisherPipelineOptions& o) {
  return core::record_text(FisherPipelineOptions::schema(), o, core::Recorded::training);
}

void FisherParameters::validate(const FisherOptions& o) const {
  const std::size_t K = static_cast<std::size_t>(o.components), D = static_cast<std::size_t>(o.pca_dimension),
                    G = static_cast<std::size_t>(o.descriptor_dimension());
  auto size = [](const char* field, std::size_t got, std::size_t want, const std::string& what) {
    if (got != want)
      throw std::invalid_argument(std::string("FisherParameters::") + field + " has " + std::to_string(got) +
                                  " values; expected " + std::to_string(want) + " (" + what + ")");
  };
  size("mean", mean.size(), kSift, "128 SIFT dimensions");
  size("projection", projection.size(), D * kSift, "pca_dimension x 128");
  size("means", means.size(), K * G, "components x descriptor dimension");
  size("variances", variances.size(), K * G, "components x descriptor dimension");
  size("priors", priors.size(), K, "one per component");
  auto finite = [](const char* field, const std::vector<double>& v) {
    for (std::size_t i = 0; i < v.size(); ++i)
      if (!std::isfinite(v[i]))
        throw std::invalid_argument(std::string("FisherParameters::") + field + "[" + std::to_string(i) +
                                    "] is not finite");
  };
  finite("mean", mean);
  finite("projection", projection);
  finite("means", means);
  for (std::size_t i = 0; i < variances.size(); ++i)
    if (!(variances[i] > 0) || !std::isfinite(variances[i]))
      throw std::invalid_argument("FisherParameters::variances[" + std::to_string(i) + "] = " + num(variances[i]) +
                                  ": expected a finite value > 0");
  double total = 0;
  for (std::size_t k = 0; k < priors.size(); ++k) {
    if (!(priors[k] > 0) || !std::isfinite(priors[k]))
      throw std::invalid_argument("FisherParameters::priors[" + std::to_string(k) + "] = " + num(priors[k]) +
                                  ": expected a finite value > 0");
    total += priors[k];
  }
  if (std::abs(total - 1) > 1e-9)
    throw std::invalid_argument("FisherParameters::priors sum to " + num(total) + ": expected 1");
}

core::Digest fisher_parameters_digest(const FisherParameters& p) {
  core::Hasher h;
  for (const std::vector<double>* v : {&p.mean, &p.projection, &p.means, &p.variances, &p.priors}) {
    const std::uint64_t n = v->size();
    h.update(&n, 8);
    h.update(v->data(), v->size() * sizeof(double));
  }
  return h.digest();
}

std::vector<float> project_descriptors(const FisherParameters& p, const FisherOptions& o, const float* descriptors,
                                       const float* positions, std::size_t n) {
  const int D = o.pca_dimension, G = o.descriptor_dimension();
  std::vector<float> centred(n * kSift), projection(p.projection.begin(), p.projection.end());
  std::vector<float> mean(p.mean.begin(), p.mean.end());
  for (std::size_t l = 0; l < n; ++l) {
    float* s = centred.data() + l * kSift;
    if (o.root_sift)
      root_sift(descriptors + l * kSift, s);
    else
      std::copy(descriptors + l * kSift, descriptors + (l + 1) * kSift, s);
    for (int j = 0; j < kSift; ++j) s[j] -= mean[j];
  }
  std::vector<float> out(n * G, 0.0f);
  if (n > 0)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<int>(n), D, kSift, 1.0f, centred.data(), kSift,
                projection.data(), kSift, 0.0f, out.data(), G);
  if (o.append_xy)
    for (std::size_t l = 0; l < n; ++l) {
      out[l * G + D] = positions[2 * l];
      out[l * G + D + 1] = positions[2 * l + 1];
    }
  return out;
}

FisherParameters train_fisher(const float* descriptors, const float* positions, std::size_t n,
                              const FisherOptions& o, FisherTrainReport* report) {
  o.validate();
  if (n < static_cast<std::size_t>(o.components))
    throw std::invalid_argument("cannot train a Fisher-vector mixture of " + std::to_string(o.components) +
                                " components from " + std::to_string(n) +
                                " descriptors: use fewer components or more images");
  const int D = o.pca_dimension, G = o.descriptor_dimension(), K = o.components;
  FisherParameters p;

  // PCA of the (RootSIFT) descriptors: mean and covariance in double, in sample order.
  std::vector<double> s(n * kSift);
  {
    std::vector<float> tmp(kSift);
    for (std::size_t l = 0; l < n; ++l) {
      if (o.root_sift)
        root_sift(descriptors + l * kSift, tmp.data());
      else
        std::copy(descriptors + l * kSift, descriptors + (l + 1) * kSift, tmp.begin());
      std::copy(tmp.begin(), tmp.end(), s.begin() + l * kSift);
    }
  }
  p.mean.assign(kSift, 0.0);
  for (std::size_t l = 0; l < n; ++l)
    for (int j = 0; j < kSift; ++j) p.mean[j] += s[l * kSift + j];
  for (double& m : p.mean) m /= static_cast<double>(n);
  for (std::size_t l = 0; l < n; ++l)
    for (int j = 0; j < kSift; ++j) s[l * kSift + j] -= p.mean[j];
  std::vector<double> cov(kSift * kSift, 0.0);
  cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, kSift, static_cast<int>(n), 1.0 / static_cast<double>(n), s.data(),
              kSift, 0.0, cov.data(), kSift);
  std::vector<double>().swap(s);
  // The D largest eigenpairs (dsyevr returns ascending order; row-major upper = column-major lower).
  {
    std::vector<double> w, z;
    core::symmetric_eigenpairs(cov, kSift, kSift - D + 1, kSift, "train_fisher", &w, &z);
    p.projection.assign(static_cast<std::size_t>(D) * kSift, 0.0);
    double kept = 0, trace = 0;
    for (int j = 0; j < kSift; ++j) trace += cov[j * kSift + j];
    for (int r = 0; r < D; ++r) {
      const int col = D - 1 - r;  // largest first
      const double* v = z.data() + static_cast<std::size_t>(col) * kSift;
      // Sign convention: the component of largest magnitude is positive (eigenvectors are defined up to sign).
      int arg = 0;
      for (int j = 1; j < kSift; ++j)
        if (std::abs(v[j]) > std::abs(v[arg])) arg = j;
      const double sign = v[arg] < 0 ? -1.0 : 1.0;
      for (int j = 0; j < kSift; ++j) p.projection[static_cast<std::size_t>(r) * kSift + j] = sign * v[j];
      kept += w[col];
    }
    if (report) report->explained_variance = trace > 0 ? kept / trace : 0.0;
  }

  // Local descriptors of the sample, then the mixture: a seeded k-means start, then EM.
  const std::vector<float> x = project_descriptors(p, o, descriptors, positions, n);
  KMeansOptions km;
  km.words = K;
  km.samples = n;
  km.seed = o.seed;
  km.max_iterations = 20;
  KMeansReport kr;
  const Codebook start = Codebook::train(x.data(), n, G, km, &kr);
  std::vector<double> variance(G, 0.0), mean(G, 0.0);
  for (std::size_t l = 0; l < n; ++l)
    for (int j = 0; j < G; ++j) mean[j] += x[l * G + j];
  for (double& m : mean) m /= static_cast<double>(n);
  for (std::size_t l = 0; l < n; ++l)
    for (int j = 0; j < G; ++j) variance[j] += (x[l * G + j] - mean[j]) * (x[l * G + j] - mean[j]);
  for (double& v : variance) v = std::max(v / static_cast<double>(n), 1e-12);

  std::vector<float> init_means(start.centres()), init_var(static_cast<std::size_t>(K) * G), init_priors(K, 1.0f / K);
  for (int k = 0; k < K; ++k)
    for (int j = 0; j < G; ++j) init_var[static_cast<std::size_t>(k) * G + j] = static_cast<float>(variance[j]);

  std::unique_ptr<VlGMM, void (*)(VlGMM*)> gmm(vl_gmm_new(VL_TYPE_FLOAT, G, K), vl_gmm_delete);
  if (!gmm) throw std::runtime_error("train_fisher: VLFeat could not allocate the mixture");
  vl_gmm_set_max_num_iterations(gmm.get(), o.max_iterations);
  vl_gmm_set_num_repetitions(gmm.get(), 1);
  vl_gmm_set_verbosity(gmm.get(), 0);
  vl_gmm_set_initialization(gmm.get(), VlGMMCustom);
  vl_gmm_set_means(gmm.get(), init_means.data());
  vl_gmm_set_covariances(gmm.get(), init_var.data());
  vl_gmm_set_priors(gmm.get(), init_priors.data());
  double loglik = 0;
  {
    std::lock_guard<std::mutex> lock(vl_threads_mutex);
    const vl_size before = vl_get_max_threads();
    vl_set_num_threads(1);
    loglik = vl_gmm_em(gmm.get(), x.data(), n);
    vl_set_num_threads(before);
  }
  const float* gm = static_cast<const float*>(vl_gmm_get_means(gmm.get()));
  const float* gv = static_cast<const float*>(vl_gmm_get_covariances(gmm.get()));
  const float* gp = static_cast<const float*>(vl_gmm_get_priors(gmm.get()));
  p.means.assign(gm, gm + static_cast<std::size_t>(K) * G);
  p.variances.assign(gv, gv + static_cast<std::size_t>(K) * G);
  p.priors.assign(gp, gp + K);
  // A component VLFeat left without mass keeps a tiny prior: floor it so that log π_k stays finite.
  for (double& v : p.priors) v = std::max(v, 1e-12);
  const double total = std::accumulate(p.priors.begin(), p.priors.end(), 0.0);
  for (double& v : p.priors) v /= total;
  for (double& v : p.variances) v = std::max(v, 1e-12);
  p.validate(o);
  if (report) {
    report->samples = n;
    report->log_likelihood = loglik;
    report->kmeans_iterations = kr.iterations;
  }
  return p;
}

namespace {
const FisherPipelineOptions& validated(const FisherPipelineOptions& o, const FisherParameters& p) {
  o.validate();
  p.validate(o.fisher);
  return o;
}
}  // namespace

FisherPipeline::FisherPipeline(FisherPipelineOptions options, FisherParameters parameters)
    : options_(validated(options, parameters)),
      parameters_(std::move(parameters)),
      loader_(options_.image),
      sift_(options_.dsift) {
  const int K = parameters_.components(), G = options_.fisher.descriptor_dimension();
  // log N(x; μ, σ²) + log π = Σ_j x_j² (-1/(2σ²)) + Σ_j x_j (μ/σ²) + const_k
  loglik_weights_.assign(static_cast<std::size_t>(2 * G) * K, 0.0f);
  loglik_constant_.assign(K, 0.0);
  inv_sigma_.assign(static_cast<std::size_t>(K) * G, 0.0);
  for (int k = 0; k < K; ++k) {
    double c = std::log(parameters_.priors[k]);
    for (int j = 0; j < G; ++j) {
      const double mu = parameters_.means[static_cast<std::size_t>(k) * G + j];
      const double var = parameters_.variances[static_cast<std::size_t>(k) * G + j];
      loglik_weights_[static_cast<std::size_t>(j) * K + k] = static_cast<float>(-0.5 / var);
      loglik_weights_[static_cast<std::size_t>(G + j) * K + k] = static_cast<float>(mu / var);
      c -= 0.5 * (mu * mu / var + std::log(2 * M_PI * var));
      inv_sigma_[static_cast<std::size_t>(k) * G + j] = 1.0 / std::sqrt(var);
    }
    loglik_constant_[k] = c;
  }
  core::Hasher h;
  h.field("bowlrp-fisher-v1");
  h.field(canonical_encoding_options(options_));
  h.digest_field(fisher_parameters_digest(parameters_));
  fingerprint_ = h.digest();
}

std::size_t FisherPipeline::dimension() const {
  return 2 * static_cast<std::size_t>(parameters_.components()) * options_.fisher.descriptor_dimension() *
         options_.fisher.cells();
}

FisherTrace FisherPipeline::encode(const GrayImage& image) const { return encode_features(sift_.extract(image)); }

std::vector<float> normalised_positions(const FeatureTrace& f, const std::vector<std::size_t>* indices) {
  const std::size_t n = indices ? indices->size() : f.size();
  std::vector<float> out(2 * n);
  for (std::size_t i = 0; i < n; ++i) {
    const Frame& fr = f.frames[indices ? (*indices)[i] : i];
    out[2 * i] = static_cast<float>((fr.x + 0.5) / f.width - 0.5);
    out[2 * i + 1] = static_cast<float>((fr.y + 0.5) / f.height - 0.5);
  }
  return out;
}

namespace {
// Sparse posteriors of `count` local descriptors (count x G): softmax of the log-likelihoods,
// thresholded; appended as rows to the CSR arrays.
// With skip_zeroed, a feature whose SIFT descriptor (count x 128 in `descriptors`) is all zero gets
// no posterior, so it adds no Fisher term.
void posteriors_of(const float* x, const float* descriptors, bool skip_zeroed, std::size_t count, int G, int K,
                   const std::vector<float>& weights, const std::vector<double>& constant, double threshold,
                   Posteriors& out) {
  const std::size_t rows = std::min(kBlock, count);
  std::vector<float> a(rows * 2 * G), ll(rows * K);
  std::vector<double> e(K);
  for (std::size_t b0 = 0; b0 < count; b0 += kBlock) {
    const std::size_t b = std::min(kBlock, count - b0);
    for (std::size_t i = 0; i < b; ++i)
      for (int j = 0; j < G; ++j) {
        const float v = x[(b0 + i) * G + j];
        a[i * 2 * G + j] = v * v;
        a[i * 2 * G + G + j] = v;
      }
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<int>(b), K, 2 * G, 1.0f, a.data(), 2 * G,
                weights.data(), K, 0.0f, ll.data(), K);
    for (std::size_t i = 0; i < b; ++i) {
      if (skip_zeroed) {
        const float* d = descriptors + (b0 + i) * kSift;
        if (std::all_of(d, d + kSift, [](float v) { return v == 0.0f; })) {
          out.offsets.push_back(static_cast<std::uint32_t>(out.values.size()));
          continue;
        }
      }
      double top = -std::numeric_limits<double>::infinity();
      for (int k = 0; k < K; ++k) {
        e[k] = static_cast<double>(ll[i * K + k]) + constant[k];
        top = std::max(top, e[k]);
      }
      double sum = 0;
      // A component more than kLogCut below the top has exp(e_k - top) < 5.8e-19: 0 here (its γ is far
      // below any threshold, and K <= 4096 of them move the sum by < 2.4e-15 relative, against the ~1e-7 of
      // the float log-likelihoods); most components of a feature are that far, so most exps go.
      for (int k = 0; k < K; ++k) {
        const double d = e[k] - top;
        sum += (e[k] = d < -kLogCut ? 0.0 : std::exp(d));
      }
      for (int k = 0; k < K; ++k) {
        const double g = e[k] / sum;
        if (g > threshold) {
          out.components.push_back(static_cast<std::uint16_t>(k));
          out.values.push_back(g);
        }
      }
      out.offsets.push_back(static_cast<std::uint32_t>(out.values.size()));
    }
  }
}
}  // namespace

FisherTrace FisherPipeline::encode_features(FeatureTrace features) const {
  const int K = parameters_.components(), G = options_.fisher.descriptor_dimension();
  FisherTrace t;
  t.features = std::move(features);
  const std::size_t L = t.features.size();
  t.dimension = G;
  const std::vector<float> pos = normalised_positions(t.features, nullptr);
  t.local = project_descriptors(parameters_, options_.fisher, t.features.descriptors.data(), pos.data(), L);
  t.posteriors.offsets.assign(1, 0);
  posteriors_of(t.local.data(), t.features.descriptors.data(), options_.fisher.skip_zeroed, L, G, K, loglik_weights_,
                loglik_constant_, options_.fisher.posterior_threshold, t.posteriors);
  t.cells = options_.fisher.cells();
  t.levels = static_cast<int>(options_.fisher.pyramid.size());
  if (L > 0 && (t.features.width < 1 || t.features.height < 1))
    throw std::invalid_argument("FisherPipeline: the feature trace has no image size");
  t.feature_cells = pyramid_cells(t.features, options_.fisher.pyramid, &t.cell_counts);
  t.pipeline = fingerprint_;
  pool(t);
  return t;
}

namespace {
// Adds sign * ψ_d(l) of features [rows) to z (scaled by 1/(N_c sqrt(π_k)) and 1/(N_c sqrt(2 π_k))).
void accumulate(const FisherTrace& t, const FisherParameters& p, const std::vector<double>& inv_sigma,
                const std::vector<std::size_t>* rows, double sign, std::vector<double>& z) {
  const std::size_t K = static_cast<std::size_t>(p.components()), G = static_cast<std::size_t>(t.dimension);
  const std::size_t levels = static_cast<std::size_t>(t.levels), cell_dim = 2 * K * G;
  const std::size_t n = rows ? rows->size() : t.features.size();
  std::vector<double> dev(G);
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t l = rows ? (*rows)[i] : i;
    const float* x = t.local.data() + l * G;
    for (std::uint32_t e = t.posteriors.offsets[l]; e < t.posteriors.offsets[l + 1]; ++e) {
      const std::size_t k = t.posteriors.components[e];
      const double g = t.posteriors.values[e];
      const double* mu = p.means.data() + k * G;
      const double* is = inv_sigma.data() + k * G;
      for (std::size_t j = 0; j < G; ++j) dev[j] = (static_cast<double>(x[j]) - mu[j]) * is[j];
      for (std::size_t lv = 0; lv < levels; ++lv) {
        const std::size_t c = static_cast<std::size_t>(t.feature_cells[l * levels + lv]);
        const double N = static_cast<double>(t.cell_counts[c]);
        const double su = sign * g / (N * std::sqrt(p.priors[k])), sv = sign * g / (N * std::sqrt(2.0 * p.priors[k]));
        double* zu = z.data() + c * cell_dim + k * G;
        double* zv = zu + K * G;
        for (std::size_t j = 0; j < G; ++j) {
          zu[j] += su * dev[j];
          zv[j] += sv * (dev[j] * dev[j] - 1.0);
        }
      }
    }
  }
}

// Φ and the cell norms from z.
void normalise(FisherTrace& t, std::size_t cell_dim) {
  const std::size_t cells = static_cast<std::size_t>(t.cells);
  t.cell_norms.assign(cells, 1.0);
  t.fisher.assign(cells * cell_dim, 0.0);
  for (std::size_t c = 0; c < cells; ++c) {
    const double* z = t.unnormalised.data() + c * cell_dim;
    double mass = 0;
    for (std::size_t d = 0; d < cell_dim; ++d) mass += std::abs(z[d]);
    if (mass > 0) {
      const double norm = std::sqrt(mass) * std::sqrt(static_cast<double>(cells));
      t.cell_norms[c] = norm;
      double* phi = t.fisher.data() + c * cell_dim;
      for (std::size_t d = 0; d < cell_dim; ++d) phi[d] = std::copysign(std::sqrt(std::abs(z[d])), z[d]) / norm;
    }
  }
}

void check_pool_inputs(const FisherTrace& t, std::size_t G) {
  const std::size_t L = t.features.size(), levels = static_cast<std::size_t>(t.levels);
  if (t.local.size() != L * G || t.posteriors.features() != L || t.feature_cells.size() != L * levels ||
      t.cell_counts.size() != static_cast<std::size_t>(t.cells))
    throw std::invalid_argument("FisherPipeline::pool: the trace's local descriptors, posteriors and cells disagree (" +
                                std::to_string(t.local.size()) + " values, " + std::to_string(t.posteriors.features()) +
                                " posterior rows, " + std::to_string(L) + " features)");
}
}  // namespace

void FisherPipeline::pool(FisherTrace& t) const {
  const std::size_t K = static_cast<std::size_t>(parameters_.components());
  const std::size_t G = static_cast<std::size_t>(options_.fisher.descriptor_dimension());
  check_pool_inputs(t, G);
  t.unnormalised.assign(static_cast<std::size_t>(t.cells) * 2 * K * G, 0.0);
  accumulate(t, parameters_, inv_sigma_, nullptr, 1.0, t.unnormalised);
  normalise(t, 2 * K * G);
}

void FisherPipeline::replace_features(FisherTrace& t, const FeatureTrace& replacement,
                                      const std::vector<std::size_t>& indices) const {
  const std::size_t L = t.features.size(), G = static_cast<std::size_t>(t.dimension);
  const int K = parameters_.components();
  if (replacement.size() != indices.size())
    throw std::invalid_argument("FisherPipeline::replace_features: " + std::to_string(replacement.size()) +
                                " replacement features for " + std::to_string(indices.size()) + " indices");
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] >= L)
      throw std::invalid_argument("FisherPipeline::replace_features: feature index " + std::to_string(indices[i]) +
                                  " outside the trace's " + std::to_string(L) + " features");
    std::copy(replacement.descriptor(i), replacement.descriptor(i) + kSift,
              t.features.descriptors.begin() + indices[i] * kSift);
  }
  // New local descriptors and posteriors of the replaced rows, merged into the CSR arrays.
  std::vector<float> desc(indices.size() * kSift);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    std::copy(t.features.descriptor(indices[i]), t.features.descriptor(indices[i]) + kSift, desc.begin() + i * kSift);
  }
  const std::vector<float> pos = normalised_positions(t.features, &indices);
  const std::vector<float> x = project_descriptors(parameters_, options_.fisher, desc.data(), pos.data(), indices.size());
  Posteriors fresh;
  fresh.offsets.assign(1, 0);
  posteriors_of(x.data(), desc.data(), options_.fisher.skip_zeroed, indices.size(), static_cast<int>(G), K,
                loglik_weights_, loglik_constant_, options_.fisher.posterior_threshold, fresh);
  check_pool_inputs(t, G);
  std::vector<std::int64_t> slot(L, -1);
  for (std::size_t i = 0; i < indices.size(); ++i) slot[indices[i]] = static_cast<std::int64_t>(i);
  std::vector<std::size_t> rows;  // distinct replaced features, in feature order
  for (std::size_t l = 0; l < L; ++l)
    if (slot[l] >= 0) rows.push_back(l);
  // z loses the old terms of the replaced features and gains their new ones.
  accumulate(t, parameters_, inv_sigma_, &rows, -1.0, t.unnormalised);
  for (std::size_t i = 0; i < indices.size(); ++i)
    std::copy(x.begin() + i * G, x.begin() + (i + 1) * G, t.local.begin() + indices[i] * G);
  Posteriors merged;
  merged.offsets.reserve(L + 1);
  merged.offsets.push_back(0);
  for (std::size_t l = 0; l < L; ++l) {
    const Posteriors& src = slot[l] < 0 ? t.posteriors : fresh;
    const std::size_t row = slot[l] < 0 ? l : static_cast<std::size_t>(slot[l]);
    for (std::uint32_t e = src.offsets[row]; e < src.offsets[row + 1]; ++e) {
      merged.components.push_back(src.components[e]);
      merged.values.push_back(src.values[e]);
    }
    merged.offsets.push_back(static_cast<std::uint32_t>(merged.values.size()));
  }
  t.posteriors = std::move(merged);
  accumulate(t, parameters_, inv_sigma_, &rows, 1.0, t.unnormalised);
  normalise(t, 2 * static_cast<std::size_t>(K) * G);
}

}  // namespace bowlrp::bow
