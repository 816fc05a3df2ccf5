// Registry answers: manifests and indexes of every media type, and WWW-Authenticate challenges.
#include "fuzz.h"
#include "harbormaster/registry/challenge.h"
#include "harbormaster/registry/types.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [which, input] = hm::fuzz::split(data, size);
  static const char* kTypes[] = {
      "application/vnd.oci.image.manifest.v1+json",
      "application/vnd.oci.image.index.v1+json",
      "application/vnd.docker.distribution.manifest.v2+json",
      "application/vnd.docker.distribution.manifest.list.v2+json",
      "",
  };
  if (which % 6 == 5) {
    (void)hm::registry::parseChallenge(input);
    return 0;
  }
  (void)hm::registry::parseManifest(input, kTypes[which % 5]);
  return 0;
}
