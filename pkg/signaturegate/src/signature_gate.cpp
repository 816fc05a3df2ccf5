#include "harbormaster/signaturegate/signature_gate.h"

#include <algorithm>
#include <list>
#include <map>
#include <mutex>
#include <unordered_map>

#include "discovery.h"
#include "harbormaster/facts/fact_cache.h"
#include "harbormaster/sigstore/verify.h"

namespace hm::signaturegate {
namespace {

namespace asio = boost::asio;
using asio::awaitable;
using policy::SignatureFacts;
using Clock = std::chrono::steady_clock;
using FactsPtr = std::shared_ptr<const SignatureFacts>;

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
      c.signers.identities.push_back({id.issuer, id.subject, id.subjectPattern});
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
  struct Compiled {
    std::shared_ptr<const CompiledRule> rule;
    std::vector<std::string> errors;
  };

  State(std::shared_ptr<registry::Client> r, Options o, Observer obs, const hm::Clock& clock)
      : registry(std::move(r)),
        options(o),
        observer(std::move(obs)),
        clock(&clock),
        verdicts({o.positiveTtl, o.negativeTtl, std::chrono::seconds(0), o.maxEntries}, clock) {}

  std::shared_ptr<registry::Client> registry;
  Options options;
  Observer observer;
  const hm::Clock* clock;  // certificate validity is judged at its time
  facts::FactCache<SignatureFacts> verdicts;

  std::mutex mu;
  std::unordered_map<std::string, Compiled> compiled;  // by rule fingerprint

  Compiled compiledRule(const policy::SignatureRule& rule) {
    std::lock_guard lock(mu);
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

  void report(std::string_view outcome, Clock::time_point start) {
    if (observer.lookup) {
      observer.lookup(outcome, std::chrono::duration<double>(Clock::now() - start).count());
    }
  }

  // A verdict for the cache: satisfying the rule lives positiveTtl. An unreachable registry is
  // an error, never cached.
  awaitable<StatusOr<facts::Looked<SignatureFacts>>> lookUp(imageref::Reference sigRepo,
                                                            std::string digest, Compiled rule,
                                                            Deadline deadline) {
    const auto start = Clock::now();
    auto candidates =
        co_await discoverSignatures(*registry, sigRepo, digest, options.maxCandidates, deadline);
    if (!candidates.ok()) {
      report("unreachable", start);
      co_return candidates.status();
    }
    auto facts = std::make_shared<SignatureFacts>();
    facts->digest = digest;
    facts->repository = sigRepo.name();
    facts->signaturesFound = candidates->size();
    const auto now = clock->wallNow();
    for (size_t i = 0; i < rule.rule->attestors.size(); ++i) {
      facts->attestors.push_back(judgeAttestor(rule.rule->attestors[i], rule.errors[i], *rule.rule,
                                               *candidates, digest, now));
    }
    const size_t verified =
        std::count_if(facts->attestors.begin(), facts->attestors.end(),
                      [](const policy::AttestorVerdict& a) { return a.verified; });
    const bool satisfied = verified >= rule.rule->count;
    report(satisfied ? "verified" : "unverified", start);
    co_return facts::Looked<SignatureFacts>{facts, satisfied};
  }
};

SignatureGate::SignatureGate(std::shared_ptr<registry::Client> registry, Options options,
                             Observer observer, const hm::Clock& clock)
    : state_(std::make_shared<State>(std::move(registry), options, std::move(observer), clock)) {}

SignatureGate::~SignatureGate() = default;

size_t SignatureGate::cachedVerdicts() const {
  return state_->verdicts.size();
}

namespace {

FactsPtr unreachable(const std::string& repository, const std::string& digest,
                     const std::string& error) {
  auto f = std::make_shared<SignatureFacts>();
  f->source = SignatureFacts::Source::kUnreachable;
  f->error = error;
  f->repository = repository;
  f->digest = digest;
  return f;
}

// Where the rule's signatures live: beside the image, or in spec.signatures.repository.
imageref::Reference signatureRepository(const imageref::Reference& ref,
                                        const policy::SignatureRule& rule) {
  if (!rule.repository.empty()) {
    auto parsed = imageref::parse(rule.repository);
    if (parsed.ok()) {
      return *parsed;
    }
  }
  return ref;
}

std::string verdictKey(const imageref::Reference& sigRepo, const std::string& digest,
                       const policy::SignatureRule& rule) {
  return sigRepo.name() + "@" + digest + "|" + rule.fingerprint;
}

}  // namespace

FactsPtr SignatureGate::cached(const imageref::Reference& pinned,
                               const policy::SignatureRule& rule) {
  if (!pinned.isPinned()) {
    return nullptr;
  }
  FactsPtr hit =
      state_->verdicts.peek(verdictKey(signatureRepository(pinned, rule), pinned.digest, rule));
  if (hit && state_->observer.cacheLookup) {
    state_->observer.cacheLookup(true);
  }
  return hit;
}

awaitable<FactsPtr> SignatureGate::facts(imageref::Reference ref, const policy::SignatureRule& rule,
                                         Deadline deadline) {
  std::shared_ptr<State> st = state_;
  const imageref::Reference sigRepo = signatureRepository(ref, rule);
  std::string digest = ref.digest;
  if (digest.empty()) {
    auto resolved = co_await st->registry->resolveDigest(ref, deadline);
    if (!resolved.ok()) {
      st->report("unreachable", Clock::now());
      co_return unreachable(sigRepo.name(), "",
                            "resolving " + ref.familiar() + ": " + resolved.status().message());
    }
    digest = *resolved;
  }
  const std::string key = verdictKey(sigRepo, digest, rule);
  State::Compiled compiled = st->compiledRule(rule);
  // Named first, awaited after: GCC 12 destroys temporaries inside a co_await expression twice.
  facts::FactCache<SignatureFacts>::Lookup lookup = [st, sigRepo, digest, compiled, deadline] {
    return st->lookUp(sigRepo, digest, compiled, deadline);
  };
  auto call = st->verdicts.get(key, deadline, std::move(lookup));
  auto got = co_await std::move(call);
  if (st->observer.cacheLookup) {
    st->observer.cacheLookup(got.hit);
  }
  if (got.status.ok()) {
    co_return got.value;
  }
  co_return unreachable(sigRepo.name(), digest,
                        "looking up signatures in " + sigRepo.name() + ": " + got.status.message());
}

namespace {

// One image's lookup under one rule.
class SignatureLookup final : public facts::Lookup {
 public:
  SignatureLookup(std::shared_ptr<SignatureGate> gate, imageref::Reference ref,
                  const policy::SignatureRule* rule,
                  std::shared_ptr<const policy::PolicySet> policies)
      : gate_(std::move(gate)), ref_(std::move(ref)), rule_(rule), policies_(std::move(policies)) {}

