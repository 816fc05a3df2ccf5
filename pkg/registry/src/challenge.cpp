#include "harbormaster/registry/challenge.h"

#include <algorithm>

namespace hm::registry {
namespace {

bool isTokenChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) ||
         std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

}  // namespace

std::string Challenge::param(const std::string& key) const {
  auto it = params.find(key);
  return it == params.end() ? "" : it->second;
}

StatusOr<Challenge> parseChallenge(std::string_view h) {
  auto bad = [](const std::string& why) {
    return invalidArgument("malformed WWW-Authenticate header: " + why);
  };
  if (h.size() > 8192) {
    return bad("longer than 8 KiB");
  }
  size_t i = 0;
  auto skipSpace = [&] {
    while (i < h.size() && (h[i] == ' ' || h[i] == '\t')) {
      ++i;
    }
  };
  skipSpace();
  size_t start = i;
  while (i < h.size() && isTokenChar(h[i])) {
    ++i;
  }
  if (i == start) {
    return bad("no auth scheme");
  }
  Challenge c;
  c.scheme = lower(h.substr(start, i - start));
  skipSpace();
  while (i < h.size()) {
    size_t keyStart = i;
    while (i < h.size() && isTokenChar(h[i])) {
      ++i;
    }
    if (i == keyStart) {
      return bad("expected a parameter name at offset " + std::to_string(i));
    }
    std::string key = lower(h.substr(keyStart, i - keyStart));
    skipSpace();
    if (i >= h.size() || h[i] != '=') {
      // Another challenge follows ("Bearer ..., Basic realm=..."): stop at the first one.
      if (c.params.empty()) {
        return bad("parameter \"" + key + "\" has no value");
      }
      break;
    }
    ++i;
    skipSpace();
    std::string value;
    if (i < h.size() && h[i] == '"') {
      ++i;
      bool closed = false;
      while (i < h.size()) {
        char ch = h[i++];
        if (ch == '\\' && i < h.size()) {
          value += h[i++];
        } else if (ch == '"') {
          closed = true;
          break;
        } else {
          value += ch;
        }
      }
      if (!closed) {
        return bad("unterminated quoted value for \"" + key + "\"");
      }
    } else {
      size_t valueStart = i;
      while (i < h.size() && isTokenChar(h[i])) {
        ++i;
      }
      value = std::string(h.substr(valueStart, i - valueStart));
    }
    c.params[key] = value;
    skipSpace();
    if (i < h.size()) {
      if (h[i] != ',') {
        return bad("expected ',' at offset " + std::to_string(i));
      }
      ++i;
      skipSpace();
    }
  }
  return c;
}

}  // namespace hm::registry
