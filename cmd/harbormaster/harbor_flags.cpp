#include "harbor_flags.h"

#include <algorithm>
#include <cstdlib>

#include "harbormaster/base/files.h"
#include "sources.h"

namespace hm::cli {

namespace {

std::set<std::string> namesOf(const std::vector<Flag>& flags) {
  std::set<std::string> out;
  for (const Flag& f : flags) {
    out.insert(f.name);
  }
  return out;
}

}  // namespace

std::vector<Flag> harborFlags() {
  return {
      {"harbor-url", "URL",
       "Harbor's address (https://harbor.example.com): tags resolve through it and scans are "
       "read from it"},
      {"harbor-ca", "FILE", "PEM bundle Harbor's certificate is verified against"},
      {"harbor-credentials-file", "PATH",
       "first line \"username:password\", or a mounted Secret's directory with username and "
       "password files (re-read when they change); else HARBOR_USERNAME and HARBOR_PASSWORD"},
      {"registry-host", "HOST",
       "another name images use for Harbor's registry (the URL's host always counts)", "", "",
       true},
      {"harbor-rate-limit", "N", "at most N requests per second to Harbor's API (off when unset)"},
  };
}

std::vector<Flag> registryFlags() {
  const review::EngineSettings engine;
  return {
      {"plain-http-registry", "HOST", "a registry reached without TLS (local test registries only)",
       "", "", true},
      {"digest-lookup-budget", "DURATION",
       "how long a review waits for a tag's digest to name it in a fix",
       formatDuration(HarborFlags{}.digestLookupBudget)},
      {"tag-digest-ttl", "DURATION", "how long a tag's resolved digest is reused",
       formatDuration(review::DigestOptions{}.tagTtl)},
      {"max-image-lookups-per-review", "N",
       "distinct images one review looks up; the rest are judged as not checked",
       std::to_string(engine.maxImageLookupsPerReview)},
      {"max-image-lookups-in-flight", "N",
       "images looked up at once across reviews; past it a lookup is refused, not queued",
       std::to_string(engine.maxImageLookupsInFlight)},
  };
}

const std::set<std::string> kHarborFlags = namesOf(harborFlags());
const std::set<std::string> kRegistryFlags = namesOf(registryFlags());

FlagSpec& addEngineFlags(FlagSpec& spec) {
  spec.add("Harbor", harborFlags());
  spec.add("Registries", registryFlags());
  std::vector<Flag> sources;
  for (const auto& module : sourceModules()) {
    for (const auto& f : module->flags()) {
      sources.push_back(Flag{f.name, "VALUE", f.help});
    }
  }
  return spec.add("Fact sources", std::move(sources));
}

std::set<std::string> engineFlags() {
  FlagSpec spec;
  return addEngineFlags(spec).names();
}

HarborEnvironment harborEnvironment() {
  auto get = [](const char* name) {
    const char* v = std::getenv(name);
    return std::string(v != nullptr ? v : "");
  };
  return {get("HARBOR_URL"), get("HARBOR_HOST"), get("HARBOR_USERNAME"), get("HARBOR_PASSWORD")};
}

std::vector<std::string> withHarborEnvironment(std::vector<std::string> args, const Flags& flags,
                                               const HarborEnvironment& env) {
  if (flags.has("harbor-url") || env.url.empty()) {
    return args;
  }
  // Inserted before any "--", where they are still flags.
  auto at = std::find(args.begin(), args.end(), std::string("--"));
  at = args.insert(at, "--harbor-url=" + env.url) + 1;
  if (!env.host.empty()) {
    args.insert(at, "--registry-host=" + env.host);
  }
  return args;
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
    // Never echo the file in an error: it holds a secret (readCredentials does not).
    auto file = CredentialsFile::open(flags.get("harbor-credentials-file"));
    if (!file.ok()) {
      return file.status().withContext("--harbor-credentials-file");
    }
    const BasicCredentials initial = (*file)->source()->get();
    c.username = initial.username;
    c.password = initial.password;
    c.credentials = (*file)->source();
    out.credentialsFile = std::move(*file);
  } else {
    HarborEnvironment env = harborEnvironment();
    // GitLab writes a robot's "$" as "$$" so its own variable expansion leaves one; a value that
    // reached the job unexpanded still names the robot (Harbor names never hold "$$").
    for (size_t at = env.username.find("$$"); at != std::string::npos;
         at = env.username.find("$$", at + 1)) {
      env.username.erase(at, 1);
    }
    c.username = std::move(env.username);
    c.password = std::move(env.password);
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
