// Policy text: any YAML loads or fails with a user error, within the loader's bounds (libFuzzer's
// -timeout and -rss_limit_mb catch a hang or a blow-up); a loaded set judges an image without
// failing. Input that is a JSON object also goes through parseObject, as the API server's objects
// do.
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policy/policy.h"

namespace {

void requireUserError(const hm::Status& s, std::string_view input) {
  hm::fuzz::require(s.code() == hm::StatusCode::kInvalidArgument ||
                        s.code() == hm::StatusCode::kNotFound ||
                        s.code() == hm::StatusCode::kPermissionDenied,
                    "a policy error is a user error", input);
  hm::fuzz::require(!s.message().empty(), "errors say what is wrong", input);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  auto set = hm::policy::parsePolicies(input, "fuzz.yaml", {.ownNamespace = "harbormaster"});
  if (!set.ok()) {
    requireUserError(set.status(), input);
  } else {
    hm::policy::ImageUse use;
    use.image = "harbor.example.com/shop/web:1.4";
    const auto now = *hm::parseRfc3339("2026-12-03T00:00:00Z");
    (void)hm::policy::evaluate(*set, "shop", {use}, now);
    for (const auto& [ns, list] : set->exceptions) {
      for (const auto& ex : list) {
        (void)hm::policy::standing(ex, *set, now);
      }
    }
  }
  auto object = nlohmann::json::parse(input, nullptr, false);
  if (!object.is_discarded()) {
    auto parsed = hm::policy::parseObject(object, {.ownNamespace = "", .readFiles = false});
    if (!parsed.ok()) {
      requireUserError(parsed.status(), input);
    }
  }
  return 0;
}
