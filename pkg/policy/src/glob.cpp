#include <vector>

#include "harbormaster/policy/policy.h"

namespace hm::policy {

// Dynamic programming over (pattern token, text prefix): O(|pattern|·|text|) whatever the
// input, so neither a hostile image name nor a pattern with many stars can make it blow up.
bool globMatch(std::string_view pattern, std::string_view text) {
  std::vector<char> row(text.size() + 1, 0), next(text.size() + 1, 0);
  row[0] = 1;
  for (size_t i = 0; i < pattern.size(); ++i) {
    char pc = pattern[i];
    bool doubleStar = pc == '*' && i + 1 < pattern.size() && pattern[i + 1] == '*';
    if (doubleStar) {
      while (i + 1 < pattern.size() && pattern[i + 1] == '*') {
        ++i;
      }
    }
    next[0] = pc == '*' ? row[0] : 0;
    for (size_t j = 1; j <= text.size(); ++j) {
      char tc = text[j - 1];
      if (pc == '*') {
        next[j] = row[j] || (next[j - 1] && (doubleStar || tc != '/'));
      } else if (pc == '?') {
        next[j] = row[j - 1] && tc != '/';
      } else {
        next[j] = row[j - 1] && tc == pc;
      }
    }
    row.swap(next);
  }
  return row[text.size()] != 0;
}

}  // namespace hm::policy
