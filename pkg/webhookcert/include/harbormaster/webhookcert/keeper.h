// Self-managed webhook certificates: a CA and a serving certificate kept in one Secret, the CA
// bundle injected into the webhook's ValidatingWebhookConfiguration (and its
// MutatingWebhookConfiguration, when there is one), and both rotated well before
// they expire without a moment in which the API server would refuse the serving certificate.
//
// How a rotation stays safe: the API server trusts whatever the configuration's caBundle lists.
// A new CA is first added to the bundle next to the old one; only after the bundle has held it
// for `caPropagation` does it start signing serving certificates; the old CA stays in the bundle
// until it expires, and no serving certificate outlives the CA that signed it. So every replica,
// whether it still serves the old certificate or already the new one, is trusted throughout.
//
// Every replica runs a keeper. They agree through the Secret's resourceVersion: one wins a
// write, the others see a conflict and re-read. Each writes the Secret's serving pair to its
// own files, which the HTTPS server reloads.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>: every header
// that may bring it in includes <utility> first, so include order never matters.
#include <utility>

#include "harbormaster/base/clock.h"
#include "harbormaster/kube/client.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/pki/pki.h"

namespace hm::webhookcert {

using WallTime = std::chrono::system_clock::time_point;

struct Settings {
  std::string nameSpace;             // of the Secret and the Service
  std::string secretName;            // holds the CA, the bundle and the serving pair
  std::string serviceName;           // the certificate is for <service>.<namespace>.svc
  std::string webhookConfiguration;  // ValidatingWebhookConfiguration whose caBundle we keep
  // MutatingWebhookConfiguration whose caBundle we keep too; empty: none. A new CA signs only
  // once both hold it; one that does not exist (yet) gets the whole bundle when it appears.
  std::string mutatingWebhookConfiguration;
  std::chrono::seconds caValidity{365 * 24 * 3600};
  std::chrono::seconds certValidity{90 * 24 * 3600};
  // How long the bundle must hold a new CA before it signs anything: API servers pick up
  // webhook configuration changes from a watch, normally within a second.
  std::chrono::seconds caPropagation{60};
  std::string certFile;  // where the serving pair goes for the HTTPS server
  std::string keyFile;
};

// A user-facing error for settings that cannot work (e.g. a serving certificate longer than a
// third of the CA's life would be cut short at every CA rotation).
Status validate(const Settings& settings);
// <service>, <service>.<ns>, <service>.<ns>.svc, <service>.<ns>.svc.cluster.local.
std::vector<std::string> dnsNames(const Settings& settings);

// What the Secret holds.
struct Material {
  pki::KeyedCertificate ca;       // signs serving certificates
  pki::KeyedCertificate nextCa;   // during a CA rotation: in the bundle, not yet signing
  std::string caBundle;           // every CA the API server should trust, PEM
  pki::KeyedCertificate serving;  // tls.crt / tls.key
  std::optional<WallTime> nextCaPublishedAt;  // when the bundle was first seen holding nextCa
};

struct Plan {
  Material material;
  std::vector<std::string> changes;  // empty: the Secret is fine as it is
};

// The next state of the Secret, as a pure function of the current one and the clock;
// `nextCaInWebhook` says whether the webhook configuration's bundle already holds nextCa.
StatusOr<Plan> plan(const std::optional<Material>& current, const Settings& settings, WallTime now,
                    bool nextCaInWebhook);

class CertificateKeeper {
 public:
  struct Observer {
    // After each pass that found a usable serving certificate: its expiry.
    std::function<void(WallTime servingNotAfter)> synced;
    std::function<void(const Status&)> failed;
  };

  // `clock` decides when certificates rotate (plan() gets its wall time).
  CertificateKeeper(std::shared_ptr<kube::Client> kube, Settings settings, Observer observer = {},
                    const Clock& clock = Clock::system());

  // One pass: read (or create) the Secret, rotate what is due, keep the webhook configuration's
  // caBundle, write the serving pair to the files. OK once the files hold a usable pair, even
  // while the webhook configuration does not exist yet.
  boost::asio::awaitable<Status> sync(kube::Deadline deadline);
  // A pass every `interval`, and every `urgentInterval` while a rotation or an injection is
  // pending, until stop(). The webhook configuration is watched as well: a caBundle someone
  // blanked or replaced (a `kubectl replace`, a GitOps sync) is restored at once.
  boost::asio::awaitable<void> run(std::chrono::milliseconds interval,
                                   std::chrono::milliseconds urgentInterval);
  void stop();

 private:
  // One webhook configuration whose caBundle the keeper keeps.
  struct Configuration {
    kube::Resource resource;
    std::string kind;  // for messages: ValidatingWebhookConfiguration, …
    std::string name;
    bool required = true;  // a missing one keeps a new CA from signing (the validating one)
    std::string injected;  // the base64 bundle the last pass left in it
    bool warnedMissing = false;
    std::optional<boost::asio::steady_timer> watchPause;
  };

  boost::asio::awaitable<Status> syncOnce(kube::Deadline deadline);
  boost::asio::awaitable<Status> inject(Configuration& c, const std::string& bundle,
                                        nlohmann::json configuration, kube::Deadline deadline);
  Status writeFiles(const pki::KeyedCertificate& serving);
  boost::asio::awaitable<void> watchConfiguration(Configuration& c);
  // Whether a configuration from the watch lacks the bundle we last injected.
  bool needsInjection(const Configuration& c, const nlohmann::json& configuration) const;

  std::shared_ptr<kube::Client> kube_;
  Settings settings_;
  Observer observer_;
  const Clock* clock_;
  std::optional<boost::asio::steady_timer> timer_;
  std::vector<std::unique_ptr<Configuration>> configurations_;
  bool stopped_ = false;
  bool urgent_ = true;  // another pass soon: something is still on its way
};

}  // namespace hm::webhookcert
