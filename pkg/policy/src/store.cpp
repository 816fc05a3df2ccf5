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

// The policy file's text (or its read error) followed by every key and trusted-root file the
// last successful load read, so a rotated key in a mounted Secret reloads the policy too.
std::string PolicyStore::fingerprint(const StatusOr<std::string>& text) const {
  std::string out = text.ok() ? *text : std::string(1, '\0') + text.status().message();
  if (current_ != nullptr) {
    for (const auto& [path, _] : current_->files) {
      out += std::string(1, '\0') + path + '\0' + snapshotReferencedFile(path);
    }
  }
  return out;
}

std::optional<Status> PolicyStore::reloadIfChanged() {
  auto text = readFile(path_, 4 * 1024 * 1024);
  std::string attempt = fingerprint(text);
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
  {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }
  lastAttempt_ = fingerprint(text);  // now with the files this policy reads
  return okStatus();
}

}  // namespace hm::policy
