// A made-up fact source written the way a new one is (docs/architecture.md, "Adding a fact
// source"): its policy section (spec.age: {maxDays, required}), its check ("age"), its fact,
// its source and its module — all in this one file, registered with one call, touching nothing
// in pkg/policy, pkg/review or pkg/facts. Tests use it to hold the registration seams to that.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "harbormaster/facts/module.h"
#include "harbormaster/policy/evaluate.h"
#include "harbormaster/policy/section.h"

namespace hm::testing::age {

// What the source learnt about one image: how old its build is, or why it could not tell.
struct AgeFact final : policy::Fact {
  int64_t days = 0;
  std::string error;
};

class AgeRule final : public policy::SectionRule {
 public:
  AgeRule(int64_t maxDays, bool required) : maxDays_(maxDays), required_(required) {}
  int64_t maxDays() const { return maxDays_; }
  std::string fingerprint() const override {
    return std::to_string(maxDays_) + (required_ ? "" : "/warn");
  }
  std::vector<policy::Problem> judge(const policy::Fact* fact, WallTime) const override {
    const auto* age = dynamic_cast<const AgeFact*>(fact);
    if (age == nullptr) {
      return {{!required_, "cannot be checked for age: it was not looked up",
               "run the check with registry access", true}};
    }
    if (!age->error.empty()) {
      return {{!required_, "cannot be checked for age (" + age->error + ")",
               "make the registry reachable", true}};
    }
    if (age->days > maxDays_) {
      return {{!required_,
               "was built " + std::to_string(age->days) + " days ago, more than " +
                   std::to_string(maxDays_),
               "rebuild the image"}};
    }
    return {};
  }

 private:
  int64_t maxDays_;
  bool required_;
};

class AgeSection final : public policy::Section {
 public:
  std::string_view key() const override { return "age"; }
  std::string_view checkName() const override { return "age"; }
  StatusOr<std::shared_ptr<const policy::SectionRule>> read(
      const policy::SectionReader& in) const override {
    HM_RETURN_IF_ERROR(in.requireMap(in.node(), in.field(), {"maxDays", "required"}));
    if (!in.node()["maxDays"]) {
      return in.error(in.field() + ".maxDays", "is required");
    }
    auto days = in.integer(in.node()["maxDays"], in.field() + ".maxDays", 1, 3650);
    if (!days.ok()) {
      return days.status();
    }
    bool required = true;
    if (in.node()["required"]) {
      auto r = in.boolean(in.node()["required"], in.field() + ".required");
      if (!r.ok()) {
        return r.status();
      }
      required = *r;
    }
    if (*days > 365) {
      in.warn(in.field() + ".maxDays", "more than a year lets almost every image pass");
    }
    return std::shared_ptr<const policy::SectionRule>(std::make_shared<AgeRule>(*days, required));
  }
};

// The one section object of this process (registering it again is a no-op).
inline std::shared_ptr<const policy::Section> section() {
  static const auto s = std::make_shared<const AgeSection>();
  return s;
}

// Ages by digest, as a registry would tell them.
using Ages = std::map<std::string, int64_t>;

class AgeLookup final : public facts::Lookup {
 public:
  AgeLookup(std::shared_ptr<const Ages> ages, std::string factKey)
      : ages_(std::move(ages)), key_(std::move(factKey)) {}
  boost::asio::awaitable<facts::Attach> run(imageref::Reference pinned, facts::Deadline) override {
    auto fact = std::make_shared<AgeFact>();
    auto it = ages_->find(pinned.digest);
    if (it == ages_->end()) {
      fact->error = "no build date for " + pinned.digest;
    } else {
      fact->days = it->second;
    }
    co_return attach(std::move(fact));
  }
  facts::Attach unfinished(const Status& why) const override {
    auto fact = std::make_shared<AgeFact>();
    fact->error = why.message();
    return attach(std::move(fact));
  }

 private:
  facts::Attach attach(std::shared_ptr<const AgeFact> fact) const {
    return [fact, key = key_](policy::ImageUse& use) { use.facts[key] = fact; };
  }
  std::shared_ptr<const Ages> ages_;
  std::string key_;
};

class AgeSource final : public facts::Source {
 public:
  explicit AgeSource(std::shared_ptr<const Ages> ages) : ages_(std::move(ages)) {}
  std::string_view name() const override { return "age"; }
  std::vector<std::shared_ptr<facts::Lookup>> plan(const facts::ImageQuery& q) override {
    std::vector<std::shared_ptr<facts::Lookup>> out;
    // One lookup per distinct rule that judges the image; none when no policy asks.
    for (const policy::PlannedRule& r : policy::sectionRules(q.image, "age")) {
      out.push_back(std::make_shared<AgeLookup>(ages_, r.factKey));
    }
    return out;
  }

 private:
  std::shared_ptr<const Ages> ages_;
};

class AgeModule final : public facts::SourceModule {
 public:
  explicit AgeModule(Ages ages) : ages_(std::make_shared<const Ages>(std::move(ages))) {}
  std::string_view name() const override { return "age"; }
  std::vector<facts::SourceFlag> flags() override { return {}; }
  StatusOr<std::shared_ptr<facts::Source>> create(const facts::SharedClients&) override {
    return std::shared_ptr<facts::Source>(std::make_shared<AgeSource>(ages_));
  }
  std::vector<std::shared_ptr<const policy::Section>> sections() override { return {section()}; }

 private:
  std::shared_ptr<const Ages> ages_;
};

}  // namespace hm::testing::age
