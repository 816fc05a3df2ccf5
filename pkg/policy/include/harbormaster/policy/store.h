// The policy in force, and its hot reload from a file (a mounted ConfigMap swaps a symlink, so
// contents are compared, not mtimes). Key and trusted-root files the policy names are compared
// too.
//
// An invalid file never replaces a valid policy: reload() reports the error and the previous
// PolicySet stays in force.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "harbormaster/policy/policy.h"

namespace hm::policy {

class PolicyStore {
 public:
  // Fails when the first load fails: a webhook must not start without a valid policy.
  static StatusOr<std::unique_ptr<PolicyStore>> create(std::string path, LoadOptions options);

  std::shared_ptr<const PolicySet> current() const;
  // nullopt when the file is unchanged since the last attempt; otherwise the load's status.
  std::optional<Status> reloadIfChanged();

 private:
  PolicyStore(std::string path, LoadOptions options)
      : path_(std::move(path)), options_(std::move(options)) {}
  std::string fingerprint(const StatusOr<std::string>& text) const;

  std::string path_;
  LoadOptions options_;
  std::string lastAttempt_;
  mutable std::mutex mu_;
  std::shared_ptr<const PolicySet> current_;
};

}  // namespace hm::policy
