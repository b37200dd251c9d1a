// The model file: the whole model (encoding options, codebook, one-vs-rest SVMs, class names) in one
// self-contained, versioned, checksummed file, readable without bowlrp (e.g. from Python/numpy).
//
// Layout (all integers little-endian):
//   bytes [0, 13)        magic "BOWLRP-MODEL\n"
//   bytes [13, 21)       uint64 N, the length of the JSON header
//   bytes [21, 21 + N)   UTF-8 JSON header, padded with spaces so that D = 21 + N is a multiple of 8
//   bytes [D, D + B)     data section of B = header["data_bytes"] bytes holding the raw arrays
//   last 8 bytes         uint64 checksum = CRC-32 (zlib.crc32, IEEE polynomial) of every byte before it
// So the file is exactly D + B + 8 bytes long. The JSON header holds
//   "format_version": 1 (a reader must refuse any other value),
//   "pipeline": {"image": {"max_side"},
//                "dsift": {"bin_sizes", "step", "magnif", "contrast_threshold", "window_size", "fast"},
//                "kmeans": {"words", "samples", "max_iterations", "seed",
//                           "algorithm": "lloyd_gemm"|"vlfeat_elkan"|"vlfeat_ann", "tolerance"},
//                "mapping": {"kind": "hard"|"soft"|"rank", "neighbours", "beta", "rank_decay"},
//                "pooling": {"p": number or the string "inf" (max pooling), "pyramid": [{"cols", "rows"}],
//                            "normalisation": "none"|"l1"|"l2", "hellinger": bool}},
//   "kernel": {"type": "linear"|"hik"|"chi2"|"hellinger"|"rbf"|"expchi2", "gamma",
//              "blocks": [{"begin", "end", "weight"}]},
//   "dim": V (histogram length), "support_size": S,
//   "classes": [{"name", "bias"}] (C entries, in the order of the coefficient rows),
//   "data_bytes": B,
//   "arrays": [{"name", "dtype", "shape", "offset", "nbytes"}] with offset relative to D (multiples of 8):
//       "codebook_centres"  "<f4" [K, 128]  row-major visual words
//       "support_vectors"   "<f8" [S, V]    shared support set
//       "coefficients"      "<f8" [C, S]    coef_{c,i}; f_c(x) = bias_c + sum_i coef_{c,i} k(s_i, x)
// JSON numbers are written with round-trip precision, so a loaded model gives bit-identical decisions.
// A reader refuses what no writer produces, even under a valid checksum: other or repeated keys, integers out
// of range or not integers, support_size 0, dim != words x pyramid cells, codebook rows != kmeans.words,
// arrays listed twice or not tiling the data section in offset order (first at 0, each next at the 8-aligned,
// zero-padded end of the previous one, the last ending at data_bytes), centres or support values outside
// [0, 1], |bias|, |coef|, gamma or block weights above 1e100, a class whose |bias| + k_max sum_i |coef_i|
// (k_max: the kernel's maximum on [0, 1]^V) exceeds 1e150, and class names that are empty, repeated, not
// UTF-8 or hold control characters; also dsift.magnif < 0.01 and dsift window_size / contrast_threshold
// outside the float range.
// Python: h = json.loads(buf[21:21+N]); a = np.frombuffer(buf, dtype, count=prod(shape),
// offset=21+N+offset).reshape(shape); check zlib.crc32(buf[:-8]) == int.from_bytes(buf[-8:], "little").
#pragma once

#include <bowlrp/model/model.h>

#include <cstdint>
#include <string>

namespace bowlrp::model {

/// The only model file version this build reads and writes.
constexpr std::uint64_t kModelFormatVersion = 1;
/// The first bytes of every model file.
constexpr char kModelMagic[] = "BOWLRP-MODEL\n";

/// Writes the model file atomically (see the layout above); first checks every value against the
/// bounds a reader enforces (throws std::invalid_argument naming the file-format field).
void save_model(const std::string& path, const Model& model);

/// Reads a model file; throws std::runtime_error naming the path and the problem (empty, not a
/// model file, other format_version, truncated, checksum mismatch, or content breaking the rules above,
/// naming the field, its value and what was expected).
Model load_model(const std::string& path);

}  // namespace bowlrp::model
