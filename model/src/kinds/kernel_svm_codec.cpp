#include "kinds/kernel_svm_codec.h"

namespace bowlrp::model::file_format {

using namespace bowlrp::svm;

namespace {

constexpr std::uint64_t kAnySize = std::numeric_limits<std::uint64_t>::max();

json kernel_to_json(const Kernel& k) {
  json j = record_json(Kernel::schema(), k);
  json& blocks = j["blocks"] = json::array();
  for (const KernelBlock& b : k.blocks) blocks.push_back({{"begin", b.begin}, {"end", b.end}, {"weight", b.weight}});
  return j;
}

// The values of a kernel head (support vectors, coefficients, biases, kernel parameters) against
// the bounds above, over the inputs of its encoding. Fields are named as the file spells them.
void check_kernel_head(const Kernel& kernel, std::size_t V, const std::vector<double>& support,
                       const std::vector<BinarySvm>& classes, const std::string& encoding, const Fields& fields) {
  const std::string& kf = fields.kernel;
  if (!(kernel.gamma >= 0 && kernel.gamma <= kMaxValue)) out_of(kf + ".gamma", kernel.gamma, "a value in [0, 1e+100]");
  for (std::size_t u = 0; u < kernel.blocks.size(); ++u)
    if (!(kernel.blocks[u].weight >= 0 && kernel.blocks[u].weight <= kMaxValue))
      out_of(kf + ".blocks[" + std::to_string(u) + "].weight", kernel.blocks[u].weight, "a value in [0, 1e+100]");
  // chi2, hellinger and expchi2 take square roots of, or divide by, sums of inputs, which Fisher
  // vectors (signed) can make negative or zero: no bound holds, a decision may be NaN.
  const InputDomain& domain = domain_of(encoding);
  if (domain.signed_vectors && kernel.type != KernelType::linear && kernel.type != KernelType::intersection &&
      kernel.type != KernelType::rbf)
    throw std::invalid_argument(kf + ".type = \"" + to_string(kernel.type) + "\": expected linear, hik or rbf over a " +
                                encoding + " encoding (chi2, hellinger and expchi2 assume non-negative inputs; " +
                                domain.signed_vectors + " are signed)");
  kernel.validate(V);
  check_range(support, "support_vectors", V, domain.lo, domain.hi, domain.value);
  const std::size_t S = support.size() / V;
  for (std::size_t c = 0; c < classes.size(); ++c) {
    if (classes[c].coef.size() != S)
      throw std::invalid_argument("classes[" + std::to_string(c) + "] has " + std::to_string(classes[c].coef.size()) +
                                  " coefficients: expected one per support vector (" + std::to_string(S) + ")");
    check_bias(classes[c].bias, c);
    for (std::size_t i = 0; i < S; ++i)
      if (!(std::abs(classes[c].coef[i]) <= kMaxValue))
        out_of("coefficients[" + std::to_string(c) + "][" + std::to_string(i) + "]", classes[c].coef[i],
               "a value in [-1e+100, 1e+100]");
  }
  // The decision bound. Every term is finite and non-negative, so the sums are at worst +inf, which
  // the comparison refuses.
  const bool exponential = kernel.type == KernelType::rbf || kernel.type == KernelType::expchi2;
  const double per_dim = kernel.type == KernelType::linear ? kMaxHistogram * kMaxHistogram : kMaxHistogram;
  auto block_max = [&](double weight, std::size_t length) {
    return weight * (exponential ? 1.0 : static_cast<double>(length) * per_dim);
  };
  double k_max = 0;
  if (kernel.blocks.empty()) k_max = block_max(1.0, V);
  for (const KernelBlock& b : kernel.blocks) k_max += block_max(b.weight, b.end - b.begin);
  for (std::size_t c = 0; c < classes.size(); ++c) {
    double sum = 0;
    for (double a : classes[c].coef) sum += std::abs(a);
    const double bound = std::abs(classes[c].bias) + k_max * sum;
    if (!(bound <= kMaxDecision))
      decision_too_large(c, classes[c].name, bound, domain,
                         "|bias| + sum |coefficients| x max kernel value " + number_text(k_max));
  }
}

void check_support_size(std::size_t S) {
  if (S == 0) throw std::invalid_argument("Model: the SVM has no support vectors (support_size 0): expected at least 1");
}

}  // namespace

Kernel HeadCodec<KernelSvm>::read_kernel(const json& j, const Fields& f) {
  const std::string& kn = f.kernel;
  Kernel kernel = read_record(Kernel::schema(), j, kn, scope_of(f), {"blocks"});
  const json& blocks = read_array(j.at("blocks"), kn + ".blocks", 0);
  for (std::size_t u = 0; u < blocks.size(); ++u) {
    const std::string name = at(kn + ".blocks", u);
    const json& b = object(blocks[u], name, scope_of(f), {"begin", "end", "weight"});
    constexpr std::uint64_t kAny = std::numeric_limits<std::size_t>::max();
    kernel.blocks.push_back({read_uint(b.at("begin"), name + ".begin", 0, kAny), read_uint(b.at("end"), name + ".end", 0, kAny),
                             read_number(b.at("weight"), name + ".weight", 0)});
  }
  return kernel;
}

HeadCodec<KernelSvm>::Header HeadCodec<KernelSvm>::read_header(const json& hd, const std::string& scope,
                                                                const Fields& fields) {
  object(hd, "head", scope + " with a kernel-svm head", {"kind", "kernel", "support_size"});
  Header h;
  h.kernel = read_kernel(hd.at("kernel"), fields);
  h.S = read_uint(hd.at("support_size"), "head.support_size", 0, kAnySize);
  return h;
}

void HeadCodec<KernelSvm>::check_header(const Header&, std::uint64_t, std::size_t) {}

std::vector<ArraySpec> HeadCodec<KernelSvm>::array_specs(const Header& h, std::uint64_t V, std::uint64_t C,
                                                         const Fields& fields) {
  const std::string& sn = fields.support_size;
  return {{"support_vectors", "<f8", {h.S, V}, "[" + sn + ", dim]"},
          {"coefficients", "<f8", {C, h.S}, "[number of classes, " + sn + "]"}};
}

void HeadCodec<KernelSvm>::check_room(const Header& h, std::uint64_t V, std::uint64_t C, std::uint64_t data_bytes,
                                      const Fields& fields) {
  const std::string& sn = fields.support_size;
  const std::uint64_t S = h.S;
  if (S == 0) throw HeaderError(sn + " = 0: expected >= 1 (an SVM needs support vectors)");
  if (S > data_bytes / 8 / V)
    throw HeaderError(sn + " = " + std::to_string(S) + ": " + std::to_string(S) + " x dim " + std::to_string(V) +
                      " doubles cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
  if (C > data_bytes / 8 / S)
    throw HeaderError(std::to_string(C) + " classes: " + std::to_string(C) + " x " + sn + " " + std::to_string(S) +
                      " coefficients cannot fit in the data section of " + std::to_string(data_bytes) + " bytes");
}

std::shared_ptr<const KernelSvm> HeadCodec<KernelSvm>::read(Header&& h, const std::vector<std::string>& names,
                                                            const std::vector<double>& biases, const DataSection& data,
                                                            std::size_t V, const std::string& encoding,
                                                            const Fields& fields) {
  std::vector<double> support = data.take<double>("support_vectors");
  std::vector<BinarySvm> classes;
  for (std::size_t c = 0; c < names.size(); ++c) classes.push_back({names[c], biases[c], data.row("coefficients", c, h.S)});
  check_kernel_head(h.kernel, V, support, classes, encoding, fields);
  check_support_size(h.S);
  return std::make_shared<const KernelSvm>(std::move(h.kernel), V, std::move(support), std::move(classes));
}

std::vector<OutArray> HeadCodec<KernelSvm>::write(const KernelSvm& svm, std::size_t V, const std::string& encoding,
                                                  const Fields& fields, json* head_json, json* classes) {
  check_support_size(svm.support_size());
  check_class_names(names_of(svm.classes()));
  check_kernel_head(svm.kernel(), V, svm.support(), svm.classes(), encoding, fields);
  const std::size_t S = svm.support_size();
  std::vector<OutArray> arrays;
  arrays.push_back(out_array("support_vectors", {S, V}, svm.support()));
  arrays.push_back(class_rows("coefficients", S, svm.classes(), &BinarySvm::coef));
  for (const BinarySvm& c : svm.classes()) classes->push_back({{"name", c.name}, {"bias", c.bias}});
  *head_json = {{"kind", "kernel-svm"}, {"kernel", kernel_to_json(svm.kernel())}, {"support_size", S}};
  return arrays;
}

}  // namespace bowlrp::model::file_format
