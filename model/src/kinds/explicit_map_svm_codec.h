// An explicit-map linear SVM head's part of the model file: "head": {"kind": "explicit-map-svm", "map":
// {"kernel": "hik" | "chi2", "order": n, "period": p (< 0: VLFeat's default), "window": "uniform" |
// "rectangular"}}; array weights <f8 [C, dim (2n + 1)] (class c's row over Psi, d (2n+1) + j).
#pragma once

#include "../model_file_format.h"

#include <bowlrp/svm/additive_map_svm.h>

namespace bowlrp::model::file_format {

/// The explicit-map-svm codec.
template <>
struct HeadCodec<svm::AdditiveMapSvm> {
  /// What the header says of the head: its map.
  struct Header {
    svm::AdditiveMapOptions map;  ///< the map's options
  };
  static constexpr bool format_version_1 = false;  ///< version 1 holds it (Bag-of-Words only)
  static constexpr bool classes_have_bias = true;  ///< "classes" entries carry "bias"
  /// The "head" object of format_version 2 (strict: unknown or missing fields are named).
  static Header read_header(const json& hd, const std::string& scope, const Fields& fields);
  /// The header against dim and the class count.
  static void check_header(const Header& h, std::uint64_t V, std::size_t C);
  /// Its arrays, in file order.
  static std::vector<ArraySpec> array_specs(const Header& h, std::uint64_t V, std::uint64_t C, const Fields& fields);
  /// Its arrays against the data section.
  static void check_room(const Header& h, std::uint64_t V, std::uint64_t C, std::uint64_t data_bytes,
                         const Fields& fields);
  /// The head from its checked arrays.
  static std::shared_ptr<const svm::AdditiveMapSvm> read(Header&& h, const std::vector<std::string>& names,
                                                         const std::vector<double>& biases, const DataSection& data,
                                                         std::size_t V, const std::string& encoding,
                                                         const Fields& fields);
  /// Its arrays after a reader's checks; its "head" JSON and "classes".
  static std::vector<OutArray> write(const svm::AdditiveMapSvm& head, std::size_t V, const std::string& encoding,
                                     const Fields& fields, json* head_json, json* classes);
};

}  // namespace bowlrp::model::file_format
