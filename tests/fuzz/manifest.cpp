// Manifests for `harbormaster check -f` (YAML streams, JSON, Lists): parsed within the bounds,
// every problem an error value naming the document, the workloads found without throwing.
#include "harbormaster/manifest/manifest.h"
#include "fuzz.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  hm::manifest::Limits limits;
  limits.maxNodes = 20'000;  // the bounds' behaviour, at a size a fuzzer reaches
  auto objects = hm::manifest::parse(input, "fuzz.yaml", limits);
  if (!objects.ok()) {
    hm::fuzz::require(objects.status().message().rfind("fuzz.yaml", 0) == 0,
                      "a manifest error names its source", input);
    return 0;
  }
  auto found = hm::manifest::workloads(*objects, "default");
  for (const auto& w : found.workloads) {
    hm::fuzz::require(!w.nameSpace.empty(), "every workload has a namespace", input);
  }
  return 0;
}
