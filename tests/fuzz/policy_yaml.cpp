// ImagePolicy YAML: any text loads or fails with InvalidArgument, within the loader's bounds
// (libFuzzer's -timeout and -rss_limit_mb catch a hang or a blow-up).
#include "fuzz.h"
#include "harbormaster/policy/policy.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  auto set = hm::policy::parsePolicies(input, "fuzz.yaml", {.ownNamespace = "harbormaster"});
  if (!set.ok()) {
    hm::fuzz::require(set.status().code() == hm::StatusCode::kInvalidArgument ||
                          set.status().code() == hm::StatusCode::kNotFound ||
                          set.status().code() == hm::StatusCode::kPermissionDenied,
                      "a policy error is a user error", input);
    hm::fuzz::require(!set.status().message().empty(), "errors say what is wrong", input);
  }
  return 0;
}
