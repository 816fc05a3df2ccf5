#include "harbormaster/webhookcert/keeper.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"
#include "harbormaster/net/task_group.h"

namespace hm::webhookcert {
namespace {

namespace asio = boost::asio;
using nlohmann::json;

const kube::Resource kSecrets{"", "v1", "secrets"};
const kube::Resource kWebhookConfigurations{"admissionregistration.k8s.io", "v1",
                                            "validatingwebhookconfigurations", false};
constexpr const char* kManagedBy = "app.kubernetes.io/managed-by";
constexpr const char* kPublishedAt = "harbormaster.io/next-ca-published-at";

std::string dataField(const json& secret, const char* key) {
  const json* data = secret.contains("data") ? &secret["data"] : nullptr;
  if (data == nullptr || !data->is_object() || !data->contains(key) || !(*data)[key].is_string()) {
    return "";
  }
  return base64Decode((*data)[key].get<std::string>()).value_or("");
}

Material fromSecret(const json& secret) {
  Material m;
  m.ca = {dataField(secret, "ca.crt"), dataField(secret, "ca.key")};
  m.nextCa = {dataField(secret, "next-ca.crt"), dataField(secret, "next-ca.key")};
  m.caBundle = dataField(secret, "ca-bundle.crt");
  m.serving = {dataField(secret, "tls.crt"), dataField(secret, "tls.key")};
  const json& annotations = secret["metadata"].value("annotations", json::object());
  if (auto at = annotations.find(kPublishedAt); at != annotations.end() && at->is_string()) {
    if (auto t = parseRfc3339(at->get<std::string>()); t.ok()) {
      m.nextCaPublishedAt = *t;
    }
  }
  return m;
}

// The Secret as it should be: `base` keeps its metadata (resourceVersion, others' labels).
json toSecret(const Material& m, const Settings& s, json base) {
  if (base.is_null()) {
    base = {{"apiVersion", "v1"},
            {"kind", "Secret"},
            {"metadata", {{"name", s.secretName}, {"namespace", s.nameSpace}}}};
  }
  json& meta = base["metadata"];
  meta["labels"][kManagedBy] = "harbormaster";
  meta["labels"]["app.kubernetes.io/component"] = "webhook-certificate";
  if (m.nextCaPublishedAt) {
    meta["annotations"][kPublishedAt] = formatRfc3339(*m.nextCaPublishedAt);
  } else if (meta.contains("annotations") && meta["annotations"].is_object()) {
    meta["annotations"].erase(kPublishedAt);
  }
  base["type"] = "kubernetes.io/tls";
  json data = {{"tls.crt", base64Encode(m.serving.certPem)},
               {"tls.key", base64Encode(m.serving.keyPem)},
               {"ca.crt", base64Encode(m.ca.certPem)},
               {"ca.key", base64Encode(m.ca.keyPem)},
               {"ca-bundle.crt", base64Encode(m.caBundle)}};
  if (!m.nextCa.certPem.empty()) {
    data["next-ca.crt"] = base64Encode(m.nextCa.certPem);
    data["next-ca.key"] = base64Encode(m.nextCa.keyPem);
  }
  base["data"] = std::move(data);
  return base;
}

bool ours(const json& webhook, const Settings& s) {
  const json& svc = webhook.value("clientConfig", json::object()).value("service", json::object());
  return svc.value("name", "") == s.serviceName && svc.value("namespace", "") == s.nameSpace;
}

// Whether every webhook of ours in the configuration trusts `caPem`.
bool trusts(const json& vwc, const Settings& s, const std::string& caPem) {
  auto ca = pki::inspect(caPem);
  if (vwc.is_null() || !ca.ok()) {
    return false;
  }
  bool any = false;
  for (const json& w : vwc.value("webhooks", json::array())) {
    if (!ours(w, s)) {
      continue;
    }
    any = true;
    std::string encoded = w["clientConfig"].value("caBundle", "");
    auto bundle = pki::inspectBundle(base64Decode(encoded).value_or(""));
    if (!bundle.ok() ||
        std::none_of(bundle->begin(), bundle->end(), [&](const pki::CertificateInfo& c) {
          return c.fingerprint == ca->fingerprint;
        })) {
      return false;
    }
  }
  return any;
}

}  // namespace

CertificateKeeper::CertificateKeeper(std::shared_ptr<kube::Client> kube, Settings settings,
                                     Observer observer)
    : kube_(std::move(kube)), settings_(std::move(settings)), observer_(std::move(observer)) {}

asio::awaitable<Status> CertificateKeeper::sync(kube::Deadline deadline) {
  Status last;
  // Another replica writing at the same moment costs a re-read, not a pass.
  for (int attempt = 0; attempt < 3; ++attempt) {
    last = co_await syncOnce(deadline);
    if (last.code() != StatusCode::kConflict && last.code() != StatusCode::kAlreadyExists) {
      break;
    }
  }
  co_return last;
}

asio::awaitable<Status> CertificateKeeper::syncOnce(kube::Deadline deadline) {
  const Settings& s = settings_;
  auto got = co_await kube_->get(kSecrets, s.nameSpace, s.secretName, deadline);
  json secret;
  if (got.ok()) {
    secret = std::move(*got);
    const json& labels = secret["metadata"].value("labels", json::object());
    if (labels.value(kManagedBy, "") != "harbormaster") {
      co_return failedPrecondition(
          "Secret " + s.nameSpace + "/" + s.secretName +
          " exists and was not created by Harbormaster (it lacks the label " + kManagedBy +
          "=harbormaster); delete it to let Harbormaster manage the certificate, or use "
          "certificates.mode=existingSecret to serve with it");
    }
  } else if (!isNotFound(got.status())) {
    co_return got.status().withContext("reading the certificate Secret");
  }
  auto vwcGot = co_await kube_->get(kWebhookConfigurations, "", s.webhookConfiguration, deadline);
  json vwc;
  if (vwcGot.ok()) {
    vwc = std::move(*vwcGot);
  } else if (!isNotFound(vwcGot.status())) {
    co_return vwcGot.status().withContext("reading the ValidatingWebhookConfiguration");
  }

  std::optional<Material> current;
  if (!secret.is_null()) {
    current = fromSecret(secret);
  }
  bool nextTrusted =
      current && !current->nextCa.certPem.empty() && trusts(vwc, s, current->nextCa.certPem);
  auto p = plan(current, s, std::chrono::system_clock::now(), nextTrusted);
  if (!p.ok()) {
    co_return p.status().withContext("planning certificates");
  }
  if (!p->changes.empty()) {
    json desired = toSecret(p->material, s, secret);
    StatusOr<json> written = json();
    if (secret.is_null()) {
      written = co_await kube_->create(kSecrets, s.nameSpace, desired, deadline);
    } else {
      written = co_await kube_->update(kSecrets, s.nameSpace, desired, deadline);
    }
    if (!written.ok()) {
      co_return written.status().withContext("writing the certificate Secret");
    }
    for (const auto& change : p->changes) {
      log::info("Webhook certificates: " + change, {{"secret", s.nameSpace + "/" + s.secretName}});
    }
  }
  const Material& m = p->material;
  if (auto files = writeFiles(m.serving); !files.ok()) {
    co_return files;
  }
  urgent_ = !m.nextCa.certPem.empty();
  if (vwc.is_null()) {
    if (!warnedMissingConfiguration_) {
      log::warn(
          "The ValidatingWebhookConfiguration does not exist (yet); its caBundle will be "
          "set when it appears",
          {{"name", s.webhookConfiguration}});
      warnedMissingConfiguration_ = true;
    }
    urgent_ = true;
  } else if (auto injected = co_await inject(m.caBundle, std::move(vwc), deadline);
             !injected.ok()) {
    co_return injected;
  }
  if (observer_.synced) {
    if (auto info = pki::inspect(m.serving.certPem); info.ok()) {
      observer_.synced(info->notAfter);
    }
  }
  co_return okStatus();
}

asio::awaitable<Status> CertificateKeeper::inject(const std::string& bundle, json vwc,
                                                  kube::Deadline deadline) {
  const std::string encoded = base64Encode(bundle);
  bool matched = false;
  bool changed = false;
  for (json& w : vwc["webhooks"]) {
    if (!ours(w, settings_)) {
      continue;
    }
    matched = true;
    if (w["clientConfig"].value("caBundle", "") != encoded) {
      w["clientConfig"]["caBundle"] = encoded;
      changed = true;
    }
  }
  if (!matched) {
    if (!warnedMissingConfiguration_) {
      log::warn(
          "The ValidatingWebhookConfiguration has no webhook for this Service; its "
          "caBundle is left alone",
          {{"name", settings_.webhookConfiguration},
           {"service", settings_.nameSpace + "/" + settings_.serviceName}});
      warnedMissingConfiguration_ = true;
    }
    co_return okStatus();
  }
  warnedMissingConfiguration_ = false;
  if (!changed) {
    injected_ = encoded;
    co_return okStatus();
  }
  auto updated = co_await kube_->update(kWebhookConfigurations, "", vwc, deadline);
  if (!updated.ok()) {
    urgent_ = true;
    co_return updated.status().withContext("setting the webhook configuration's caBundle");
  }
  injected_ = encoded;
  log::info("Webhook certificates: set the caBundle of the ValidatingWebhookConfiguration",
            {{"name", settings_.webhookConfiguration}});
  co_return okStatus();
}

bool CertificateKeeper::needsInjection(const json& vwc) const {
  for (const json& w : vwc.value("webhooks", json::array())) {
    if (ours(w, settings_) && w["clientConfig"].value("caBundle", "") != injected_) {
      return true;
    }
  }
  return false;
}

asio::awaitable<void> CertificateKeeper::watchConfiguration() {
  watchPause_.emplace(co_await asio::this_coro::executor);
  while (!stopped_) {
    kube::WatchOptions options;
    options.fieldSelector = "metadata.name=" + settings_.webhookConfiguration;
    auto onEvent = [this](const kube::WatchEvent& e) {
      if (stopped_) {
        return false;
      }
      if ((e.type == "ADDED" || e.type == "MODIFIED") && needsInjection(e.object) && timer_) {
        timer_->cancel();  // a pass now
      }
      return true;
    };
    Status s = co_await kube_->watch(kWebhookConfigurations, "", options, onEvent,
                                     std::chrono::steady_clock::now() + std::chrono::minutes(6));
    if (!s.ok() && !stopped_) {
      log::debug("Webhook certificates: the configuration watch ended", {{"error", s.message()}});
    }
    // A watch that ends (its timeout, an error) is started again after a breath.
    watchPause_->expires_after(std::chrono::seconds(s.ok() ? 1 : 5));
    boost::system::error_code ec;
    co_await watchPause_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

Status CertificateKeeper::writeFiles(const pki::KeyedCertificate& serving) {
  auto cert = readFile(settings_.certFile, 1024 * 1024);
  auto key = readFile(settings_.keyFile, 1024 * 1024);
  if (cert.ok() && key.ok() && *cert == serving.certPem && *key == serving.keyPem) {
    return okStatus();
  }
  // The key first: the server reloads when both files are readable and belong together.
  if (auto s = writeFileAtomically(settings_.keyFile, serving.keyPem, 0600); !s.ok()) {
    return s;
  }
  return writeFileAtomically(settings_.certFile, serving.certPem, 0644);
}

asio::awaitable<void> CertificateKeeper::run(std::chrono::milliseconds interval,
                                             std::chrono::milliseconds urgentInterval) {
  auto executor = co_await asio::this_coro::executor;
  timer_.emplace(executor);
  asio::co_spawn(executor, watchConfiguration(), net::LogFailure{"webhook configuration watch"});
  while (!stopped_) {
    Status s = co_await sync(std::chrono::steady_clock::now() + std::chrono::seconds(10));
    if (!s.ok()) {
      urgent_ = true;
      log::error("Webhook certificates: sync failed; serving with what the files hold",
                 {{"error", s.message()}});
      if (observer_.failed) {
        observer_.failed(s);
      }
    }
    if (stopped_) {
      break;
    }
    timer_->expires_after(urgent_ ? std::min(urgentInterval, interval) : interval);
    boost::system::error_code ec;
    co_await timer_->async_wait(asio::redirect_error(asio::use_awaitable, ec));
  }
}

void CertificateKeeper::stop() {
  stopped_ = true;
  if (timer_) {
    timer_->cancel();
  }
  if (watchPause_) {
    watchPause_->cancel();
  }
}

}  // namespace hm::webhookcert
