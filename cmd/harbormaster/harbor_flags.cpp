#include "harbor_flags.h"

#include <cstdlib>

#include "harbormaster/base/files.h"
#include "sources.h"

namespace hm::cli {

const std::set<std::string> kHarborFlags = {"harbor-url", "harbor-ca", "harbor-credentials-file",
                                            "registry-host", "harbor-rate-limit"};

const std::set<std::string> kRegistryFlags = {"plain-http-registry", "digest-lookup-budget",
                                              "tag-digest-ttl", "max-image-lookups-per-review",
                                              "max-image-lookups-in-flight"};

std::set<std::string> engineFlags() {
  std::set<std::string> names = kHarborFlags;
  names.insert(kRegistryFlags.begin(), kRegistryFlags.end());
  for (const auto& name : sourceFlags()) {
    names.insert(name);
  }
  return names;
}

StatusOr<HarborFlags> parseHarborFlags(const Flags& flags) {
  HarborFlags out;
  out.sources = sourceModules();
  for (const auto& module : out.sources) {
    for (const auto& f : module->flags()) {
      if (flags.has(f.name)) {
        if (Status st = f.set(flags.get(f.name)); !st.ok()) {
          return st.withContext("--" + f.name);
        }
      }
    }
  }
  if (flags.has("tag-digest-ttl")) {
    auto d = parseDuration("tag-digest-ttl", flags.get("tag-digest-ttl"));
    if (!d.ok()) {
      return d.status();
    }
    out.digests.tagTtl = std::chrono::duration_cast<std::chrono::seconds>(*d);
  }
  if (flags.has("digest-lookup-budget")) {
    auto d = parseDuration("digest-lookup-budget", flags.get("digest-lookup-budget"));
    if (!d.ok()) {
      return d.status();
    }
    out.digestLookupBudget = *d;
  }
  for (auto [name, target] : {std::pair<const char*, size_t*>{"max-image-lookups-per-review",
                                                              &out.maxImageLookupsPerReview},
                              {"max-image-lookups-in-flight", &out.maxImageLookupsInFlight}}) {
    if (flags.has(name)) {
      auto n = parseCount(name, flags.get(name), 100'000);
      if (!n.ok()) {
        return n.status();
      }
      *target = *n;
    }
  }
  if (auto it = flags.values.find("plain-http-registry"); it != flags.values.end()) {
    out.plainHttpRegistries = it->second;
  }
  if (!flags.has("harbor-url")) {
    for (const char* needsUrl :
         {"harbor-ca", "harbor-credentials-file", "registry-host", "harbor-rate-limit"}) {
      if (flags.has(needsUrl)) {
        return invalidArgument(std::string("--") + needsUrl + " needs --harbor-url");
      }
    }
    return out;
  }
  review::HarborConnection c;
  c.url = flags.get("harbor-url");
  c.caFile = flags.get("harbor-ca");
  if (auto it = flags.values.find("registry-host"); it != flags.values.end()) {
    c.registryHosts = it->second;
  }
  if (flags.has("harbor-rate-limit")) {
    // Requests per second to Harbor's API, per process and connection (the compliance engine
    // and the operator's controllers each have one).
    auto n = parseCount("harbor-rate-limit", flags.get("harbor-rate-limit"), 100'000);
    if (!n.ok()) {
      return n.status();
    }
    c.requestsPerSecond = static_cast<double>(*n);
  }
  if (flags.has("harbor-credentials-file")) {
    const std::string path = flags.get("harbor-credentials-file");
    auto text = readFile(path, 64 * 1024);
    if (!text.ok()) {
      return text.status().withContext("--harbor-credentials-file");
    }
    std::string line = text->substr(0, text->find('\n'));
    if (!line.empty() && line.back() == '\r') {
      line.pop_back();
    }
    size_t colon = line.find(':');
    if (colon == std::string::npos || colon == 0) {
      // Never echo the file: it holds a secret.
      return invalidArgument("--harbor-credentials-file " + path +
                             ": the first line must be username:password");
    }
    c.username = line.substr(0, colon);
    c.password = line.substr(colon + 1);
  } else {
    const char* user = std::getenv("HARBOR_USERNAME");
    const char* password = std::getenv("HARBOR_PASSWORD");
    c.username = user ? user : "";
    c.password = password ? password : "";
  }
  out.connection = std::move(c);
  return out;
}

review::EngineOptions HarborFlags::engineOptions() const {
  review::EngineOptions o;
  o.harbor = connection;
  o.plainHttpRegistries = plainHttpRegistries;
  o.sources = sources;
  o.settings.digestFixBudget = digestLookupBudget;
  o.settings.maxImageLookupsPerReview = maxImageLookupsPerReview;
  o.settings.maxImageLookupsInFlight = maxImageLookupsInFlight;
  o.digests = digests;
  return o;
}

}  // namespace hm::cli
