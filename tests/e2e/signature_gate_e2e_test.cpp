// SignatureGate against real registries: Debian's distribution registry (no referrers API, so
// the fallback tag index) and harbor-sim fronting one (Harbor's referrers API), with signatures
// made by OpenSSL keys in cosign's layouts and cosign's own keyless vector.
#include "harbormaster/signaturegate/signature_gate.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "harbormaster/base/files.h"
#include "harbormaster/review/engine.h"
#include "support/async.h"
#include "support/cosign.h"
#include "support/registry_rig.h"

namespace hm::signaturegate {
namespace {

// A keyless identity with its pattern compiled, as the policy loader builds it.
policy::KeylessIdentity identity(const std::string& issuer, const std::string& pattern) {
  auto re = regexp::RegExp::compile(pattern);
  EXPECT_TRUE(re.ok()) << re.status().message();
  return {issuer, "", pattern, re.ok() ? std::optional<regexp::RegExp>(*re) : std::nullopt};
}

namespace asio = boost::asio;
using hm::testing::runOn;
using nlohmann::json;
using policy::SignatureFacts;
using ::testing::HasSubstr;
using ::testing::Not;
using Clock = std::chrono::steady_clock;

const std::string kVectors = std::string(HM_SHARED_DIR) + "/sigstore/vectors/";
const std::string kOciManifest = "application/vnd.oci.image.manifest.v1+json";

Deadline soon() {
  return Clock::now() + std::chrono::seconds(20);
}

imageref::Reference parseRef(const std::string& text) {
  auto r = imageref::parse(text);
  EXPECT_TRUE(r.ok()) << r.status().message();
  return *r;
}

policy::Attestor keyAttestor(const std::string& name, const hm::testing::SigningKey& key) {
  return policy::Attestor{name, {key.publicPem}, "", "", {}};
}

policy::SignatureRule ruleOf(std::vector<policy::Attestor> attestors, int count = 1) {
  policy::SignatureRule rule;
  rule.attestors = std::move(attestors);
  rule.count = count;
  rule.tlog = policy::TlogRule::kSkip;
  rule.fingerprint = "rule";
  // The loader's fingerprint covers the keys; so does this one.
  for (const auto& a : rule.attestors) {
    rule.fingerprint += "|" + a.name + hm::testing::sha256Digest(a.keys.at(0));
  }
  rule.fingerprint += "|" + std::to_string(count);
  return rule;
}

size_t verifiedCount(const SignatureFacts& f) {
  return std::count_if(f.attestors.begin(), f.attestors.end(),
                       [](const policy::AttestorVerdict& a) { return a.verified; });
}

std::string reasonOf(const SignatureFacts& f, const std::string& attestor) {
  for (const auto& a : f.attestors) {
    if (a.attestor == attestor) {
      return a.verified ? "verified by " + a.signer : a.reason;
    }
  }
  return "no such attestor";
}

// Images pushed once per suite; signatures are pushed by each test for its own images.
class SignatureGateTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    rig_ = new hm::testing::RegistryRig();
    keys_ = new hm::testing::TempDir();
    layout_ = new hm::testing::OciLayout();
    for (const char* type : {"p256", "p384", "rsa", "ed25519"}) {
      (*signingKeys_)[type] = hm::testing::makeSigningKey(*keys_, type, type);
    }
    (*signingKeys_)["other"] = hm::testing::makeSigningKey(*keys_, "p256", "other");
  }
  static void TearDownTestSuite() {
    delete layout_;
    delete keys_;
    delete rig_;
    signingKeys_->clear();
  }

  void SetUp() override { gate_ = makeGate(rig_->host()); }

