// A username and password that may change while clients use them. The webhook's Harbor
// credentials live in a mounted Secret the operator rotates (a RobotAccount's
// credentialsSecret): the clients read the shared value on every request, and a file watch
// swaps it in without a restart.
//
//   auto file = CredentialsFile::open("/etc/harbormaster/harbor");   // file or Secret directory
//   HarborOptions{.credentials = (*file)->source()};                 // clients read it
//   if (auto changed = (*file)->reload()) …                          // every check interval
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "harbormaster/base/status.h"

namespace hm {

struct BasicCredentials {
  std::string username;
  std::string password;
  bool empty() const { return username.empty(); }
  bool operator==(const BasicCredentials&) const = default;
};

// Thread-safe: each request takes a copy, so one request never mixes two credentials.
class CredentialSource {
 public:
  explicit CredentialSource(BasicCredentials initial = {}) : value_(std::move(initial)) {}
  BasicCredentials get() const {
    std::lock_guard lock(mu_);
    return value_;
  }
  void set(BasicCredentials next) {
    std::lock_guard lock(mu_);
    value_ = std::move(next);
  }

 private:
  mutable std::mutex mu_;
  BasicCredentials value_;
};

// The credentials in a file ("username:password" on the first line, as the chart's Secret holds
// them) or in a directory holding `username` and `password` files: a Secret mounted whole, in
// the layout of kubernetes.io/basic-auth Secrets and of a RobotAccount's credentialsSecret. An
// empty directory is no credentials yet (an optional Secret volume whose Secret the operator
// has not written); a missing path or a malformed file is an error. Errors never quote the
// contents: they hold a secret.
StatusOr<BasicCredentials> readCredentials(const std::string& path);

class CredentialsFile {
 public:
  static StatusOr<std::unique_ptr<CredentialsFile>> open(std::string path);

  const std::string& path() const { return path_; }
  // Read-only to everyone else: only reload() replaces what it holds.
  std::shared_ptr<const CredentialSource> source() const { return source_; }
  // Reads the path again. nullopt: nothing changed since the last attempt. OK: the source
  // holds the new credentials. An error: they were refused and the previous ones stay (a file
  // edited by hand may be caught half written; a Secret volume swaps atomically).
  std::optional<Status> reload();

 private:
  CredentialsFile(std::string path, BasicCredentials initial)
      : path_(std::move(path)), source_(std::make_shared<CredentialSource>(std::move(initial))) {}

  std::string path_;
  std::shared_ptr<CredentialSource> source_;
  BasicCredentials last_;  // what the last successful read found
  std::string lastError_;  // the last refusal, so one bad file is reported once
};

}  // namespace hm
