// Policy sections a module adds: `spec.<key>` of ClusterImagePolicy and ImagePolicy, read by the
// module's own grammar and judged by the module's own check over the facts its own source
// gathered. A fact source module (facts/module.h) returns its sections from sections(), and
// cmd/ registers them at start-up (cli::registerPolicySections) before any policy is read. From
// then on:
//
//   - the loader accepts spec.<key> and hands it to Section::read (anything else stays an error);
//   - ImageExceptions and spec.exceptions accept the section's check name;
//   - evaluate() judges every use of an image with SectionRule::judge over the fact the source
//     attached under factKey(), with the policy's mode, exceptions and messages like any check;
//   - the source finds what to look up with sectionRules(image, key) (evaluate.h).
//
//   class AgeSection final : public policy::Section {
//     std::string_view key() const override { return "age"; }
//     std::string_view checkName() const override { return "age"; }
//     StatusOr<std::shared_ptr<const SectionRule>> read(const SectionReader& in) const override {
//       HM_RETURN_IF_ERROR(in.requireMap(in.node(), in.field(), {"maxDays"}));
//       …
//     }
//   };
//
// The CRD learns the section from crd/policy-section.json in the module's folder
// (hack/crdgen/policy_crds.py reads every pkg/*/crd/policy-section.json).
#pragma once

#include <yaml-cpp/yaml.h>

#include <chrono>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/status.h"
#include "harbormaster/base/time.h"
#include "harbormaster/policy/policy.h"

namespace hm::policy {

namespace load {
struct Ctx;
}

// What a source gathered for one rule about one image. Each module derives its own; its rule
// reads what its own source attached.
class Fact {
 public:
  virtual ~Fact() = default;
};

// One policy's spec.<key>, read.
class SectionRule {
 public:
  virtual ~SectionRule() = default;
  // Everything in the rule that decides a verdict. A source gathers facts once per image and
  // distinct fingerprint (two policies with the same rule share them), and evaluate() finds them
  // under factKey(section, fingerprint).
  virtual std::string fingerprint() const = 0;
  // The image's problems under this rule, from the fact its source attached; null when none
  // was (the source is not configured here, or did not run): never a silent pass unless the
  // module means it.
  virtual std::vector<Problem> judge(const Fact* fact, WallTime now) const = 0;
};

// The loader's readers for a section: every error names the document and the field, as the
// built-in grammars' do. Fields are spelled from field() ("spec.age"), e.g. field() + ".maxDays".
class SectionReader {
 public:
  SectionReader(const load::Ctx& ctx, YAML::Node node, std::string field)
      : ctx_(ctx), node_(std::move(node)), field_(std::move(field)) {}

  const YAML::Node& node() const { return node_; }
  const std::string& field() const { return field_; }

  Status error(const std::string& field, const std::string& problem) const;
  // Shown in the policy's status and by `check`, never a refusal.
  void warn(const std::string& field, const std::string& problem) const;

  // A map whose keys are all in `allowed` (unknown fields are errors).
  Status requireMap(const YAML::Node& node, const std::string& field,
                    std::initializer_list<std::string_view> allowed) const;
  StatusOr<std::string> string(const YAML::Node& node, const std::string& field) const;
  StatusOr<std::vector<std::string>> strings(const YAML::Node& node,
                                             const std::string& field) const;
  StatusOr<bool> boolean(const YAML::Node& node, const std::string& field) const;
  StatusOr<int64_t> integer(const YAML::Node& node, const std::string& field, int64_t min,
                            int64_t max) const;
  // Go's duration grammar ("90s", "1h30m"), as the CRDs' pattern.
  StatusOr<std::chrono::seconds> duration(const YAML::Node& node, const std::string& field) const;
  // The index of the value among `names`; an error lists them.
  StatusOr<size_t> oneOf(const YAML::Node& node, const std::string& field,
                         std::initializer_list<std::string_view> names) const;

 private:
  const load::Ctx& ctx_;
  YAML::Node node_;
  std::string field_;
};

class Section {
 public:
  virtual ~Section() = default;
  // spec.<key>: lowerCamelCase, unique among sections and the built-in fields.
  virtual std::string_view key() const = 0;
  // How findings, metrics and ImageExceptions name its check: lower case, unique.
  virtual std::string_view checkName() const = 0;
  // Reads spec.<key> (never null or absent: the loader skips those).
  virtual StatusOr<std::shared_ptr<const SectionRule>> read(const SectionReader& in) const = 0;
};

// Registers a section for the rest of the process (registering the same object again is a
// no-op). Refused when its key or check name is taken, is a built-in one, or when the registry
// is full (kMaxSections). Call before reading policies: a policy read earlier knows only the
// sections registered then.
inline constexpr size_t kMaxSections = 32;
Status registerSection(std::shared_ptr<const Section> section);
// The registered sections, in registration order; a section's check is Check(kFirstSection + i).
std::vector<const Section*> registeredSections();
const Section* sectionOf(Check check);

// Where a source attaches its fact on ImageUse::facts and evaluate() looks for it.
std::string factKey(const Section& section, const SectionRule& rule);

}  // namespace hm::policy