  std::shared_ptr<SignatureGate> makeGate(const std::string& plainHost, Options options = {},
                                          Observer observer = {}) {
    auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
    EXPECT_TRUE(http.ok());
    registry::RegistryOptions ro;
    ro.plainHttpHosts = {plainHost};
    auto reg = registry::Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), ro);
    registry_ = reg;
    return std::make_shared<SignatureGate>(reg, options, std::move(observer));
  }

  // A fresh image in `repo` (unique per seed), pushed with skopeo.
  hm::testing::PushedImage pushImage(const std::string& repo, const std::string& seed) {
    auto img = layout_->addImage(seed, seed);
    layout_->push(seed, rig_->host() + "/" + repo + ":" + seed);
    return img;
  }

  static std::string sigTag(const std::string& digest) {
    return "sha256-" + digest.substr(7) + ".sig";
  }

  void pushLegacy(const std::string& repo, const std::string& digest,
                  const std::vector<hm::testing::LegacySignature>& sigs) {
    auto a = hm::testing::legacySignatureManifest(sigs);
    rig_->pushArtifact(repo, sigTag(digest), a.mediaType, a.manifest, a.blobs);
  }

  hm::testing::LegacySignature legacySig(const std::string& keyName, const std::string& digest) {
    std::string payload = hm::testing::simpleSigningPayload(rig_->host() + "/team/app", digest);
    return {payload, hm::testing::signMessage(key(keyName), payload)};
  }

  // A bundle referrer, and the fallback index cosign writes where there is no referrers API.
  void pushBundleReferrers(const std::string& repo, const hm::testing::PushedImage& img,
                           const std::vector<std::string>& bundles,
                           const std::string& artifactType) {
    json index = {{"schemaVersion", 2},
                  {"mediaType", "application/vnd.oci.image.index.v1+json"},
                  {"manifests", json::array()}};
    for (const std::string& bundle : bundles) {
      auto r = hm::testing::bundleReferrer(bundle, img.digest, kOciManifest, img.manifest.size(),
                                           artifactType);
      const std::string digest = hm::testing::sha256Digest(r.manifest);
      rig_->pushArtifact(repo, digest, r.mediaType, r.manifest, r.blobs);
      index["manifests"].push_back({{"mediaType", r.mediaType},
                                    {"digest", digest},
                                    {"size", r.manifest.size()},
                                    {"artifactType", artifactType}});
    }
    rig_->pushArtifact(repo, "sha256-" + img.digest.substr(7),
                       "application/vnd.oci.image.index.v1+json", index.dump(), {});
  }

  std::shared_ptr<const SignatureFacts> facts(const std::string& image,
                                              const policy::SignatureRule& rule,
                                              SignatureGate* gate = nullptr) {
    return runOn(io_.ioc(), (gate ? gate : gate_.get())->facts(parseRef(image), rule, soon()));
  }

  static const hm::testing::SigningKey& key(const std::string& name) {
    return signingKeys_->at(name);
  }

  static hm::testing::RegistryRig* rig_;
  static hm::testing::TempDir* keys_;
  static hm::testing::OciLayout* layout_;
  static std::map<std::string, hm::testing::SigningKey>* signingKeys_;
  hm::testing::IoThreads io_;
  std::shared_ptr<SignatureGate> gate_;
  std::shared_ptr<registry::Client> registry_;  // the last gate's
};

hm::testing::RegistryRig* SignatureGateTest::rig_ = nullptr;
hm::testing::TempDir* SignatureGateTest::keys_ = nullptr;
hm::testing::OciLayout* SignatureGateTest::layout_ = nullptr;
std::map<std::string, hm::testing::SigningKey>* SignatureGateTest::signingKeys_ =
    new std::map<std::string, hm::testing::SigningKey>();

TEST_F(SignatureGateTest, LegacySignaturesByEveryKeyTypeVerify) {
  for (const char* type : {"p256", "p384", "rsa", "ed25519"}) {
    auto img = pushImage("team/legacy", std::string("legacy-") + type);
    pushLegacy("team/legacy", img.digest, {legacySig(type, img.digest)});
    auto rule = ruleOf({keyAttestor("ci", key(type)), keyAttestor("other", key("other"))});
    auto f = facts(rig_->host() + "/team/legacy@" + img.digest, rule);
    ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
    EXPECT_EQ(f->signaturesFound, 1u);
    EXPECT_EQ(f->digest, img.digest);
    EXPECT_EQ(f->repository, rig_->host() + "/team/legacy");
    EXPECT_THAT(reasonOf(*f, "ci"), HasSubstr("verified by key ")) << type;
    EXPECT_EQ(reasonOf(*f, "other"), "signed by an unknown key") << type;
  }
}

