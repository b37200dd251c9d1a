#include <bowlrp/core/digest.h>

#include <cstdio>
#include <cstring>
#include <sstream>

namespace bowlrp::core {
namespace {

std::uint64_t rotl(std::uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

std::uint64_t fmix(std::uint64_t x) {
  x ^= x >> 33;
  x *= 0xff51afd7ed558ccdULL;
  x ^= x >> 33;
  x *= 0xc4ceb9fe1a85ec53ULL;
  return x ^ (x >> 33);
}

}  // namespace

std::string Digest::hex() const {
  char buf[33];
  std::snprintf(buf, sizeof buf, "%016llx%016llx", static_cast<unsigned long long>(hi),
                static_cast<unsigned long long>(lo));
  return buf;
}

void Hasher::block(std::uint64_t w) {
  a_ = rotl(a_ ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  b_ = rotl(b_ + (w ^ 0x52dce729da3ed7b5ULL), 27) * 0x9e3779b97f4a7c15ULL + a_;
}

void Hasher::update(const void* data, std::size_t n) {
  const auto* p = static_cast<const unsigned char*>(data);
  total_ += n;
  while (n > 0 && tail_n_ > 0 && tail_n_ < 8) {
    tail_[tail_n_++] = *p++;
    --n;
    if (tail_n_ == 8) {
      std::uint64_t w;
      std::memcpy(&w, tail_, 8);
      block(w);
      tail_n_ = 0;
    }
  }
  for (; n >= 8; n -= 8, p += 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    block(w);
  }
  for (; n > 0; --n) tail_[tail_n_++] = *p++;
}

void Hasher::digest_field(const Digest& d) {
  update(&d.hi, 8);
  update(&d.lo, 8);
}

void Hasher::field(const std::string& text) {
  const std::uint64_t n = text.size();
  update(&n, sizeof n);
  update(text.data(), text.size());
}

Digest Hasher::digest() const {
  std::uint64_t a = a_, b = b_;
  std::uint64_t w = 0;
  if (tail_n_) {
    unsigned char last[8] = {};
    std::memcpy(last, tail_, tail_n_);
    std::memcpy(&w, last, 8);
  }
  a = rotl(a ^ (w * 0x87c37b91114253d5ULL), 31) * 0x4cf5ad432745937fULL;
  b = rotl(b + (w ^ 0x52dce729da3ed7b5ULL), 27) * 0x9e3779b97f4a7c15ULL + a;
  a ^= total_;
  b ^= total_ * 0x9e3779b97f4a7c15ULL;
  a += b;
  b += a;
  Digest d;
  d.hi = fmix(a);
  d.lo = fmix(b ^ d.hi);
  return d;
}

Digest digest_of(const std::string& bytes) {
  Hasher h;
  h.update(bytes.data(), bytes.size());
  return h.digest();
}

}  // namespace bowlrp::core
