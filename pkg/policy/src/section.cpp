// The section registry and the readers sections use. Registration happens at start-up, reads
// at every load and every finding's name: slots are written once under the lock and published
// by the count, so readers take no lock.
#include "harbormaster/policy/section.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <mutex>

#include "load/reader.h"

namespace hm::policy {
namespace {

struct Registry {
  std::mutex mu;  // serialises registrations
  std::array<std::shared_ptr<const Section>, kMaxSections> slots;
  std::atomic<size_t> count{0};
};

Registry& registry() {
  static Registry r;
  return r;
}

// The built-in names a section may not take: spec's own fields and the built-in checks.
constexpr std::string_view kBuiltInKeys[] = {
    "mode",     "match",      "exclude",         "registries",      "digest",
    "onUpdate", "exceptions", "exceptionPolicy", "vulnerabilities", "signatures"};
constexpr std::string_view kBuiltInChecks[] = {"reference", "registry", "digest", "vulnerabilities",
                                               "signatures"};

template <size_t N>
bool among(const std::string_view (&names)[N], std::string_view name) {
  return std::find(std::begin(names), std::end(names), name) != std::end(names);
}

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= 63 && name[0] >= 'a' && name[0] <= 'z' &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
         });
}

}  // namespace

Status registerSection(std::shared_ptr<const Section> section) {
  if (section == nullptr) {
    return invalidArgument("no section to register");
  }
  const std::string_view key = section->key();
  const std::string_view check = section->checkName();
  if (!validName(key) || !validName(check)) {
    return invalidArgument("policy section \"" + std::string(key) + "\" (check \"" +
                           std::string(check) +
                           "\"): key and check name must be lowerCamelCase letters and digits");
  }
  if (among(kBuiltInKeys, key) || among(kBuiltInChecks, check)) {
    return invalidArgument("policy section \"" + std::string(key) +
                           "\": its key or check name is a built-in one");
  }
  Registry& r = registry();
  std::lock_guard lock(r.mu);
  const size_t n = r.count.load(std::memory_order_relaxed);
  for (size_t i = 0; i < n; ++i) {
    if (r.slots[i] == section) {
      return okStatus();
    }
    if (r.slots[i]->key() == key || r.slots[i]->checkName() == check) {
      return invalidArgument("policy section \"" + std::string(key) + "\" (check \"" +
                             std::string(check) + "\"): the key or check name is registered");
    }
  }
  if (n == kMaxSections) {
    return invalidArgument("policy section \"" + std::string(key) +
                           "\": no room for more sections");
  }
  r.slots[n] = std::move(section);
  r.count.store(n + 1, std::memory_order_release);
  return okStatus();
}

std::vector<const Section*> registeredSections() {
  Registry& r = registry();
  const size_t n = r.count.load(std::memory_order_acquire);
  std::vector<const Section*> out;
  out.reserve(n);
  for (size_t i = 0; i < n; ++i) {
    out.push_back(r.slots[i].get());
  }
  return out;
}

const Section* sectionOf(Check check) {
  const auto c = static_cast<size_t>(check);
  const auto first = static_cast<size_t>(Check::kFirstSection);
  Registry& r = registry();
  if (c < first || c - first >= r.count.load(std::memory_order_acquire)) {
    return nullptr;
  }
  return r.slots[c - first].get();
}

std::string factKey(const Section& section, const SectionRule& rule) {
  return std::string(section.key()) + "/" + rule.fingerprint();
}

Status SectionReader::error(const std::string& field, const std::string& problem) const {
  return ctx_.error(field, problem);
}

void SectionReader::warn(const std::string& field, const std::string& problem) const {
  if (ctx_.warnings != nullptr) {
    ctx_.warnings->push_back(field + ": " + problem);
  }
}

Status SectionReader::requireMap(const YAML::Node& node, const std::string& field,
                                 std::initializer_list<std::string_view> allowed) const {
  return load::requireMap(ctx_, node, field, allowed);
}

StatusOr<std::string> SectionReader::string(const YAML::Node& node,
                                            const std::string& field) const {
  return load::readString(ctx_, node, field);
}

StatusOr<std::vector<std::string>> SectionReader::strings(const YAML::Node& node,
                                                          const std::string& field) const {
  return load::readStringList(ctx_, node, field);
}

StatusOr<bool> SectionReader::boolean(const YAML::Node& node, const std::string& field) const {
  return load::readBool(ctx_, node, field);
}

StatusOr<int64_t> SectionReader::integer(const YAML::Node& node, const std::string& field,
                                         int64_t min, int64_t max) const {
  const std::string range =
      "must be a whole number from " + std::to_string(min) + " to " + std::to_string(max);
  if (!node.IsScalar()) {
    return ctx_.error(field, range);
  }
  int64_t n = 0;
  try {
    n = node.as<int64_t>();
  } catch (const YAML::Exception&) {
    return ctx_.error(field, range + ", got \"" + node.Scalar() + "\"");
  }
  if (n < min || n > max) {
    return ctx_.error(field, range + ", got " + std::to_string(n));
  }
  return n;
}

StatusOr<std::chrono::seconds> SectionReader::duration(const YAML::Node& node,
                                                       const std::string& field) const {
  return load::readDuration(ctx_, node, field);
}

StatusOr<size_t> SectionReader::oneOf(const YAML::Node& node, const std::string& field,
                                      std::initializer_list<std::string_view> names) const {
  auto s = load::readString(ctx_, node, field);
  if (!s.ok()) {
    return s.status();
  }
  std::string list;
  size_t i = 0;
  for (std::string_view name : names) {
    if (*s == name) {
      return i;
    }
    list += (list.empty() ? "" : ", ") + std::string(name);
    ++i;
  }
  return ctx_.error(field, "must be one of " + list + ", got \"" + *s + "\"");
}

}  // namespace hm::policy
