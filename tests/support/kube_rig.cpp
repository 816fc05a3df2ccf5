#include "support/kube_rig.h"

#include <filesystem>
#include <stdexcept>

#include "support/certs.h"
#include "support/tls_client.h"

namespace hm::testing {

KubeSimRig::KubeSimRig() {
  makeSelfSignedCert(dir_.file("tls.crt"), dir_.file("tls.key"), "kube-sim");
  kubeconfig_ = dir_.file("kubeconfig");
  makeClientCert(clientCert("admin"), clientKey("admin"), "/O=system:masters/CN=admin-user");
  makeClientCert(clientCert("nobody"), clientKey("nobody"), "/CN=nobody");
  dir_.write("client-ca.crt", readText(clientCert("admin")) + readText(clientCert("nobody")));
  proc_ = std::make_unique<Process>(
      std::vector<std::string>{HM_KUBE_SIM, "--listen", "127.0.0.1:0", "--ports-file",
                               dir_.file("kube-sim.ports"), "--tls-cert", dir_.file("tls.crt"),
                               "--tls-key", dir_.file("tls.key"), "--token", token_, "--client-ca",
                               dir_.file("client-ca.crt"), "--kubeconfig-out", kubeconfig_},
      dir_.file("kube-sim.log"));
  port_ = waitForPorts(dir_.file("kube-sim.ports"), *proc_)["listen"];
  bool up = eventually(20, [&] {
    try {
      return Client(port_).get("/version").status == 401 && std::filesystem::exists(kubeconfig_);
    } catch (const std::exception&) {
      return false;
    }
  });
  if (!up) {
    throw std::runtime_error("kube-sim did not start: " + proc_->output());
  }
}

KubeSimRig::~KubeSimRig() = default;

std::string KubeSimRig::control(const std::string& method, const std::string& path,
                                const std::string& body) {
  Client c(port_);
  auto r = c.request(method, path, body);
  if (r.status != 200) {
    throw std::runtime_error(method + " " + path + " refused: " + r.body);
  }
  return r.body;
}

int KubeSimRig::kubectl(const std::vector<std::string>& args, std::string& out) {
  std::vector<std::string> argv = {"/usr/bin/kubectl", "--kubeconfig", kubeconfig_};
  argv.insert(argv.end(), args.begin(), args.end());
  return runCommand(argv, out);
}

nlohmann::json KubeSimRig::get(const std::vector<std::string>& what) {
  std::vector<std::string> args = {"get"};
  args.insert(args.end(), what.begin(), what.end());
  args.insert(args.end(), {"-o", "json"});
  std::string out;
  if (kubectl(args, out) != 0) {
    return nullptr;
  }
  nlohmann::json j = nlohmann::json::parse(out, nullptr, false);
  return j.is_discarded() ? nlohmann::json(nullptr) : j;
}

std::string KubeSimRig::ready(const std::vector<std::string>& what, const char* field) {
  nlohmann::json o = get(what);
  if (!o.is_object()) {
    return "";
  }
  const auto status = o.value("status", nlohmann::json::object());
  for (const auto& c : status.value("conditions", nlohmann::json::array())) {
    if (c.value("type", "") == "Ready") {
      return c.value(field, "");
    }
  }
  return "";
}

}  // namespace hm::testing
