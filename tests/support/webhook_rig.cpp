#include "support/webhook_rig.h"

#include <filesystem>

#include "support/certs.h"
#include "support/tls_client.h"

namespace hm::testing {

using nlohmann::json;

WebhookProcess startWebhook(const TempDir& dir, const std::vector<std::string>& extra,
                            bool waitReady) {
  makeSelfSignedCert(dir.file("tls.crt"), dir.file("tls.key"), "webhook");
  WebhookProcess w;
  std::vector<std::string> argv = {
      HM_BINARY,          "webhook",           "--listen",     "127.0.0.1:0",
      "--metrics-listen", "127.0.0.1:0",       "--ports-file", dir.file("webhook.ports"),
      "--tls-cert",       dir.file("tls.crt"), "--tls-key",    dir.file("tls.key")};
  argv.insert(argv.end(), extra.begin(), extra.end());
  std::filesystem::remove(dir.file("webhook.ports"));  // a restart in the same directory
  w.process = std::make_unique<Process>(argv, dir.file("webhook.log"));
  if (!waitReady) {
    // Listening (the ports file is written then), not necessarily ready.
    try {
      auto ports = waitForPorts(dir.file("webhook.ports"), *w.process);
      w.port = ports["listen"];
      w.metricsPort = ports["metrics"];
    } catch (const std::exception&) {
      // It exited (what some tests expect); no ports.
    }
    return w;
  }
  auto ports = waitForPorts(dir.file("webhook.ports"), *w.process);
  w.port = ports["listen"];
  w.metricsPort = ports["metrics"];
  w.ready = eventually(20, [&] {
    try {
      return Client(w.port).get("/readyz").status == 200;
    } catch (const std::exception&) {
      return false;
    }
  });
  return w;
}

std::string podReview(const std::string& image, const std::string& ns) {
  json body = json::parse(readText(sharedFile("admission-samples/01-Pod-CREATE.json")));
  body["request"]["object"]["spec"]["containers"][0]["image"] = image;
  if (!ns.empty()) {
    body["request"]["namespace"] = ns;
    body["request"]["object"]["metadata"]["namespace"] = ns;
  }
  return body.dump();
}

json reviewResponse(uint16_t port, const std::string& body) {
  Client c(port);
  auto r = c.post("/validate?timeout=10s", body);
  if (r.status != 200) {
    return nullptr;
  }
  return json::parse(r.body)["response"];
}

std::string denialMessage(const json& response) {
  return response.is_object() && response.contains("status")
             ? response["status"].value("message", "")
             : "";
}

}  // namespace hm::testing
