#include "harbormaster/signaturegate/signature_gate.h"

#include <algorithm>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

#include "discovery.h"
#include "harbormaster/net/flight.h"
#include "harbormaster/sigstore/verify.h"

namespace hm::signaturegate {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using policy::SignatureFacts;
using Clock = std::chrono::steady_clock;
using FactsPtr = std::shared_ptr<const SignatureFacts>;
using Flight = net::Flight<FactsPtr>;

// An attestor ready to verify with: keys parsed, trusted root parsed.
struct CompiledAttestor {
  std::string name;
  sigstore::SignerPolicy signers;
  sigstore::TrustedRoot root;
};

struct CompiledRule {
  std::vector<CompiledAttestor> attestors;
  std::vector<std::string> predicateTypes;
  size_t count = 1;
};

// The loader validated every key and root, so an error here means the rule was built by hand;
// it becomes the attestor's reason rather than a crash.
std::shared_ptr<const CompiledRule> compile(const policy::SignatureRule& rule,
                                            std::vector<std::string>& errors) {
  auto out = std::make_shared<CompiledRule>();
  out->predicateTypes = rule.predicateTypes;
  out->count = static_cast<size_t>(std::max(rule.count, 1));
  for (const policy::Attestor& a : rule.attestors) {
    CompiledAttestor c;
    c.name = a.name;
    c.signers.requireTlog = rule.tlog == policy::TlogRule::kRequire;
    std::string error;
    for (const std::string& pem : a.keys) {
      auto key = sigstore::PublicKey::fromPem(pem);
      if (key.ok()) {
        c.signers.keys.push_back(std::move(*key));
      } else {
        error = "a key cannot be used: " + key.status().message();
      }
    }
    for (const policy::KeylessIdentity& id : a.identities) {
      c.signers.identities.push_back({id.issuer, id.subject, id.subjectRegExp});
    }
    if (!a.trustedRoot.empty()) {
      auto root = sigstore::TrustedRoot::parse(a.trustedRoot);
      if (root.ok()) {
        c.root = std::move(*root);
      } else {
        error = "trusted root " + a.trustedRootFile + " cannot be used: " + root.status().message();
      }
    }
    errors.push_back(std::move(error));
    out->attestors.push_back(std::move(c));
  }
  return out;
}

bool accepts(const CompiledRule& rule, const std::string& predicateType) {
  return std::find(rule.predicateTypes.begin(), rule.predicateTypes.end(), predicateType) !=
         rule.predicateTypes.end();
}

Status verifyCandidate(const Candidate& c, const CompiledAttestor& a, const CompiledRule& rule,
                       const std::string& digest, sigstore::WallTime now, std::string& signer) {
  StatusOr<sigstore::Verified> v = internalError("unset");
  if (c.isBundle) {
    auto artifact = sigstore::Artifact::fromDigest(digest);
    if (!artifact.ok()) {
      return artifact.status();
    }
    v = sigstore::verifyBundle(c.bundle, *artifact, a.signers, a.root, now);
    if (v.ok() && !v->predicateType.empty() && !accepts(rule, v->predicateType)) {
      return failedPrecondition("a signature by " + v->signer + " attests \"" + v->predicateType +
                                "\", which spec.signatures.predicateTypes does not count");
    }
  } else {
    v = sigstore::verifyLegacyLayer(c.legacy, digest, a.signers, a.root, now);
  }
  if (!v.ok()) {
    return v.status();
  }
  signer = v->signer;
  return okStatus();
}

// Verified by any candidate; otherwise the most telling reason: someone else's signature
// (PermissionDenied) says least, so any other failure is reported first.
policy::AttestorVerdict judgeAttestor(const CompiledAttestor& a, const std::string& compileError,
                                      const CompiledRule& rule,
                                      const std::vector<Candidate>& candidates,
                                      const std::string& digest, sigstore::WallTime now) {
  policy::AttestorVerdict verdict{a.name, false, "", ""};
  if (!compileError.empty()) {
    verdict.reason = compileError;
    return verdict;
  }
  if (candidates.empty()) {
    verdict.reason = "no signature found";
    return verdict;
  }
  std::string foreign;
  for (const Candidate& c : candidates) {
    Status s = verifyCandidate(c, a, rule, digest, now, verdict.signer);
    if (s.ok()) {
      verdict.verified = true;
      return verdict;
    }
    if (s.code() != StatusCode::kPermissionDenied && verdict.reason.empty()) {
      verdict.reason = s.message();
    } else if (foreign.empty()) {
      foreign = s.message();
    }
  }
  if (verdict.reason.empty()) {
    verdict.reason = foreign;
  }
  return verdict;
}

}  // namespace

