// The webhook binary as the e2e tests run it: a self-signed certificate, free loopback ports for
// the TLS and metrics listeners, started and ready; and the review helpers those tests share.
#pragma once

#include <cstdint>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::testing {

struct WebhookProcess {
  uint16_t port = 0;         // TLS: /validate
  uint16_t metricsPort = 0;  // plain HTTP: /metrics, /healthz, /readyz
  std::unique_ptr<Process> process;
  bool ready = false;  // /readyz answered within 20 s
};

// `harbormaster webhook` with tls.crt/tls.key written into `dir` and its log there, plus `extra`
// flags (--policy and the rest). With `waitReady` false it returns at once (ready stays false).
WebhookProcess startWebhook(const TempDir& dir, const std::vector<std::string>& extra,
                            bool waitReady = true);

// The real API server's Pod CREATE sample with `image` as its first container's image (and in
// namespace `ns`, when given).
std::string podReview(const std::string& image, const std::string& ns = "");

// POST /validate?timeout=10s; the AdmissionReview's response object (null on a non-200).
nlohmann::json reviewResponse(uint16_t port, const std::string& body);

// status.message of a response, empty when there is none.
std::string denialMessage(const nlohmann::json& response);

}  // namespace hm::testing
