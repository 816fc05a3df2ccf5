// The ImagePolicy model and its loader.
//
//   auto set = hm::policy::loadPolicyFile("/etc/harbormaster/policy.yaml", {.ownNamespace = "hm"});
//   if (!set.ok()) { /* set.status().message() names the document, field and problem */ }
//
// A policy file holds one or more YAML documents of kind ClusterImagePolicy, ImagePolicy or
// ImageException (apiVersion harbormaster.io/v1alpha1); the same kinds are cluster resources,
// read with parseObject(). Unknown fields are errors, so a typo never silently weakens a policy.
// See docs/policy.md for the full schema and semantics.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/regexp/regexp.h"

namespace hm::policy {

enum class Mode { kEnforce, kWarn, kAudit };

// What a policy checks about an image. The built-in checks are named here; a module's policy
// section (section.h) gets a check of its own when it registers, numbered from kFirstSection.
enum class Check : uint8_t {
  kReference,        // the image reference parses (never excepted)
  kRegistry,         // the image comes from an allowed registry
  kDigest,           // the image is pinned by digest
  kVulnerabilities,  // Harbor's scan of the image passes spec.vulnerabilities
  kSignatures,       // cosign signatures by the policy's attestors (spec.signatures)
  kFirstSection = 32,
};

// Require: images must name a digest. Pin: tags are allowed in workload templates, and a Pod's
// images are rewritten to the digest judged (the mutating webhook); a Pod that reaches
// validation still unpinned is denied as under Require. Optional: tags are fine (also read as
// "Off", its old name, which YAML 1.1 readers turn into false when unquoted).
enum class DigestRule { kRequire, kPin, kOptional };

// On UPDATE, whether images already present in oldObject are judged again. Skipping them means
// a scale, label or annotation change is never blocked by a policy that changed since.
enum class UpdateRule { kSkipUnchanged, kCheckAll };

std::string_view modeName(Mode mode);
// "digest", "vulnerabilities", …; a registered section's check by its own name.
std::string_view checkName(Check check);

// One reason an image fails (or, warnOnly, only warns on) a check.
struct Problem {
  bool warnOnly = false;
  std::string problem;  // "has 2 Critical vulnerabilities"
  std::string fix;
  // The check could not be made (Harbor unreachable, no scan result, the image not in Harbor, a
  // fact not looked up): admission judges it all the same, reports say error rather than fail.
  bool unchecked = false;
};

class Section;
class SectionRule;
// A registered section as one policy declares it (spec.<section->key()>).
struct SectionUse {
  const Section* section = nullptr;
  Check check = Check::kFirstSection;
  std::shared_ptr<const SectionRule> rule;
  std::string factKey;  // factKey(*section, *rule), worked out once when read
};

// Globs: '*' and '?' stay within one '/'-separated segment, '**' crosses segments.
// An empty list matches everything.
struct Selector {
  std::vector<std::string> namespaces;
  std::vector<std::string> images;
};

// A Kubernetes label selector (metav1.LabelSelector): every matchLabels pair and every
// expression must hold. An empty selector selects everything.
struct LabelRequirement {
  enum class Op { kIn, kNotIn, kExists, kDoesNotExist };
  std::string key;
  Op op = Op::kExists;
  std::vector<std::string> values;
};
struct LabelSelector {
  std::map<std::string, std::string> matchLabels;
  std::vector<LabelRequirement> matchExpressions;
};
using Labels = std::map<std::string, std::string>;
bool selectorMatches(const LabelSelector& selector, const Labels& labels);

struct PolicyException {
  std::vector<std::string> images;
  std::vector<std::string> namespaces;
  std::vector<Check> checks;
  std::optional<WallTime> expires;
  std::string reason;
};

// What to do with an image whose scan is not (or not yet) a result.
enum class ScanStateAction { kDeny, kWarn, kAllow, kScanAndDeny };
// What to do when Harbor cannot be asked. AllowIfCached judges the last facts seen.
enum class UnreachableAction { kDeny, kAllow, kAllowIfCached };

// A policy's own CVE allowlist entry: always with a reason, optionally expiring.
struct AllowedCve {
  std::string id;
  std::optional<WallTime> expires;
  std::string reason;
};

// spec.vulnerabilities. Severities use Harbor's comparison codes (None = Unknown = 0, Low 2,
// Medium 3, High 4, Critical 5, anything unrecognised 99); see docs/policy.md.
struct VulnerabilityRule {
  std::optional<int> severity;               // deny when a remaining finding's code is >= this
  std::map<std::string, int64_t> maxCounts;  // "High" → 3: more than 3 High findings deny
  bool fixableOnly = false;
  ScanStateAction notScanned = ScanStateAction::kDeny;
  ScanStateAction pending = ScanStateAction::kDeny;
  ScanStateAction failed = ScanStateAction::kDeny;
  ScanStateAction unsupported = ScanStateAction::kAllow;
  std::vector<AllowedCve> allowlist;
  bool harborAllowlists = true;
  bool projectPolicy = true;
  UnreachableAction harborUnreachable = UnreachableAction::kDeny;
};

// A keyless signer: the OIDC issuer (exact) and the certificate's subject, exact or as a regular
// expression (RE2, Go's syntax as in cosign; searched: anchor it with ^…$). The loader compiles
// the pattern once; `subjectPattern` is set exactly when `subjectRegExp` is.
struct KeylessIdentity {
  std::string issuer;
  std::string subject;
  std::string subjectRegExp;
  std::optional<regexp::RegExp> subjectPattern;
};

// Who may sign. `keys` hold PEM text (inline in the policy or read from a file when the policy
// was loaded); `trustedRoot` holds a Sigstore trusted_root.json's content: for keyless
// attestors the CAs, CT logs and Rekor logs, for key attestors the Rekor logs (tlog: Require).
struct Attestor {
  std::string name;
  std::vector<std::string> keys;
  std::string trustedRoot;
  std::string trustedRootFile;  // where trustedRoot came from, for messages
  std::vector<KeylessIdentity> identities;
};

enum class TlogRule { kRequire, kSkip };

inline constexpr std::string_view kCosignSignPredicate = "https://sigstore.dev/cosign/sign/v1";

// spec.signatures: an image passes when `count` distinct attestors verify one of its signatures.
struct SignatureRule {
  bool required = true;  // false: failures only warn
  std::vector<Attestor> attestors;
  int count = 1;
  // What counts as "signed" for in-toto bundle signatures; legacy simple-signing `.sig` layers
  // always count.
  std::vector<std::string> predicateTypes = {std::string(kCosignSignPredicate)};
  TlogRule tlog = TlogRule::kRequire;
  // registry/repository holding the signatures when not beside the image (COSIGN_REPOSITORY).
  std::string repository;
  // Identifies everything above that decides a verdict: verdicts are cached under it.
  std::string fingerprint;
};

// Whether namespaced ImageExceptions may apply to a policy, from which namespaces, and for how
// long at most (counted from the exception's creation). Closed unless allowed: the loader
// defaults `allowed` to false for cluster-scoped policies and to true for a namespace's own
// ImagePolicy.
struct ExceptionPolicy {
  bool allowed = false;
  std::optional<LabelSelector> namespaceSelector;  // absent: any namespace
  std::chrono::seconds maxDuration{30 * 24 * 3600};
};

enum class PolicyScope {
  kCluster,    // ClusterImagePolicy, or a policy-file ImagePolicy without a namespace
  kNamespace,  // ImagePolicy: judges only workloads in its own namespace
};

struct ImagePolicy {
  // How messages name it: "production" for a cluster policy, "shop/strict" for a namespaced
  // one. `resourceName` is metadata.name, what ImageExceptions refer to.
  std::string name;
  std::string resourceName;
  PolicyScope scope = PolicyScope::kCluster;
  std::string nameSpace;  // kNamespace: the namespace it judges
  std::string source;     // "file.yaml, document 2": where it was defined, for messages
  Mode mode = Mode::kEnforce;
  Selector match;
  std::optional<LabelSelector> namespaceSelector;  // spec.match.namespaceSelector
  Selector exclude;
  ExceptionPolicy exceptionPolicy;
  std::vector<std::string> registries;  // normalised hosts; empty allows any registry
  DigestRule digest = DigestRule::kRequire;
  UpdateRule onUpdate = UpdateRule::kSkipUnchanged;
  std::vector<PolicyException> exceptions;
  std::optional<VulnerabilityRule> vulnerabilities;
  std::optional<SignatureRule> signatures;
  // The registered sections it declares, in registration order.
  std::vector<SectionUse> sections;
  // Why the policy cannot be enforced now: a key or trusted-root file it names does not load
  // ("cannot be enforced: spec.signatures.attestors[0].keys[0]: cannot open /etc/keys/a.pub: No
  // such file or directory"). Empty when it can. Such a policy is never skipped: every image it
  // selects gets this finding under its mode (Enforce denies), and its status is Ready=False.
  std::string unenforceable;
  // What loading found worth a warning but not a refusal (an unanchored subjectRegExp); status
  // and `check` show them.
  std::vector<std::string> warnings;
};

// A namespaced ImageException resource: lets named policies' checks pass for matching images in
// its own namespace until it expires, where the policies' exceptionPolicy allows it.
struct ImageException {
  std::string nameSpace;
  std::string name;
  std::vector<std::string> policies;  // metadata.name of ClusterImagePolicies / ImagePolicies
  std::vector<std::string> images;    // globs or exact digests; empty: every image
  std::vector<Check> checks;
  // With Check::kVulnerabilities: only these findings are excepted, the rest of the scan counts.
  std::vector<std::string> cves;
  WallTime expiresAt;
  std::optional<WallTime> created;  // metadata.creationTimestamp; maxDuration counts from it
  std::string reason;
  std::string owner;
  std::string ticket;
};

struct PolicySet {
  std::vector<ImagePolicy> policies;
  // ImageExceptions by namespace (they only apply in their own).
  std::map<std::string, std::vector<ImageException>> exceptions;
  // Namespace labels from the cluster, for namespaceSelectors. Null when not known (policy
  // files without a cluster): a namespace then has only kubernetes.io/metadata.name, as the
  // API server sets it on every namespace.
  std::shared_ptr<const std::map<std::string, Labels>> namespaceLabels;
  // Namespaces no policy applies to unless it names them literally in match.namespaces:
  // kube-system and the webhook's own namespace.
  std::vector<std::string> defaultExcludedNamespaces;
  // Files the policies read besides the policy file (keys, trusted roots) and their contents
  // when loaded; a change to any of them reloads the policy.
  std::map<std::string, std::string> files;
};

struct LoadOptions {
  std::string ownNamespace;  // the webhook's namespace, excluded by default; may be empty
  // Read key and trusted-root files a policy names. The webhook and the operator both do (the
  // chart mounts the same signature sources into both), so the status the operator writes is
  // what the webhook enforces; off only where no file may be read (the fuzz target).
  bool readFiles = true;
};

// A file a policy names, as the loader and the reloaders see it: its content, or — when it
// cannot be read — a marker (a leading NUL) followed by why. Comparing snapshots tells a
// reloader that a file changed in either direction: gone, back, or rewritten.
std::string snapshotReferencedFile(const std::string& path);

StatusOr<PolicySet> parsePolicies(std::string_view yaml, std::string_view sourceName,
                                  const LoadOptions& options);
StatusOr<PolicySet> loadPolicyFile(const std::string& path, const LoadOptions& options);

// One cluster resource (a ClusterImagePolicy, ImagePolicy or ImageException as the API server
// returns it, status and server-set metadata included), validated by the same rules as a file.
struct ParsedObject {
  std::optional<ImagePolicy> policy;
  std::optional<ImageException> exception;
  std::map<std::string, std::string> files;  // files the policy read
};
StatusOr<ParsedObject> parseObject(const nlohmann::json& object, const LoadOptions& options);

// An ImageException's standing: whether it applies, and why not.
enum class ExceptionState { kActive, kExpired, kRejected };
struct ExceptionStanding {
  ExceptionState state = ExceptionState::kActive;
  std::string reason;  // CamelCase: Active, Expired, NotAllowed, ExceedsMaxDuration, PolicyNotFound
  std::string message;  // for humans
};
std::string_view exceptionStateName(ExceptionState state);
// Whether `policy` lets `ex` apply (its exceptionPolicy: allowed, namespace, maxDuration).
// Empty when it does; otherwise why not, with `reason` set.
std::string exceptionRefusal(const ImagePolicy& policy, const ImageException& ex,
                             const Labels& namespaceLabels, std::string* reason = nullptr);
// The exception's standing against the policies in `set` at `now` (pure; the operator writes
// it as status, the webhook applies the same rule per policy).
ExceptionStanding standing(const ImageException& ex, const PolicySet& set, WallTime now);
// The labels of `ns` as the set knows them (always with kubernetes.io/metadata.name).
Labels labelsOf(const PolicySet& set, std::string_view ns);

bool globMatch(std::string_view pattern, std::string_view text);

}  // namespace hm::policy
