// HarborProject and RobotAccount objects as the API server (or a user's kubectl apply) hands
// them over, the quantities, durations and selectors inside them, and the master Secret's
// credential record (anyone with access to the operator's namespace can edit it).
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "harbormaster/operator/spec.h"
#include "robotaccount/credential.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [which, input] = hm::fuzz::split(data, size);
  switch (which % 5) {
    case 4: {
      // Whatever reads must write and read back the same (one reader, one writer).
      namespace ra = hm::op::robotaccount;
      auto c = ra::readCredential({{ra::kCredentialKey, std::string(input)}});
      if (c.ok()) {
        auto again = ra::readCredential(ra::writeCredential(*c));
        hm::fuzz::require(again.ok() && *again == *c, "credential round trip", input);
      }
      return 0;
    }
    case 0:
      (void)hm::op::parseStorageQuantity(std::string(input));
      return 0;
    case 1:
      (void)hm::op::parseGoDuration(std::string(input));
      return 0;
    default:
      break;
  }
  nlohmann::json object = nlohmann::json::parse(input, nullptr, false);
  if (object.is_discarded()) {
    return 0;
  }
  if (which % 5 == 2) {
    (void)hm::op::parseHarborProject(object);
  } else {
    (void)hm::op::parseRobotAccount(object);
  }
  return 0;
}
