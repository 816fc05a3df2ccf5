// kubeconfig files (YAML): loaded within the YAML bounds; every problem is an error value.
#include "fuzz.h"
#include "harbormaster/kube/config.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input = hm::fuzz::text(data, size);
  std::vector<hm::kube::KubeconfigText> files{{"/nonexistent/fuzz/kubeconfig", std::string(input)}};
  (void)hm::kube::parseKubeconfig(files, "");
  return 0;
}
