#include "harbormaster/webhookcert/keeper.h"

#include <algorithm>
#include <ctime>

namespace hm::webhookcert {
namespace {

// Certificates start a little in the past so a node whose clock runs behind still accepts them.
constexpr std::chrono::minutes kBackdate{5};

bool usable(const pki::KeyedCertificate& c, WallTime now) {
  auto info = pki::inspect(c.certPem);
  return info.ok() && info->isCa && info->notAfter > now &&
         pki::verifyKeyMatches(c.certPem, c.keyPem).ok();
}

StatusOr<pki::KeyedCertificate> newCa(const Settings& s, WallTime now) {
  // A distinct subject per CA keeps old and new apart for clients that pick issuers by name.
  std::string cn = s.serviceName + "." + s.nameSpace + " webhook CA " +
                   std::to_string(std::chrono::system_clock::to_time_t(now));
  return pki::createCa(cn, now - kBackdate, now + s.caValidity);
}

// What must change about the serving certificate; empty when nothing.
std::string servingProblem(const Material& m, const Settings& s, WallTime now) {
  auto info = pki::inspect(m.serving.certPem);
  if (!info.ok() || !pki::verifyKeyMatches(m.serving.certPem, m.serving.keyPem).ok()) {
    return "missing or damaged";
  }
  if (!pki::verifyIssuedBy(m.serving.certPem, m.ca.certPem).ok()) {
    return "signed by another CA";
  }
  auto want = dnsNames(s);
  auto have = info->dnsNames;
  std::sort(want.begin(), want.end());
  std::sort(have.begin(), have.end());
  if (want != have) {
    return "names changed";
  }
  if (info->notAfter - now < s.certValidity / 3) {
    return "due for renewal";
  }
  return "";
}

// The CAs to trust: the signing one, the next one, and earlier ones until they expire (a replica
// may still serve a certificate one of them signed).
std::string trustBundle(const Material& m, WallTime now) {
  std::vector<std::string> seen;
  std::string out;
  auto add = [&](const std::string& pem) {
    auto info = pki::inspect(pem);
    if (!info.ok() || info->notAfter <= now ||
        std::find(seen.begin(), seen.end(), info->fingerprint) != seen.end()) {
      return;
    }
    seen.push_back(info->fingerprint);
    out += pem;
    if (!out.empty() && out.back() != '\n') {
      out += '\n';
    }
  };
  add(m.ca.certPem);
  if (!m.nextCa.certPem.empty()) {
    add(m.nextCa.certPem);
  }
  // Split the old bundle into single certificates.
  static constexpr std::string_view kEnd = "-----END CERTIFICATE-----";
  size_t from = 0;
  for (size_t at; (at = m.caBundle.find(kEnd, from)) != std::string::npos;) {
    size_t begin = m.caBundle.find("-----BEGIN CERTIFICATE-----", from);
    if (begin == std::string::npos || begin > at) {
      break;
    }
    add(m.caBundle.substr(begin, at + kEnd.size() - begin) + "\n");
    from = at + kEnd.size();
  }
  return out;
}

}  // namespace

Status validate(const Settings& s) {
  if (s.nameSpace.empty() || s.secretName.empty() || s.serviceName.empty() ||
      s.webhookConfiguration.empty()) {
    return invalidArgument(
        "self-managed certificates need the namespace, Secret, Service and webhook "
        "configuration names");
  }
  if (s.certFile.empty() || s.keyFile.empty()) {
    return invalidArgument(
        "self-managed certificates need --tls-cert and --tls-key files to write");
  }
  if (s.caValidity.count() <= 0 || s.certValidity.count() <= 0) {
    return invalidArgument("certificate validities must be positive");
  }
  if (s.certValidity > s.caValidity / 3) {
    return invalidArgument(
        "the serving certificate validity must be at most a third of the CA validity (the CA is "
        "replaced when a third of its life is left)");
  }
  if (s.caPropagation * 10 > s.caValidity) {
    return invalidArgument("the CA propagation delay must be under a tenth of the CA validity");
  }
  return okStatus();
}

std::vector<std::string> dnsNames(const Settings& s) {
  std::string svc = s.serviceName, ns = s.nameSpace;
  return {svc, svc + "." + ns, svc + "." + ns + ".svc", svc + "." + ns + ".svc.cluster.local"};
}

StatusOr<Plan> plan(const std::optional<Material>& current, const Settings& s, WallTime now,
                    bool nextCaInWebhook) {
  Plan p;
  Material& m = p.material;
  if (current) {
    m = *current;
  }
  if (!usable(m.ca, now)) {
    auto ca = newCa(s, now);
    if (!ca.ok()) {
      return ca.status();
    }
    m = Material{};
    m.ca = std::move(*ca);
    p.changes.push_back(current ? "replaced a missing, damaged or expired CA" : "created a CA");
  }
  if (!m.nextCa.certPem.empty() && !usable(m.nextCa, now)) {
    m.nextCa = {};
    m.nextCaPublishedAt.reset();
    p.changes.push_back("dropped a damaged next CA");
  }
  auto caInfo = pki::inspect(m.ca.certPem);
  if (!caInfo.ok()) {
    return caInfo.status();
  }
  auto caLeft = caInfo->notAfter - now;
  if (!m.nextCa.certPem.empty()) {
    if (nextCaInWebhook && !m.nextCaPublishedAt) {
      m.nextCaPublishedAt = now;
      p.changes.push_back("the webhook configuration trusts the next CA");
    }
    // Without a webhook configuration nobody calls us; do not let the old CA run out waiting.
    bool propagated = m.nextCaPublishedAt && now - *m.nextCaPublishedAt >= s.caPropagation;
    if (propagated || caLeft < s.caValidity / 10) {
      m.ca = std::move(m.nextCa);
      m.nextCa = {};
      m.nextCaPublishedAt.reset();
      p.changes.push_back("the next CA now signs serving certificates");
      caInfo = pki::inspect(m.ca.certPem);
      if (!caInfo.ok()) {
        return caInfo.status();
      }
    }
  } else if (caLeft < s.caValidity / 3) {
    auto next = newCa(s, now);
    if (!next.ok()) {
      return next.status();
    }
    m.nextCa = std::move(*next);
    m.nextCaPublishedAt.reset();
    p.changes.push_back("created the next CA (the current one has a third of its life left)");
  }
  std::string bundle = trustBundle(m, now);
  if (bundle != m.caBundle) {
    m.caBundle = std::move(bundle);
    p.changes.push_back("updated the CA bundle");
  }
  if (std::string why = servingProblem(m, s, now); !why.empty()) {
    // Never past the CA: a certificate must not outlive the CA the bundle will drop.
    WallTime notAfter = std::min(now + s.certValidity, caInfo->notAfter);
    auto serving = pki::issueServing(m.ca, dnsNames(s), now - kBackdate, notAfter);
    if (!serving.ok()) {
      return serving.status();
    }
    m.serving = std::move(*serving);
    p.changes.push_back("issued a serving certificate (" + why + ")");
  }
  return p;
}

}  // namespace hm::webhookcert
