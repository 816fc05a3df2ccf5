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
const kube::Resource kValidatingConfigurations{"admissionregistration.k8s.io", "v1",
                                               "validatingwebhookconfigurations", false};
const kube::Resource kMutatingConfigurations{"admissionregistration.k8s.io", "v1",
                                             "mutatingwebhookconfigurations", false};
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
                                     Observer observer, const Clock& clock)
    : kube_(std::move(kube)),
      settings_(std::move(settings)),
      observer_(std::move(observer)),
      clock_(&clock) {
  auto add = [this](const kube::Resource& r, std::string kind, std::string name, bool required) {
    auto c = std::make_unique<Configuration>();
    c->resource = r;
    c->kind = std::move(kind);
    c->name = std::move(name);
    c->required = required;
    configurations_.push_back(std::move(c));
  };
  add(kValidatingConfigurations, "ValidatingWebhookConfiguration", settings_.webhookConfiguration,
      true);
  if (!settings_.mutatingWebhookConfiguration.empty()) {
    add(kMutatingConfigurations, "MutatingWebhookConfiguration",
        settings_.mutatingWebhookConfiguration, false);
  }
}

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
  std::vector<json> live;  // per configuration; null when it does not exist
  for (const auto& c : configurations_) {
    auto got = co_await kube_->get(c->resource, "", c->name, deadline);
    if (got.ok()) {
      live.push_back(std::move(*got));
    } else if (isNotFound(got.status())) {
      live.emplace_back(nullptr);
    } else {
      co_return got.status().withContext("reading the " + c->kind);
    }
  }

  std::optional<Material> current;
  if (!secret.is_null()) {
    current = fromSecret(secret);
  }
  // A new CA signs once every configuration trusts it (an optional one that does not exist
  // trusts nothing yet and will get the whole bundle when it appears).
  bool nextTrusted = current && !current->nextCa.certPem.empty();
  for (size_t i = 0; i < configurations_.size() && nextTrusted; ++i) {
    if (live[i].is_null() && !configurations_[i]->required) {
      continue;
    }
    nextTrusted = trusts(live[i], s, current->nextCa.certPem);
  }
  auto p = plan(current, s, clock_->wallNow(), nextTrusted);
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
  for (size_t i = 0; i < configurations_.size(); ++i) {
    Configuration& c = *configurations_[i];
    if (live[i].is_null()) {
      if (!c.warnedMissing) {
        log::warn("The " + c.kind +
                      " does not exist (yet); its caBundle will be set when it "
                      "appears",
                  {{"name", c.name}});
        c.warnedMissing = true;
      }
      urgent_ = true;
      continue;
    }
    Status injected = co_await inject(c, m.caBundle, std::move(live[i]), deadline);
    if (!injected.ok()) {
      co_return injected;
    }
  }
  if (observer_.synced) {
    if (auto info = pki::inspect(m.serving.certPem); info.ok()) {
      observer_.synced(info->notAfter);
    }
  }
  co_return okStatus();
}

asio::awaitable<Status> CertificateKeeper::inject(Configuration& c, const std::string& bundle,
                                                  json configuration, kube::Deadline deadline) {
  const std::string encoded = base64Encode(bundle);
  bool matched = false;
  bool changed = false;
  for (json& w : configuration["webhooks"]) {
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
    if (!c.warnedMissing) {
      log::warn("The " + c.kind + " has no webhook for this Service; its caBundle is left alone",
                {{"name", c.name}, {"service", settings_.nameSpace + "/" + settings_.serviceName}});
      c.warnedMissing = true;
    }
    co_return okStatus();
  }
  c.warnedMissing = false;
  if (!changed) {
    c.injected = encoded;
    co_return okStatus();
  }
  auto updated = co_await kube_->update(c.resource, "", configuration, deadline);
  if (!updated.ok()) {
    urgent_ = true;
    co_return updated.status().withContext("setting the caBundle of the " + c.kind);
  }
  c.injected = encoded;
  log::info("Webhook certificates: set the caBundle of the " + c.kind, {{"name", c.name}});
  co_return okStatus();
}

bool CertificateKeeper::needsInjection(const Configuration& c, const json& configuration) const {
  for (const json& w : configuration.value("webhooks", json::array())) {
    if (ours(w, settings_) && w["clientConfig"].value("caBundle", "") != c.injected) {
      return true;
    }
  }
  return false;
}

asio::awaitable<void> CertificateKeeper::watchConfiguration(Configuration& c) {
  c.watchPause.emplace(co_await asio::this_coro::executor);
  while (!stopped_) {
    kube::WatchOptions options;
    options.fieldSelector = "metadata.name=" + c.name;
    auto onEvent = [this, &c](const kube::WatchEvent& e) {
      if (stopped_) {
        return false;
      }
      if ((e.type == "ADDED" || e.type == "MODIFIED") && needsInjection(c, e.object) && timer_) {
        timer_->cancel();  // a pass now
      }
      return true;
    };
    Status s = co_await kube_->watch(c.resource, "", options, onEvent,
                                     std::chrono::steady_clock::now() + std::chrono::minutes(6));
    if (!s.ok() && !stopped_) {
      log::debug("Webhook certificates: the configuration watch ended",
                 {{"kind", c.kind}, {"error", s.message()}});
    }
    // A watch that ends (its timeout, an error) is started again after a breath.
    c.watchPause->expires_after(std::chrono::seconds(s.ok() ? 1 : 5));
    boost::system::error_code ec;
    co_await c.watchPause->async_wait(asio::redirect_error(asio::use_awaitable, ec));
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
  for (const auto& c : configurations_) {
    asio::co_spawn(executor, watchConfiguration(*c),
                   net::LogFailure{"webhook configuration watch"});
  }
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
  for (const auto& c : configurations_) {
    if (c->watchPause) {
      c->watchPause->cancel();
    }
  }
}

}  // namespace hm::webhookcert
