// A kernel-SVM head's part of the model file: "head": {"kind": "kernel-svm", "kernel": KERNEL, "support_size": S};
// arrays support_vectors <f8 [S, dim], coefficients <f8 [C, S] (model/model_file.h).
#pragma once

#include "../model_file_format.h"

#include <bowlrp/svm/svm.h>

namespace bowlrp::model::file_format {

/// The kernel-svm codec.
template <>
struct HeadCodec<svm::KernelSvm> {
  /// What the header says of the head.
  struct Header {
    svm::Kernel kernel;    ///< the kernel
    std::uint64_t S = 0;   ///< support_size
  };
  static constexpr bool format_version_1 = true;  ///< version 1 holds it (Bag-of-Words only)
  static constexpr bool classes_have_bias = true;  ///< "classes" entries carry "bias"
  /// The KERNEL object (also format_version 1's top-level "kernel").
  static svm::Kernel read_kernel(const json& j, const Fields& fields);
  /// The "head" object of format_version 2.
  static Header read_header(const json& hd, const std::string& scope, const Fields& fields);
  /// The header against dim and the class count.
  static void check_header(const Header& h, std::uint64_t V, std::size_t C);
  /// Its arrays, in file order.
  static std::vector<ArraySpec> array_specs(const Header& h, std::uint64_t V, std::uint64_t C, const Fields& fields);
  /// Its arrays against the data section.
  static void check_room(const Header& h, std::uint64_t V, std::uint64_t C, std::uint64_t data_bytes,
                         const Fields& fields);
  /// The head from its checked arrays.
  static std::shared_ptr<const svm::KernelSvm> read(Header&& h, const std::vector<std::string>& names,
                                         const std::vector<double>& biases, const DataSection& data, std::size_t V,
                                         const std::string& encoding, const Fields& fields);
  /// Its arrays after a reader's checks; its "head" JSON and "classes".
  static std::vector<OutArray> write(const svm::KernelSvm& head, std::size_t V, const std::string& encoding, const Fields& fields,
                                     json* head_json, json* classes);
};

}  // namespace bowlrp::model::file_format
