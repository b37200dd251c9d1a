// The model file: the whole model (encoding options and parameters, the head's parameters, class
// names) in one self-contained, versioned, checksummed file, readable without bowlrp (e.g. from
// Python/numpy). Two versions: format_version 1 holds a Bag-of-Words + kernel-SVM model,
// format_version 2 any encoding (bag-of-words, fisher-vector, vlad) with any head (kernel-svm,
// linear-svm, mlp). Each kind's fields are read and written by its codec (model/src/kinds/). A Bag-of-Words + kernel-SVM model is always written as version 1 (byte for
// byte as before version 2 existed, so version-1 readers keep reading it; one trained from image
// files adds the optional "training_images" below, which readers older than it refuse); every other
// one as version 2.
//
// Layout of both versions (all integers little-endian):
//   bytes [0, 13)        magic "BOWLRP-MODEL\n"
//   bytes [13, 21)       uint64 N, the length of the JSON header
//   bytes [21, 21 + N)   UTF-8 JSON header, padded with spaces so that D = 21 + N is a multiple of 8
//   bytes [D, D + B)     data section of B = header["data_bytes"] bytes holding the raw arrays
//   last 8 bytes         uint64 checksum = CRC-32 (zlib.crc32, IEEE polynomial) of every byte before it
// So the file is exactly D + B + 8 bytes long. Shared pieces of the JSON header:
//   PIPELINE_BOW = {"image": {"max_side"},
//                   "dsift": {"bin_sizes", "step", "magnif", "contrast_threshold", "window_size", "fast"},
//                   "kmeans": {"words", "samples", "max_iterations", "seed",
//                              "algorithm": "lloyd_gemm"|"vlfeat_elkan"|"vlfeat_ann", "tolerance"},
//                   "mapping": {"kind": "hard"|"soft"|"rank", "neighbours", "beta", "rank_decay"},
//                   "pooling": {"p": number or the string "inf" (max pooling), "pyramid": [{"cols", "rows"}],
//                               "normalisation": "none"|"l1"|"l2", "hellinger": bool}}
//   KERNEL = {"type": "linear"|"hik"|"chi2"|"hellinger"|"rbf"|"expchi2", "gamma",
//             "blocks": [{"begin", "end", "weight"}]}
//   "classes": [{"name", "bias"}] (C entries, in the order of the coefficient or weight rows; an mlp
//              head's are [{"name"}], in output order, its output biases being the array biases_L),
//   "data_bytes": B,
//   "arrays": [{"name", "dtype", "shape", "offset", "nbytes"}] with offset relative to D (multiples of 8),
//             listed (and stored) in the order given below.
// format_version 1 (Bag-of-Words + kernel SVM):
//   {"format_version": 1, "pipeline": PIPELINE_BOW, "kernel": KERNEL, "dim": V (histogram length),
//    "support_size": S, "classes", "data_bytes", "arrays"} with the arrays
//       "codebook_centres"  "<f4" [K, 128]  row-major visual words
//       "support_vectors"   "<f8" [S, V]    shared support set
//       "coefficients"      "<f8" [C, S]    coef_{c,i}; f_c(x) = bias_c + sum_i coef_{c,i} k(s_i, x)
// format_version 2 (any encoding, any head):
//   {"format_version": 2,
//    "encoding": {"kind": "bag-of-words", "pipeline": PIPELINE_BOW}
//              | {"kind": "fisher-vector",
//                 "pipeline": {"image": {"max_side"}, "dsift": {...as PIPELINE_BOW},
//                              "fisher": {"pca_dimension", "root_sift", "append_xy", "components", "samples",
//                                         "max_iterations", "seed", "posterior_threshold",
//                                         "pyramid": [{"cols", "rows"}]}}}
//              | {"kind": "vlad",
//                 "pipeline": {"image": {"max_side"}, "dsift": {...as PIPELINE_BOW},
//                              "vlad": {"words", "samples", "max_iterations", "seed", "root_sift", "signed_sqrt",
//                                       "intra_normalisation", "pyramid": [{"cols", "rows"}]}}},
//    "head": {"kind": "kernel-svm", "kernel": KERNEL, "support_size": S} | {"kind": "linear-svm"}
//          | {"kind": "mlp", "layers": L, "sizes": [n_0 = V, n_1, ..., n_L = C]},
//    "dim": V (length of the encoding's vector), "classes", "data_bytes", "arrays"}
//   with the encoding's arrays, then the head's:
//     bag-of-words:  "codebook_centres" "<f4" [K, 128]  visual words; V = K x pyramid cells
//     fisher-vector: "pca_mean"         "<f8" [128]     m, removed before projection
//                    "pca_projection"   "<f8" [D, 128]  P, principal axes (D = pca_dimension)
//                    "gmm_means"        "<f8" [K, G]    mu (K = components, G = D + 2 with append_xy, else D)
//                    "gmm_variances"    "<f8" [K, G]    sigma^2
//                    "gmm_priors"       "<f8" [K]       pi; V = 2 K G x pyramid cells (bow/fisher.h)
//     vlad:          "vlad_centres"     "<f4" [K, 128]  centres of the local descriptors (RootSIFT with
//                                                       root_sift), in [0, 1]; V = K x 128 x pyramid cells (bow/vlad.h)
//     kernel-svm:    "support_vectors"  "<f8" [S, V], "coefficients" "<f8" [C, S], as version 1
//     linear-svm:    "weights"          "<f8" [C, V]    w_c; f_c(x) = bias_c + weights_c . x
//     mlp:           for l = 1 .. L:
//                    "weights_<l>"      "<f8" [n_l, n_{l-1}]  W_l, row j = the weights into neuron j
//                    "biases_<l>"       "<f8" [n_l]           b_l
//                    z_l = W_l a_{l-1} + b_l, a_0 = x, a_l = max(0, z_l) for l < L; f_c(x) = z_{L,c}
//                    (nn/network.h, which also fixes the summation order)
// Both versions: the optional top-level field
//   "training_images": [{"path": P, "mirrored": bool}] (S entries, the order of support_vectors)
// says which training image file each support vector of a kernel-svm head is the encoding of (or of
// its left-right mirror, with mirror_training), the path as training was given it; a path that is
// not UTF-8 is written in its display form (U+FFFD per bad byte) with its exact bytes in "path_hex"
// (lowercase hex). fit() writes it for models trained from image files; models trained from decoded
// images, other heads and files written before it have none (Model::training_images() is empty). A
// file that has it is read strictly: S entries exactly, each an object of exactly those fields with
// a non-empty path, and no such field with a head that has no support vectors.
// Both versions: the optional top-level field
//   "artefact_projection": {"direction": [V numbers], "reference": [V numbers], "clamp": "none"|"non-negative"}
// is the model's artefact projection (P-ClArC, bow/artefact_projection.h; Model::with_artefact_projection):
// the head scores Φ' = Φ - v vᵀ(Φ - z) of every encoding, v = direction (unit length, checked to 1e-9),
// z = reference, with "non-negative" clamped at 0 (required over χ², Hellinger and exp-χ² kernels). A
// model without one is written without the field, byte for byte as before it existed.
// JSON numbers are written with round-trip precision, so a loaded model gives bit-identical decisions.
// A reader refuses what no writer produces, even under a valid checksum: other or repeated keys (a
// version-1 field in a version-2 header too, a "bias" in an mlp head's classes), other kinds,
// integers out of range or not integers, support_size 0, an mlp's layers outside 1 .. 64, its sizes
// not head.layers + 1 integers [dim, ..., number of classes] or with n_1 .. n_L outside [1, 2^20] or
// too many values for the data section, dim != words x pyramid cells (bag-of-words) or != 2 x
// components x G x pyramid cells (fisher-vector) or != words x 128 x pyramid cells (vlad), codebook rows != kmeans.words, arrays missing,
// listed twice, of another dtype or shape, or not tiling the data section in offset order (first at
// 0, each next at the 8-aligned, zero-padded end of the previous one, the last ending at
// data_bytes); non-finite values; centres, support values (Bag-of-Words) or pca_mean outside
// [0, 1], vlad_centres outside [0, 1], Fisher-vector or VLAD support values or pca_projection outside [-1, 1], gmm_means outside
// [-1000, 1000], gmm_variances outside [1e-12, 1e100], Fisher parameters that
// bow::FisherParameters::validate refuses (priors <= 0 or not summing to 1, ...), |bias|, |coef|,
// |weights|, |weights_<l>|, |biases_<l>|, gamma or block weights above 1e100, a class whose
// |bias| + k_max sum_i |coef_i| (k_max: the kernel's maximum on the encoding's vectors) or
// |bias| + sum_d |w_d| exceeds 1e150, an mlp neuron j of a layer l whose
// |b_lj| + sum_i |w_lji| max|a_{l-1,i}| exceeds 1e150 (max|a_0,i| = 1 on the encoding's box; the
// hidden activations' ranges follow by interval arithmetic through the layers and their ReLUs, so
// a unit no input activates passes nothing on; the bound covers z_lj, each of its partial sums and
// its positive and negative parts, so decisions and every layer's relevance stay finite), a chi2,
// hellinger or expchi2 kernel over Fisher or VLAD vectors (signed), and class names that are empty,
// repeated, not UTF-8 or hold control characters; also dsift.magnif < 0.01 and dsift window_size /
// contrast_threshold outside the float range.
// Python: h = json.loads(buf[21:21+N]); a = np.frombuffer(buf, dtype, count=prod(shape),
// offset=21+N+offset).reshape(shape); check zlib.crc32(buf[:-8]) == int.from_bytes(buf[-8:], "little").
#pragma once

