// The loader's shared readers: where an error happened (Ctx) and the field readers every grammar
// uses. Private to pkg/policy; each grammar (policy, vulnerabilities, signatures, exceptions)
// is a file of its own beside this one, load.cpp reads documents and objects.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/policy/policy.h"

namespace hm::policy::load {

constexpr std::string_view kApiVersion = "harbormaster.io/v1alpha1";
constexpr std::string_view kNamespacedKind = "ImagePolicy";
constexpr std::string_view kClusterKind = "ClusterImagePolicy";
constexpr std::string_view kExceptionKind = "ImageException";

// Carries where we are in the document so every error names the document, field and problem.
struct Ctx {
  std::string document;  // "policy.yaml, document 2 (ImagePolicy \"production\")"
  std::map<std::string, std::string>* files;  // read so far: PolicySet::files
  bool readFiles = true;
  // What the document being read warns about, and why it cannot be enforced (a file it names
  // does not load); null while nothing collects them.
  std::vector<std::string>* warnings = nullptr;
  std::vector<std::string>* unenforceable = nullptr;

  Status error(const std::string& field, const std::string& problem) const {
    return invalidArgument((document.empty() ? "" : document + ": ") +
                           (field.empty() ? "" : field + ": ") + problem);
  }
  // A referenced file that does not load is no spec error: the spec is right and the policy
  // stands, but it is not in force until the file loads (ImagePolicy::unenforceable).
  void cannotEnforce(const std::string& field, const std::string& problem) const {
    if (unenforceable != nullptr) {
      unenforceable->push_back(field + ": " + problem);
    }
  }
};

// A referenced file that does not load is snapshotted as this byte and the reason.
constexpr char kUnreadableMarker = '\0';

Status requireMap(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                  std::initializer_list<std::string_view> allowed);
Status requireMap(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                  const std::vector<std::string_view>& allowed);
StatusOr<std::string> readString(const Ctx& ctx, const YAML::Node& node, const std::string& field);
StatusOr<std::vector<std::string>> readStringList(const Ctx& ctx, const YAML::Node& node,
                                                  const std::string& field);
template <typename E>
StatusOr<E> readEnum(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                     std::initializer_list<std::pair<std::string_view, E>> values) {
  auto s = readString(ctx, node, field);
  if (!s.ok()) {
    return s.status();
  }
  std::string names;
  for (const auto& [name, value] : values) {
    if (*s == name) {
      return value;
    }
    names += (names.empty() ? "" : ", ") + std::string(name);
  }
  return ctx.error(field, "must be one of " + names + ", got \"" + *s + "\"");
}

// Image globs compare with normalised names, so their registry host is normalised the same way
// (imageref::normalizeHost): "HARBOR.example.com:443/p/*" selects harbor.example.com/p/x.
std::vector<std::string> normaliseImagePatterns(std::vector<std::string> patterns);
StatusOr<Selector> readSelector(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                                bool withNamespaces, bool withSelector);
StatusOr<std::vector<std::string>> readRegistries(const Ctx& ctx, const YAML::Node& node);
StatusOr<std::vector<Check>> readChecks(const Ctx& ctx, const YAML::Node& node,
                                        const std::string& field);
StatusOr<bool> readBool(const Ctx& ctx, const YAML::Node& node, const std::string& field);
StatusOr<std::optional<WallTime>> readExpiry(const Ctx& ctx, const YAML::Node& node,
                                             const std::string& field);
StatusOr<LabelSelector> readLabelSelector(const Ctx& ctx, const YAML::Node& node,
                                          const std::string& field);
StatusOr<std::chrono::seconds> readDuration(const Ctx& ctx, const YAML::Node& node,
                                            const std::string& field);

// The grammars, one file each.
StatusOr<VulnerabilityRule> readVulnerabilities(const Ctx& ctx, const YAML::Node& node);
StatusOr<SignatureRule> readSignatures(const Ctx& ctx, const YAML::Node& node);
StatusOr<PolicyException> readException(const Ctx& ctx, const YAML::Node& node,
                                        const std::string& field);
StatusOr<ExceptionPolicy> readExceptionPolicy(const Ctx& ctx, const YAML::Node& node,
                                              ExceptionPolicy ep);
StatusOr<ImageException> readImageException(const Ctx& ctx, const YAML::Node& spec);
StatusOr<ImagePolicy> readPolicy(const Ctx& ctx, const YAML::Node& spec, PolicyScope scope);

}  // namespace hm::policy::load
