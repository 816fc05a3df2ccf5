#include "harbormaster/regexp/regexp.h"

#include <re2/re2.h>

namespace hm::regexp {

struct RegExp::Compiled {
  std::string pattern;
  std::unique_ptr<re2::RE2> re;
};

namespace {

bool startsAnchored(std::string_view p) {
  // A leading flag group ("(?i)^…") still anchors.
  while (p.rfind("(?", 0) == 0) {
    size_t close = p.find(')');
    if (close == std::string_view::npos || p.substr(2, close - 2).find(':') != std::string::npos) {
      break;
    }
    p.remove_prefix(close + 1);
  }
  return p.rfind("^", 0) == 0 || p.rfind("\\A", 0) == 0;
}

bool endsAnchored(std::string_view p) {
  if (p.size() >= 2 && p.substr(p.size() - 2) == "\\z") {
    return p.size() < 3 || p[p.size() - 3] != '\\';
  }
  // "$" counts unless it is escaped ("\$" is a literal dollar).
  if (p.empty() || p.back() != '$') {
    return false;
  }
  size_t slashes = 0;
  for (size_t i = p.size() - 1; i > 0 && p[i - 1] == '\\'; --i) {
    ++slashes;
  }
  return slashes % 2 == 0;
}

}  // namespace

RegExp::RegExp(std::shared_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}

StatusOr<RegExp> RegExp::compile(std::string_view pattern, const Limits& limits) {
  if (pattern.size() > limits.maxPatternBytes) {
    return invalidArgument("is " + std::to_string(pattern.size()) +
                           " bytes long; a regular expression may have at most " +
                           std::to_string(limits.maxPatternBytes));
  }
  re2::RE2::Options options;
  options.set_log_errors(false);  // the reason is returned, not printed to stderr
  options.set_max_mem(limits.maxProgramBytes);
  options.set_never_capture(true);  // only whether it matches counts
  auto compiled = std::make_shared<Compiled>();
  compiled->pattern = std::string(pattern);
  compiled->re =
      std::make_unique<re2::RE2>(re2::StringPiece(pattern.data(), pattern.size()), options);
  if (!compiled->re->ok()) {
    const std::string why = compiled->re->error_code() == re2::RE2::ErrorPatternTooLarge
                                ? "is too large once compiled (at most " +
                                      std::to_string(limits.maxProgramBytes / 1024) +
                                      " KiB); simplify the repetitions"
                                : compiled->re->error();
    return invalidArgument("is not a valid regular expression (Go/RE2 syntax): " + why);
  }
  return RegExp(std::move(compiled));
}

bool RegExp::search(std::string_view text) const {
  return re2::RE2::PartialMatch(re2::StringPiece(text.data(), text.size()), *compiled_->re);
}

const std::string& RegExp::pattern() const {
  return compiled_->pattern;
}

bool RegExp::anchored() const {
  return startsAnchored(compiled_->pattern) && endsAnchored(compiled_->pattern);
}

}  // namespace hm::regexp
