// Image references: no crash, errors are InvalidArgument, and the round trip holds: a reference
// parsed, printed (normalised and familiar) and parsed again names the same image.
#include "fuzz.h"
#include "harbormaster/imageref/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  auto ref = hm::imageref::parse(input);
  if (!ref.ok()) {
    hm::fuzz::require(ref.status().code() == hm::StatusCode::kInvalidArgument,
                      "errors are InvalidArgument", input);
    return 0;
  }
  const std::string normalized = ref->normalized();
  auto again = hm::imageref::parse(normalized);
  hm::fuzz::require(again.ok(), "the normalised form parses", input);
  hm::fuzz::require(again->normalized() == normalized, "normalising is idempotent", input);
  auto familiar = hm::imageref::parse(ref->familiar());
  hm::fuzz::require(familiar.ok(), "the familiar form parses", input);
  hm::fuzz::require(familiar->normalized() == normalized, "familiar names the same image", input);
  hm::fuzz::require(ref->name().size() <= hm::imageref::kMaxNameLength,
                    "an accepted name fits once normalised", input);
  if (ref->isPinned()) {
    hm::fuzz::require(hm::imageref::validateDigest(ref->digest).ok(), "digest valid", input);
  }
  return 0;
}