  awaitable<facts::Attach> run(imageref::Reference pinned, facts::Deadline deadline) override {
    FactsPtr f = co_await gate_->facts(std::move(pinned), *rule_, deadline);
    co_return attach(f);
  }

  std::optional<facts::Attach> cached(const imageref::Reference& pinned) override {
    if (FactsPtr f = gate_->cached(pinned, *rule_)) {
      return attach(f);
    }
    return std::nullopt;
  }

  facts::Attach unfinished(const Status& why) const override {
    const std::string repo = rule_->repository.empty() ? ref_.name() : rule_->repository;
    return attach(unreachable(repo, "", why.message()));
  }

 private:
  facts::Attach attach(FactsPtr f) const {
    return [f, fingerprint = rule_->fingerprint](policy::ImageUse& use) {
      use.signatures[fingerprint] = f;
    };
  }

  std::shared_ptr<SignatureGate> gate_;
  imageref::Reference ref_;
  const policy::SignatureRule* rule_;                  // into *policies_
  std::shared_ptr<const policy::PolicySet> policies_;  // keeps rule_ alive
};

class SignatureSource final : public facts::Source {
 public:
  explicit SignatureSource(std::shared_ptr<SignatureGate> gate) : gate_(std::move(gate)) {}

  std::string_view name() const override { return "signatures"; }

  std::vector<std::shared_ptr<facts::Lookup>> plan(const facts::ImageQuery& q) override {
    std::vector<std::shared_ptr<facts::Lookup>> out;
    for (const policy::SignatureRule* rule : policy::signatureRules(q.image)) {
      out.push_back(std::make_shared<SignatureLookup>(gate_, *q.image.ref, rule, q.policies));
    }
    return out;
  }

 private:
  std::shared_ptr<SignatureGate> gate_;
};

}  // namespace

std::shared_ptr<facts::Source> makeSignatureSource(std::shared_ptr<SignatureGate> gate) {
  return std::make_shared<SignatureSource>(std::move(gate));
}

}  // namespace hm::signaturegate
