#pragma once

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::testing {

// kube-sim on a free loopback port with a self-signed certificate and a kubeconfig for its
// admin token (kubeconfig()), trusting two client certificates (clientCert()). Stopped and removed
// on destruction.
class KubeSimRig {
 public:
  KubeSimRig();
  ~KubeSimRig();
  const std::string& kubeconfig() const { return kubeconfig_; }
  const std::string& token() const { return token_; }
  uint16_t port() const { return port_; }
  // A /sim/ control call; returns the body.
  std::string control(const std::string& method, const std::string& path,
                      const std::string& body = "");
  // Client certificates kube-sim trusts: "admin" (O=system:masters) and "nobody" (no groups).
  std::string clientCert(const std::string& who) const { return dir_.file(who + ".crt"); }
  std::string clientKey(const std::string& who) const { return dir_.file(who + ".key"); }
  // kubectl with this kubeconfig; returns the exit status, output in `out`.
  int kubectl(const std::vector<std::string>& args, std::string& out);
  // `kubectl get ARGS -o json`, parsed; null when kubectl fails (e.g. not found).
  nlohmann::json get(const std::vector<std::string>& what);
  // A field ("status", "reason", "message") of the Ready condition of what `get` returns;
  // empty when there is none.
  std::string ready(const std::vector<std::string>& what, const char* field);

 private:
  TempDir dir_;
  std::string kubeconfig_;
  std::string token_ = "kube-sim-admin-token";
  uint16_t port_ = 0;
  std::unique_ptr<Process> proc_;
};

}  // namespace hm::testing