struct SignatureGate::State {
  struct Entry {
    FactsPtr facts;
    Clock::time_point expires;
    std::list<std::string>::iterator lru;
  };
  struct Compiled {
    std::shared_ptr<const CompiledRule> rule;
    std::vector<std::string> errors;
  };

  std::shared_ptr<registry::Client> registry;
  Options options;
  Observer observer;

  std::mutex mu;
  std::unordered_map<std::string, Entry> entries;
  std::list<std::string> lru;  // most recently used first
  std::unordered_map<std::string, std::shared_ptr<Flight>> flights;
  std::unordered_map<std::string, Compiled> compiled;  // by rule fingerprint
  // Tags move, so what they resolve to is kept only as long as an unverified verdict.
  std::unordered_map<std::string, std::pair<std::string, Clock::time_point>> tags;

  std::string cachedTagLocked(const std::string& tag) {
    auto it = tags.find(tag);
    if (it == tags.end() || Clock::now() >= it->second.second) {
      return "";
    }
    return it->second.first;
  }

  void rememberTagLocked(const std::string& tag, const std::string& digest) {
    if (tags.size() >= options.maxEntries) {
      tags.clear();
    }
    tags[tag] = {digest, Clock::now() + options.negativeTtl};
  }

  FactsPtr freshLocked(const std::string& key) {
    auto it = entries.find(key);
    if (it == entries.end()) {
      return nullptr;
    }
    if (Clock::now() >= it->second.expires) {
      lru.erase(it->second.lru);
      entries.erase(it);
      return nullptr;
    }
    lru.splice(lru.begin(), lru, it->second.lru);
    return it->second.facts;
  }

  void storeLocked(const std::string& key, const FactsPtr& facts, bool satisfied) {
    if (facts->source == SignatureFacts::Source::kUnreachable) {
      return;  // the next review asks again
    }
    auto ttl = satisfied ? options.positiveTtl : options.negativeTtl;
    if (auto it = entries.find(key); it != entries.end()) {
      lru.erase(it->second.lru);
      entries.erase(it);
    }
    lru.push_front(key);
    entries[key] = Entry{facts, Clock::now() + ttl, lru.begin()};
    while (entries.size() > options.maxEntries && !lru.empty()) {
      entries.erase(lru.back());
      lru.pop_back();
    }
  }

  Compiled compiledLocked(const policy::SignatureRule& rule) {
    auto it = compiled.find(rule.fingerprint);
    if (it != compiled.end()) {
      return it->second;
    }
    if (compiled.size() >= 256) {
      compiled.clear();  // rules change only with the policy; old ones are garbage
    }
    Compiled c;
    c.rule = compile(rule, c.errors);
    return compiled[rule.fingerprint] = c;
  }

  awaitable<FactsPtr> lookUp(imageref::Reference sigRepo, std::string digest, Compiled rule,
                             Deadline deadline) {
    auto facts = std::make_shared<SignatureFacts>();
    facts->digest = digest;
    facts->repository = sigRepo.name();
    auto candidates =
        co_await discoverSignatures(*registry, sigRepo, digest, options.maxCandidates, deadline);
    if (!candidates.ok()) {
      facts->source = SignatureFacts::Source::kUnreachable;
      facts->error =
          "looking up signatures in " + facts->repository + ": " + candidates.status().message();
      co_return facts;
    }
    facts->signaturesFound = candidates->size();
    const auto now = std::chrono::system_clock::now();
    for (size_t i = 0; i < rule.rule->attestors.size(); ++i) {
      facts->attestors.push_back(judgeAttestor(rule.rule->attestors[i], rule.errors[i], *rule.rule,
                                               *candidates, digest, now));
    }
    co_return facts;
  }
};

SignatureGate::SignatureGate(std::shared_ptr<registry::Client> registry, Options options,
                             Observer observer)
    : state_(std::make_shared<State>()) {
  state_->registry = std::move(registry);
  state_->options = options;
  state_->observer = std::move(observer);
}

SignatureGate::~SignatureGate() = default;

size_t SignatureGate::cachedVerdicts() const {
  std::lock_guard lock(state_->mu);
  return state_->entries.size();
}

