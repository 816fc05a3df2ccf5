#include "harbormaster/policy/store.h"

#include "harbormaster/base/files.h"

namespace hm::policy {

StatusOr<std::unique_ptr<PolicyStore>> PolicyStore::create(std::string path, LoadOptions options) {
  std::unique_ptr<PolicyStore> store(new PolicyStore(std::move(path), std::move(options)));
  auto status = store->reloadIfChanged();
  if (status && !status->ok()) {
    return *status;
  }
  return store;
}

std::shared_ptr<const PolicySet> PolicyStore::current() const {
  std::lock_guard lock(mu_);
  return current_;
}

std::optional<Status> PolicyStore::reloadIfChanged() {
  auto text = readFile(path_, 4 * 1024 * 1024);
  std::string attempt = text.ok() ? *text : std::string(1, '\0') + text.status().message();
  if (current_ != nullptr && attempt == lastAttempt_) {
    return std::nullopt;
  }
  lastAttempt_ = std::move(attempt);
  if (!text.ok()) {
    return text.status().withContext("policy file");
  }
  auto set = parsePolicies(*text, path_, options_);
  if (!set.ok()) {
    return set.status();
  }
  auto next = std::make_shared<const PolicySet>(std::move(*set));
  std::lock_guard lock(mu_);
  current_ = std::move(next);
  return okStatus();
}

}  // namespace hm::policy
