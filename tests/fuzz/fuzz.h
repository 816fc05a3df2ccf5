// Shared by the libFuzzer targets: the input as text, and a check that aborts (a finding) when a
// property the parsers promise does not hold.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

namespace hm::fuzz {

inline std::string_view text(const uint8_t* data, size_t size) {
  return {reinterpret_cast<const char*>(data), size};
}

// The first byte picks a parser, the rest is its input.
inline std::pair<uint8_t, std::string_view> split(const uint8_t* data, size_t size) {
  if (size == 0) {
    return {0, {}};
  }
  return {data[0], text(data + 1, size - 1)};
}

inline void require(bool ok, const char* what, std::string_view input = {}) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\ninput: %.*s\n", what,
                 static_cast<int>(input.size() > 2000 ? 2000 : input.size()), input.data());
    std::abort();
  }
}

}  // namespace hm::fuzz