TEST_F(SignatureGateTest, UnsignedWrongKeyOtherDigestAndTamperedPayloadAreRefused) {
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  auto unsigned_ = pushImage("team/deny", "unsigned");
  auto f = facts(rig_->host() + "/team/deny@" + unsigned_.digest, rule);
  EXPECT_EQ(f->source, SignatureFacts::Source::kChecked);
  EXPECT_EQ(f->signaturesFound, 0u);
  EXPECT_EQ(reasonOf(*f, "ci"), "no signature found");

  auto wrongKey = pushImage("team/deny", "wrong-key");
  pushLegacy("team/deny", wrongKey.digest, {legacySig("other", wrongKey.digest)});
  EXPECT_EQ(reasonOf(*facts(rig_->host() + "/team/deny@" + wrongKey.digest, rule), "ci"),
            "signed by an unknown key");

  // A genuine signature of another image, copied beside this one.
  auto first = pushImage("team/deny", "first");
  auto second = pushImage("team/deny", "second");
  pushLegacy("team/deny", second.digest, {legacySig("p256", first.digest)});
  EXPECT_THAT(reasonOf(*facts(rig_->host() + "/team/deny@" + second.digest, rule), "ci"),
              HasSubstr("the signature is for another image (" + first.digest + ")"));

  // The payload changed after signing (the registry stores it under its new digest).
  auto tampered = pushImage("team/deny", "tampered");
  auto sig = legacySig("p256", tampered.digest);
  sig.payload.replace(sig.payload.find("cosign container image signature"), 6, "COSIGN");
  pushLegacy("team/deny", tampered.digest, {sig});
  auto t = facts(rig_->host() + "/team/deny@" + tampered.digest, rule);
  EXPECT_FALSE(t->attestors.at(0).verified);
  EXPECT_EQ(t->signaturesFound, 1u);
}

TEST_F(SignatureGateTest, AnyLayerThatVerifiesCountsAndCountNeedsDistinctAttestors) {
  auto img = pushImage("team/count", "count");
  // One .sig manifest holds every signature, one layer each (cosign appends).
  pushLegacy("team/count", img.digest,
             {legacySig("other", img.digest), legacySig("rsa", img.digest),
              legacySig("ed25519", img.digest)});
  auto two = ruleOf({keyAttestor("build", key("rsa")), keyAttestor("release", key("ed25519")),
                     keyAttestor("audit", key("p384"))},
                    2);
  auto f = facts(rig_->host() + "/team/count@" + img.digest, two);
  EXPECT_EQ(f->signaturesFound, 3u);
  EXPECT_EQ(verifiedCount(*f), 2u);
  EXPECT_EQ(reasonOf(*f, "audit"), "signed by an unknown key");

  auto only = pushImage("team/count", "count-one");
  pushLegacy("team/count", only.digest, {legacySig("rsa", only.digest)});
  auto g = facts(rig_->host() + "/team/count@" + only.digest, two);
  EXPECT_EQ(verifiedCount(*g), 1u);
  EXPECT_EQ(reasonOf(*g, "release"), "signed by an unknown key");
}

TEST_F(SignatureGateTest, BundleReferrersThroughTheFallbackIndexWhateverTheirArtifactType) {
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  // Some cosign releases label bundle referrers with the empty media type (cosign #4422).
  for (const std::string artifactType :
       {"application/vnd.dev.sigstore.bundle.v0.3+json", "application/vnd.oci.empty.v1+json"}) {
    auto img = pushImage("team/bundle", "bundle-" + std::to_string(artifactType.size()));
    pushBundleReferrers("team/bundle", img,
                        {hm::testing::keySignedBundle(key("p256"), img.digest,
                                                      std::string(policy::kCosignSignPredicate))},
                        artifactType);
    auto f = facts(rig_->host() + "/team/bundle@" + img.digest, rule);
    ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
    EXPECT_EQ(f->signaturesFound, 1u) << artifactType;
    EXPECT_TRUE(f->attestors.at(0).verified) << artifactType << ": " << reasonOf(*f, "ci");
  }
}

