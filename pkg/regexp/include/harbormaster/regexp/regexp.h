// Regular expressions that users write (a policy's subjectRegExp, cosign's
// --certificate-identity-regexp): RE2, which is Go's `regexp` syntax — the one cosign, Kyverno
// and the sigstore policy-controller use — and matches in time linear in the text, whatever the
// pattern. A tenant's pattern can therefore never stall a replica the way a backtracking engine
// (std::regex) does on nested quantifiers.
//
//   auto re = hm::regexp::RegExp::compile("^https://github.com/acme/.*$");
//   if (!re.ok()) { /* re.status().message() says why, for a policy's status */ }
//   re->search("https://github.com/acme/app/.github/workflows/release.yml@refs/tags/v1");
//
// Compiled once (when a policy loads) and shared: a RegExp is cheap to copy and safe to use
// from many threads at once.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

#include "harbormaster/base/status.h"

namespace hm::regexp {

struct Limits {
  // Longer patterns are refused before they are parsed (the CRD says the same: maxLength).
  size_t maxPatternBytes = 1024;
  // Memory RE2 may use for the compiled program; a pattern whose program does not fit
  // ("a{1000}{1000}") is refused rather than truncated.
  int64_t maxProgramBytes = 256 * 1024;
};

class RegExp {
 public:
  // InvalidArgument with RE2's reason for a pattern that does not compile or is too large.
  static StatusOr<RegExp> compile(std::string_view pattern, const Limits& limits = {});

  // Go's MatchString and cosign's identity matching: true when the pattern matches anywhere in
  // `text` (anchor it with ^…$ to match the whole text).
  bool search(std::string_view text) const;

  const std::string& pattern() const;
  // Whether the pattern starts with ^ (or \A) and ends with $ (or \z): unanchored identity
  // patterns also accept "https://evil.example/…https://github.com/acme/…" and are warned about.
  bool anchored() const;

  struct Compiled;

 private:
  explicit RegExp(std::shared_ptr<const Compiled> compiled);
  std::shared_ptr<const Compiled> compiled_;
};

}  // namespace hm::regexp
