// HarborProject and RobotAccount objects as the API server (or a user's kubectl apply) hands
// them over, and the quantities, durations and selectors inside them.
#include <nlohmann/json.hpp>

#include "fuzz.h"
#include "harbormaster/operator/spec.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [which, input] = hm::fuzz::split(data, size);
  switch (which % 4) {
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
  if (which % 4 == 2) {
    (void)hm::op::parseHarborProject(object);
  } else {
    (void)hm::op::parseRobotAccount(object);
  }
  return 0;
}