TEST_F(SignatureGateTest, AFloodOfOtherReferrersIsReadOnlyUpToTheBound) {
  auto img = pushImage("team/flood", "flood");
  json index = {{"schemaVersion", 2},
                {"mediaType", "application/vnd.oci.image.index.v1+json"},
                {"manifests", json::array()}};
  // Two SBOM-like referrers first, then the signature.
  for (int i = 0; i < 2; ++i) {
    const std::string sbom = "{\"sbom\":" + std::to_string(i) + "}";
    const std::string config = "{}";
    json m = {
        {"schemaVersion", 2},
        {"mediaType", kOciManifest},
        {"artifactType", "application/spdx+json"},
        {"config",
         {{"mediaType", "application/vnd.oci.empty.v1+json"},
          {"digest", hm::testing::sha256Digest(config)},
          {"size", 2}}},
        {"layers", json::array({{{"mediaType", "application/spdx+json"},
                                 {"digest", hm::testing::sha256Digest(sbom)},
                                 {"size", sbom.size()}}})},
        {"subject",
         {{"mediaType", kOciManifest}, {"digest", img.digest}, {"size", img.manifest.size()}}}};
    const std::string body = m.dump();
    rig_->pushArtifact("team/flood", hm::testing::sha256Digest(body), kOciManifest, body,
                       {sbom, config});
    index["manifests"].push_back({{"mediaType", kOciManifest},
                                  {"digest", hm::testing::sha256Digest(body)},
                                  {"size", body.size()}});
  }
  auto r = hm::testing::bundleReferrer(
      hm::testing::keySignedBundle(key("p256"), img.digest,
                                   std::string(policy::kCosignSignPredicate)),
      img.digest, kOciManifest, img.manifest.size(), "");
  rig_->pushArtifact("team/flood", hm::testing::sha256Digest(r.manifest), r.mediaType, r.manifest,
                     r.blobs);
  index["manifests"].push_back({{"mediaType", r.mediaType},
                                {"digest", hm::testing::sha256Digest(r.manifest)},
                                {"size", r.manifest.size()}});
  rig_->pushArtifact("team/flood", "sha256-" + img.digest.substr(7),
                     "application/vnd.oci.image.index.v1+json", index.dump(), {});
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  const std::string image = rig_->host() + "/team/flood@" + img.digest;
  EXPECT_TRUE(facts(image, rule)->attestors.at(0).verified) << "within the default bound";
  Options tight;
  tight.maxCandidates = 2;
  auto bounded = makeGate(rig_->host(), tight);
  auto f = facts(image, rule, bounded.get());
  EXPECT_EQ(f->signaturesFound, 0u) << "two referrer manifests read, neither a signature";
  EXPECT_EQ(reasonOf(*f, "ci"), "no signature found");
}

TEST_F(SignatureGateTest, BundlesMustNameTheDigestAndAnAcceptedPredicate) {
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  auto img = pushImage("team/predicate", "predicate");
  pushBundleReferrers(
      "team/predicate", img,
      {hm::testing::keySignedBundle(key("p256"), img.digest, "https://slsa.dev/provenance/v1")},
      "application/vnd.dev.sigstore.bundle.v0.3+json");
  auto f = facts(rig_->host() + "/team/predicate@" + img.digest, rule);
  EXPECT_FALSE(f->attestors.at(0).verified);
  EXPECT_THAT(reasonOf(*f, "ci"), HasSubstr("attests \"https://slsa.dev/provenance/v1\", which "
                                            "spec.signatures.predicateTypes does not count"));
  auto slsa = rule;
  slsa.predicateTypes = {"https://slsa.dev/provenance/v1"};
  slsa.fingerprint += "|slsa";
  EXPECT_TRUE(
      facts(rig_->host() + "/team/predicate@" + img.digest, slsa)->attestors.at(0).verified);

  // A bundle for another image, listed as this one's referrer.
  auto other = pushImage("team/predicate", "predicate-other");
  pushBundleReferrers("team/predicate", other,
                      {hm::testing::keySignedBundle(key("p256"), img.digest,
                                                    std::string(policy::kCosignSignPredicate))},
                      "application/vnd.dev.sigstore.bundle.v0.3+json");
  auto g = facts(rig_->host() + "/team/predicate@" + other.digest, rule);
  EXPECT_FALSE(g->attestors.at(0).verified);
  EXPECT_THAT(reasonOf(*g, "ci"), Not(HasSubstr("unknown key")));
}

