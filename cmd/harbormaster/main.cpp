#include <iostream>
#include <string>
#include <vector>

#include "commands.h"

namespace {

constexpr const char* kUsage =
    R"(harbormaster: admission webhook and operator for the Harbor registry

Usage:
  harbormaster webhook --tls-cert FILE --tls-key FILE --policy FILE [--listen :8443]
                       [--metrics-listen ADDR] [--namespace NS] [--threads N]
                       [--request-timeout 10s] [--shutdown-grace 20s] [--log-level info]
                       [--max-connections 1000] [--max-buffered-bytes 32Mi]
                       [--idle-timeout 30s] [--header-timeout 10s] [--handshake-timeout 5s]
                       [--ports-file F]
  harbormaster check --policy FILE [--namespace NS] [--harbor-url URL [--harbor-ca FILE]]
                     [--plain-http-registry HOST]... IMAGE...
  harbormaster operator --harbor-url URL [--kubeconfig F] [--context C] [--namespace NS]
                        [--harbor-ca F] [--harbor-credentials-file F] [--registry-host H]...
                        [--resync 10m] [--leader-elect=true|false] [--listen :8080]
                        [--rotation-grace 5m] [--reconcile-timeout 2m] [--workers 4]
                        [--max-connections 256] [--ports-file F]
                        [--leader-elect-lease-duration 15s] [--leader-elect-renew-deadline 10s]
                        [--leader-elect-retry-period 2s] [--shutdown-grace 15s]
                        [--log-level info]
  harbormaster version

--ports-file F: once listening, write "listen=PORT" (and "metrics=PORT") to F, for --listen
with port 0.

check exits 0 when every image is allowed, 1 when any is denied, 2 on an error. With
--harbor-url, images on that Harbor's host are resolved to their digest and their scan
overview is shown (credentials from HARBOR_USERNAME and HARBOR_PASSWORD). Policies with
spec.signatures look up cosign signatures in the image's registry (Harbor's with its
credentials, others anonymously); --plain-http-registry names local registries without TLS.
)";

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << kUsage;
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "webhook") {
    return hm::cli::runWebhook(args);
  }
  if (command == "operator") {
    return hm::cli::runOperator(args);
  }
  if (command == "check") {
    return hm::cli::runCheck(args);
  }
  if (command == "version" || command == "--version") {
    std::cout << "harbormaster " << HM_VERSION << "\n";
    return 0;
  }
  std::cerr << "harbormaster: unknown command \"" << command << "\"\n\n" << kUsage;
  return 2;
}