awaitable<FactsPtr> SignatureGate::facts(imageref::Reference ref, const policy::SignatureRule& rule,
                                         Deadline deadline) {
  std::shared_ptr<State> st = state_;
  const auto start = Clock::now();
  auto report = [&](std::string_view outcome) {
    if (st->observer.lookup) {
      st->observer.lookup(outcome, std::chrono::duration<double>(Clock::now() - start).count());
    }
  };
  imageref::Reference sigRepo = ref;
  if (!rule.repository.empty()) {
    auto parsed = imageref::parse(rule.repository);
    if (parsed.ok()) {
      sigRepo = *parsed;
    }
  }
  std::string digest = ref.digest;
  if (digest.empty()) {
    std::lock_guard lock(st->mu);
    digest = st->cachedTagLocked(ref.normalized());
  }
  if (digest.empty()) {
    auto resolved = co_await st->registry->resolveDigest(ref, deadline);
    if (!resolved.ok()) {
      auto f = std::make_shared<SignatureFacts>();
      f->source = SignatureFacts::Source::kUnreachable;
      f->error = "resolving " + ref.familiar() + ": " + resolved.status().message();
      f->repository = sigRepo.name();
      report("unreachable");
      co_return f;
    }
    digest = *resolved;
    std::lock_guard lock(st->mu);
    st->rememberTagLocked(ref.normalized(), digest);
  }
  const std::string key = sigRepo.name() + "@" + digest + "|" + rule.fingerprint;
  std::shared_ptr<Flight> flight;
  bool leader = false;
  State::Compiled compiled;
  {
    std::lock_guard lock(st->mu);
    if (FactsPtr cached = st->freshLocked(key)) {
      if (st->observer.cacheLookup) {
        st->observer.cacheLookup(true);
      }
      co_return cached;
    }
    auto& slot = st->flights[key];
    if (!slot) {
      slot = std::make_shared<Flight>();
      leader = true;
      compiled = st->compiledLocked(rule);
    }
    flight = slot;
  }
  if (st->observer.cacheLookup) {
    st->observer.cacheLookup(false);
  }
  if (!leader) {
    co_await flight->wait();
    co_return flight->result();
  }
  FactsPtr result = co_await st->lookUp(sigRepo, digest, compiled, deadline);
  const size_t verified =
      std::count_if(result->attestors.begin(), result->attestors.end(),
                    [](const policy::AttestorVerdict& a) { return a.verified; });
  const bool satisfied = verified >= compiled.rule->count;
  {
    std::lock_guard lock(st->mu);
    st->storeLocked(key, result, satisfied);
    st->flights.erase(key);
  }
  flight->finish(result);
  report(result->source == SignatureFacts::Source::kUnreachable ? "unreachable"
         : satisfied                                            ? "verified"
                                                                : "unverified");
  co_return result;
}

awaitable<void> attachSignatureFacts(SignatureGate* gate, const policy::PolicySet& policies,
                                     std::string ns, std::vector<policy::ImageUse>& images,
                                     Deadline deadline) {
  const bool anySignatures =
      std::any_of(policies.policies.begin(), policies.policies.end(),
                  [](const policy::ImagePolicy& p) { return p.signatures.has_value(); });
  if (gate == nullptr || !anySignatures) {
    co_return;
  }
  struct Lookup {
    imageref::Reference ref;
    const policy::SignatureRule* rule = nullptr;
    FactsPtr facts;
  };
  std::map<std::string, Lookup> lookups;  // by image text and rule: a Pod often repeats an image
  for (const policy::ImageUse& use : images) {
    auto ref = imageref::parse(use.image);
    if (!ref.ok()) {
      continue;  // evaluate() reports an unparseable reference itself
    }
    if (!use.resolvedDigest.empty() && !ref->isPinned()) {
      ref->digest = use.resolvedDigest;  // judge what the scan judged
    }
    for (const policy::SignatureRule* rule : policy::signatureRules(policies, ns, use)) {
      lookups[use.image + "|" + rule->fingerprint] = Lookup{*ref, rule, nullptr};
    }
  }
  std::vector<std::function<awaitable<void>()>> tasks;
  for (auto& [_, l] : lookups) {
    Lookup* slot = &l;
    tasks.push_back([gate, slot, deadline]() -> awaitable<void> {
      auto lookup = gate->facts(slot->ref, *slot->rule, deadline);
      slot->facts = co_await std::move(lookup);
    });
  }
  co_await net::runConcurrently(std::move(tasks));
  for (policy::ImageUse& use : images) {
    for (auto& [key, l] : lookups) {
      if (key.compare(0, use.image.size() + 1, use.image + "|") != 0) {
        continue;
      }
      use.signatures[l.rule->fingerprint] = l.facts;
      if (use.resolvedDigest.empty() && !l.facts->digest.empty() && !l.ref.isPinned()) {
        use.resolvedDigest = l.facts->digest;
      }
    }
  }
}

}  // namespace hm::signaturegate