TEST_F(SignatureGateTest, CosignsKeylessSignatureVerifiesWithTheTrustedRoot) {
  // cosign's own keyless signature (Fulcio + Rekor) of an image we do not have: discovery never
  // needs the image itself, only its digest.
  std::string imageDigest;
  auto sig = hm::testing::cosignKeylessVector(imageDigest);
  rig_->pushArtifact("team/keyless", sigTag(imageDigest), sig.mediaType, sig.manifest, sig.blobs);
  policy::SignatureRule rule;
  rule.tlog = policy::TlogRule::kRequire;
  rule.fingerprint = "keyless";
  rule.attestors = {policy::Attestor{
      "redhat",
      {},
      hm::testing::readText(kVectors + "trusted-roots/public-good.sigstore-go.json"),
      "public-good.json",
      {identity("https://github.com/login/oauth", "^mitr@redhat\\.com$")}}};
  auto f = facts(rig_->host() + "/team/keyless@" + imageDigest, rule);
  ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
  EXPECT_EQ(reasonOf(*f, "redhat"),
            "verified by mitr@redhat.com (issuer https://github.com/login/oauth)");

  rule.fingerprint = "keyless-acme";
  rule.attestors[0].identities = {
      identity("https://github.com/login/oauth", "^.*@acme\\.example$")};
  EXPECT_EQ(reasonOf(*facts(rig_->host() + "/team/keyless@" + imageDigest, rule), "redhat"),
            "certificate identity mitr@redhat.com does not match ^.*@acme\\.example$");
}

TEST_F(SignatureGateTest, TagsResolveAndSignaturesMayLiveInAnotherRepository) {
  auto img = pushImage("team/app", "elsewhere");
  pushLegacy("team/signatures", img.digest, {legacySig("p256", img.digest)});
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  auto beside = facts(rig_->host() + "/team/app:elsewhere", rule);
  EXPECT_EQ(beside->digest, img.digest) << "the tag resolves to the pushed digest";
  EXPECT_EQ(reasonOf(*beside, "ci"), "no signature found");

  rule.repository = rig_->host() + "/team/signatures";
  rule.fingerprint += "|repo";
  auto there = facts(rig_->host() + "/team/app:elsewhere", rule);
  EXPECT_EQ(there->repository, rig_->host() + "/team/signatures");
  EXPECT_TRUE(there->attestors.at(0).verified) << reasonOf(*there, "ci");
}

TEST_F(SignatureGateTest, ConcurrentReviewsShareOneLookupAndVerdictsAreCached) {
  auto img = pushImage("team/cache", "cache");
  pushLegacy("team/cache", img.digest, {legacySig("p256", img.digest)});
  std::atomic<int> lookups{0}, hits{0}, verified{0};
  Observer observer;
  observer.lookup = [&](std::string_view outcome, double) {
    verified += outcome == "verified" ? 1 : 0;
    ++lookups;
  };
  observer.cacheLookup = [&](bool hit) { hits += hit ? 1 : 0; };
  auto gate = makeGate(rig_->host(), {}, observer);
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  const std::string image = rig_->host() + "/team/cache@" + img.digest;
  std::vector<std::future<std::shared_ptr<const SignatureFacts>>> calls;
  for (int i = 0; i < 16; ++i) {
    calls.push_back(std::async(std::launch::async, [&] { return facts(image, rule, gate.get()); }));
  }
  for (auto& c : calls) {
    EXPECT_TRUE(c.get()->attestors.at(0).verified);
  }
  EXPECT_EQ(lookups.load(), 1) << "sixteen concurrent reviews, one discovery and verification";
  EXPECT_EQ(verified.load(), 1);
  EXPECT_EQ(facts(image, rule, gate.get())->attestors.at(0).verified, true);
  EXPECT_EQ(lookups.load(), 1);
  EXPECT_GE(hits.load(), 1);
  EXPECT_EQ(gate->cachedVerdicts(), 1u);

  // Another rule over the same digest is another verdict.
  auto other = ruleOf({keyAttestor("other", key("other"))});
  EXPECT_FALSE(facts(image, other, gate.get())->attestors.at(0).verified);
  EXPECT_EQ(gate->cachedVerdicts(), 2u);
}

TEST_F(SignatureGateTest, NegativeVerdictsExpireSoonSoANewSignatureCounts) {
  Options options;
  options.negativeTtl = std::chrono::seconds(1);
  auto gate = makeGate(rig_->host(), options);
  auto img = pushImage("team/late", "late");
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  const std::string image = rig_->host() + "/team/late@" + img.digest;
  EXPECT_FALSE(facts(image, rule, gate.get())->attestors.at(0).verified);
  pushLegacy("team/late", img.digest, {legacySig("p256", img.digest)});
  EXPECT_TRUE(hm::testing::eventually(
      10, [&] { return facts(image, rule, gate.get())->attestors.at(0).verified; }));
}

