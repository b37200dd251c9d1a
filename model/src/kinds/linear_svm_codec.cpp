#include "kinds/linear_svm_codec.h"

namespace bowlrp::model::file_format {

using namespace bowlrp::svm;

namespace {

// The same for a linear head: weights and biases, and |b_c| + sum_d |w_cd| max |x_d|.
void check_linear_head(std::size_t V, const std::vector<LinearClass>& classes, const std::string& encoding) {
  const InputDomain& domain = domain_of(encoding);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].weights.size() != V)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].weights.size()) +
                                  " weights: expected one per dimension (dim " + std::to_string(V) + ")");
    check_bias(classes[c].bias, c);
    double sum = 0;
    for (std::size_t d = 0; d < V; ++d) {
      const double w = classes[c].weights[d];
      if (!(std::abs(w) <= kMaxValue))
        out_of("weights[" + std::to_string(c) + "][" + std::to_string(d) + "]", w, "a value in [-1e+100, 1e+100]");
      sum += std::abs(w);
    }
    const double bound = std::abs(classes[c].bias) + sum * kMaxHistogram;
    if (!(bound <= kMaxDecision)) decision_too_large(c, classes[c].name, bound, domain, "|bias| + sum |weights|");
  }
}

}  // namespace

HeadCodec<LinearSvm>::Header HeadCodec<LinearSvm>::read_header(const json& hd, const std::string& scope, const Fields&) {
  object(hd, "head", scope + " with a linear-svm head", {"kind"});
  return {};
}

void HeadCodec<LinearSvm>::check_header(const Header&, std::uint64_t, std::size_t) {}

std::vector<ArraySpec> HeadCodec<LinearSvm>::array_specs(const Header&, std::uint64_t V, std::uint64_t C,
                                                         const Fields&) {
  return {{"weights", "<f8", {C, V}, "[number of classes, dim]"}};
}

void HeadCodec<LinearSvm>::check_room(const Header&, std::uint64_t V, std::uint64_t C, std::uint64_t data_bytes,
                                      const Fields&) {
  if (C > data_bytes / 8 / V)
    throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x dim " + std::to_string(V) +
                      " weights cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
}

std::shared_ptr<const LinearSvm> HeadCodec<LinearSvm>::read(Header&&, const std::vector<std::string>& names,
                                                            const std::vector<double>& biases, const DataSection& data,
                                                            std::size_t V, const std::string& encoding, const Fields&) {
  std::vector<LinearClass> classes;
  for (std::size_t c = 0; c < names.size(); ++c) classes.push_back({names[c], biases[c], data.row("weights", c, V)});
  check_linear_head(V, classes, encoding);
  return std::make_shared<const LinearSvm>(V, std::move(classes));
}

std::vector<OutArray> HeadCodec<LinearSvm>::write(const LinearSvm& svm, std::size_t V, const std::string& encoding,
                                                  const Fields&, json* head_json, json* classes) {
  check_class_names(names_of(svm.classes()));
  check_linear_head(V, svm.classes(), encoding);
  std::vector<OutArray> arrays;
  arrays.push_back(class_rows("weights", V, svm.classes(), &LinearClass::weights));
  for (const LinearClass& c : svm.classes()) classes->push_back({{"name", c.name}, {"bias", c.bias}});
  *head_json = {{"kind", "linear-svm"}};
  return arrays;
}

}  // namespace bowlrp::model::file_format
