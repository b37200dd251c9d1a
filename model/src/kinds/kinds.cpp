#include <bowlrp/model/kinds.h>

#include <bowlrp/core/option_text.h>

#include <stdexcept>

namespace bowlrp::model {

namespace {
// "kernel-svm (kernel), linear-svm (linear) or mlp (network)"
template <class Variant, template <class> class Traits>
std::string listing() {
  std::vector<std::string> items;
  for_each_kind<Variant>([&](auto tag) {
    using T = Traits<typename decltype(tag)::type>;
    items.push_back(std::string(T::name) == T::alias ? std::string(T::name) : std::string(T::name) + " (" + T::alias + ")");
  });
  std::string s;
  for (std::size_t i = 0; i < items.size(); ++i)
    s += (i == 0 ? "" : i + 1 == items.size() ? " or " : ", ") + items[i];
  return s;
}

template <class Variant, template <class> class Traits>
std::vector<std::string> names() {
  std::vector<std::string> out;
  for_each_kind<Variant>([&](auto tag) { out.push_back(Traits<typename decltype(tag)::type>::name); });
  return out;
}

template <class Variant, template <class> class Traits>
std::string canonical(const std::string& name, const char* what) {
  std::string found;
  for_each_kind<Variant>([&](auto tag) {
    using T = Traits<typename decltype(tag)::type>;
    if (name == T::name || name == T::alias) found = T::name;
  });
  if (found.empty()) detail::throw_unknown_kind(what, name);
  return found;
}
}  // namespace

void detail::throw_unknown_kind(const char* what, const std::string& name) {
  const bool encoding = std::string(what) == "encoding";
  throw std::invalid_argument(std::string(what) + " " + core::quoted(name) + ": expected " +
                              (encoding ? listing<Encoding, EncodingTraits>() : listing<Head, HeadTraits>()));
}

std::vector<std::string> encoding_kind_names() { return names<Encoding, EncodingTraits>(); }
std::vector<std::string> head_kind_names() { return names<Head, HeadTraits>(); }
std::string encoding_kind_from_string(const std::string& name) {
  return canonical<Encoding, EncodingTraits>(name, "encoding");
}
void check_randomised_layers(std::size_t layers, std::size_t available) {
  if (layers > available)
    throw std::invalid_argument("randomised head: " + std::to_string(layers) + " layers asked for; the head has " +
                                std::to_string(available) + " parameter layer" + (available == 1 ? "" : "s"));
}

std::string head_kind_from_string(const std::string& name) { return canonical<Head, HeadTraits>(name, "head"); }

}  // namespace bowlrp::model