TEST_F(SignatureGateTest, AnUnreachableRegistryIsNotUnsignedAndNotCached) {
  hm::testing::RegistryRig down;
  const std::string host = down.host();
  down.stop();
  auto gate = makeGate(host);
  auto rule = ruleOf({keyAttestor("ci", key("p256"))});
  const std::string digest = "sha256:" + std::string(64, 'a');
  auto f = facts(host + "/team/app@" + digest, rule, gate.get());
  EXPECT_EQ(f->source, SignatureFacts::Source::kUnreachable);
  EXPECT_THAT(f->error, HasSubstr("looking up signatures in " + host + "/team/app"));
  EXPECT_TRUE(f->attestors.empty());
  EXPECT_EQ(gate->cachedVerdicts(), 0u);
  auto tag = facts(host + "/team/app:v1", rule, gate.get());
  EXPECT_EQ(tag->source, SignatureFacts::Source::kUnreachable);
  EXPECT_THAT(tag->error, HasSubstr("resolving " + host + "/team/app:v1"));
}

TEST_F(SignatureGateTest, AttachFillsEveryImageAndRule) {
  auto img = pushImage("team/attach", "attach");
  pushLegacy("team/attach", img.digest, {legacySig("p256", img.digest)});
  policy::PolicySet set;
  policy::ImagePolicy p;
  p.name = "signed";
  p.digest = policy::DigestRule::kOptional;
  p.signatures = ruleOf({keyAttestor("ci", key("p256"))});
  set.policies.push_back(p);
  std::vector<policy::ImageUse> uses(2);
  uses[0].image = rig_->host() + "/team/attach:attach";
  uses[1].image = rig_->host() + "/team/attach@" + img.digest;
  // Through the review engine, as the webhook gathers: the tag resolved once, both uses judged.
  review::Engine engine({makeSignatureSource(gate_)}, review::makeRegistryResolver(registry_, {}));
  auto shared = std::make_shared<const policy::PolicySet>(set);
  auto gathered = runOn(io_.ioc(), engine.gather(uses, "shop", shared, soon(), {}));
  uses = gathered.images;
  for (const auto& u : uses) {
    ASSERT_EQ(u.signatures.count(p.signatures->fingerprint), 1u) << u.image;
    EXPECT_TRUE(u.signatures.at(p.signatures->fingerprint)->attestors.at(0).verified);
  }
  EXPECT_EQ(uses[0].resolvedDigest, img.digest);
  auto ev = policy::evaluate(set, "shop", uses, std::chrono::system_clock::now());
  EXPECT_TRUE(ev.findings.empty()) << policy::describe(ev.findings.at(0));
}

TEST_F(SignatureGateTest, HarborsReferrersApiFindsBundlesWithoutAFallbackIndex) {
  hm::testing::HarborRig harbor;
  harbor.createProject("team");
  hm::testing::OciLayout layout;
  auto img = layout.addImage("v1", "harbor referrers");
  layout.push("v1", harbor.host() + "/team/app:v1", false, "admin:" + harbor.adminPassword());
  auto r = hm::testing::bundleReferrer(
      hm::testing::keySignedBundle(key("ed25519"), img.digest,
                                   std::string(policy::kCosignSignPredicate)),
      img.digest, kOciManifest, img.manifest.size(),
      "application/vnd.dev.sigstore.bundle.v0.3+json");
  // Only the referrer manifest is pushed: Harbor's referrers API is the one way to find it.
  harbor.pushArtifact("team/app", hm::testing::sha256Digest(r.manifest), r.mediaType, r.manifest,
                      r.blobs);

  auto http = net::HttpClient::create(io_.ioc().get_executor(), {});
  ASSERT_TRUE(http.ok());
  registry::RegistryOptions ro;
  ro.plainHttpHosts = {harbor.host()};
  ro.credentials[harbor.host()] = {"admin", harbor.adminPassword()};
  SignatureGate gate(
      registry::Client::create(std::shared_ptr<net::HttpClient>(std::move(*http)), ro), {});
  auto rule = ruleOf({keyAttestor("ci", key("ed25519"))});
  auto f = facts(harbor.host() + "/team/app@" + img.digest, rule, &gate);
  ASSERT_EQ(f->source, SignatureFacts::Source::kChecked) << f->error;
  EXPECT_EQ(f->signaturesFound, 1u);
  EXPECT_TRUE(f->attestors.at(0).verified) << reasonOf(*f, "ci");
}

}  // namespace
}  // namespace hm::signaturegate