#include <bowlrp/model/model.h>

#include <cstdint>
#include <string>

namespace bowlrp::model {

/// The newest model file version this build reads and writes (any encoding with any head).
constexpr std::uint64_t kModelFormatVersion = 2;
/// The oldest version this build reads; Bag-of-Words + kernel-SVM models are still written as it.
constexpr std::uint64_t kMinModelFormatVersion = 1;
/// The first bytes of every model file.
constexpr char kModelMagic[] = "BOWLRP-MODEL\n";

/// Writes the model file atomically (see the layout above), as format_version 1 for a Bag-of-Words
/// + kernel-SVM model and 2 otherwise; first checks every value against the bounds a reader
/// enforces (throws std::invalid_argument naming the file-format field).
void save_model(const std::string& path, const Model& model);

/// Throws std::invalid_argument naming the class unless the names can be saved in a model file:
/// non-empty, printable UTF-8 (no control character, no line separator) and unique. Fitting
/// checks them first, so that no model is trained that cannot be saved.
void validate_class_names(const std::vector<std::string>& names);

/// Reads a model file of format_version 1 or 2; throws std::runtime_error naming the path and the
/// problem (empty, not a model file, other format_version, truncated, checksum mismatch, or content
/// breaking the rules above, naming the field, its value and what was expected). Reads the magic
/// and N first, then the header (exactly one JSON value: no NUL byte, nothing after it), and the
/// data section only once data_bytes agrees with the file's size.
Model load_model(const std::string& path);

}  // namespace bowlrp::model
