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
}  // namespace

std::size_t head_classes(const Head& head) {
  return visit_head(head, [](const auto& h) { return h.classes().size(); });
}
std::size_t head_dimension(const Head& head) {
  return visit_head(head, [](const auto& h) { return h.dim(); });
}
const std::string& head_class_name(const Head& head, std::size_t c) {
  return visit_head(head, [&](const auto& h) -> const std::string& {
    if (c >= h.classes().size())
      throw std::out_of_range("class index " + std::to_string(c) + " out of range; the model has " +
                              std::to_string(h.classes().size()) + " classes");
    return h.classes()[c].name;
  });
}
double head_decision(const Head& head, std::size_t cls, const double* x) {
  return visit_head(head, [&](const auto& h) { return h.decision(cls, x); });
}

}  // namespace bowlrp::decompose
