#include <bowlrp/decompose/head.h>

#include <stdexcept>

namespace bowlrp::decompose {

namespace {
template <class F>
decltype(auto) visit_head(const Head& head, F&& f) {
  return std::visit(
      [&](const auto& h) -> decltype(auto) {
        if (!h) throw std::invalid_argument("no classifier head given (null pointer)");
        return f(*h);
      },
      head);
}
std::size_t class_count(const svm::KernelSvm& h) { return h.classes().size(); }
std::size_t class_count(const svm::LinearSvm& h) { return h.classes().size(); }
std::size_t class_count(const nn::Network& h) { return h.classes(); }
std::size_t class_count(const svm::AdditiveMapSvm& h) { return h.classes().size(); }
const std::string& class_name(const svm::KernelSvm& h, std::size_t c) { return h.classes()[c].name; }
const std::string& class_name(const svm::LinearSvm& h, std::size_t c) { return h.classes()[c].name; }
const std::string& class_name(const nn::Network& h, std::size_t c) { return h.class_names()[c]; }
const std::string& class_name(const svm::AdditiveMapSvm& h, std::size_t c) { return h.classes()[c].name; }
}  // namespace

std::size_t head_classes(const Head& head) {
  return visit_head(head, [](const auto& h) { return class_count(h); });
}
std::size_t head_dimension(const Head& head) {
  return visit_head(head, [](const auto& h) { return h.dim(); });
}
const std::string& head_class_name(const Head& head, std::size_t c) {
  return visit_head(head, [&](const auto& h) -> const std::string& {
    if (c >= class_count(h))
      throw std::out_of_range("class index " + std::to_string(c) + " out of range; the model has " +
                              std::to_string(class_count(h)) + " classes");
    return class_name(h, c);
  });
}
double head_decision(const Head& head, std::size_t cls, const double* x) {
  return visit_head(head, [&](const auto& h) { return h.decision(cls, x); });
}
std::vector<double> head_decisions(const Head& head, const double* x) {
  return visit_head(head, [&](const auto& h) { return h.decision(x); });
}
std::size_t head_class_index(const Head& head, const std::string& name) {
  return visit_head(head, [&](const auto& h) { return h.class_index(name); });
}

}  // namespace bowlrp::decompose
