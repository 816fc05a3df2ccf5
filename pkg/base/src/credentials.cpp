#include "harbormaster/base/credentials.h"

#include <filesystem>

#include "harbormaster/base/files.h"

namespace hm {
namespace {

constexpr size_t kMaxBytes = 64 * 1024;

// The first line, without a trailing CR or LF (a Secret written with `echo` ends in one).
std::string firstLine(const std::string& text) {
  std::string line = text.substr(0, text.find('\n'));
  if (!line.empty() && line.back() == '\r') {
    line.pop_back();
  }
  return line;
}

StatusOr<BasicCredentials> readDirectory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const bool hasUser = fs::exists(dir + "/username", ec);
  const bool hasPassword = fs::exists(dir + "/password", ec);
  if (!hasUser && !hasPassword) {
    return BasicCredentials{};
  }
  if (!hasUser || !hasPassword) {
    return invalidArgument(dir + " holds " + (hasUser ? "username" : "password") + " without " +
                           (hasUser ? "password" : "username"));
  }
  auto user = readFile(dir + "/username", kMaxBytes);
  if (!user.ok()) {
    return user.status();
  }
  auto password = readFile(dir + "/password", kMaxBytes);
  if (!password.ok()) {
    return password.status();
  }
  BasicCredentials out{firstLine(*user), firstLine(*password)};
  if (out.username.empty() || out.password.empty()) {
    return invalidArgument(dir + ": username and password must not be empty");
  }
  return out;
}

}  // namespace

StatusOr<BasicCredentials> readCredentials(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) {
    return readDirectory(path);
  }
  auto text = readFile(path, kMaxBytes);
  if (!text.ok()) {
    return text.status();
  }
  const std::string line = firstLine(*text);
  const size_t colon = line.find(':');
  if (colon == std::string::npos || colon == 0) {
    return invalidArgument(path + ": the first line must be username:password");
  }
  return BasicCredentials{line.substr(0, colon), line.substr(colon + 1)};
}

StatusOr<std::unique_ptr<CredentialsFile>> CredentialsFile::open(std::string path) {
  auto initial = readCredentials(path);
  if (!initial.ok()) {
    return initial.status();
  }
  return std::unique_ptr<CredentialsFile>(new CredentialsFile(std::move(path), *initial));
}

std::optional<Status> CredentialsFile::reload() {
  // Only reload() sets the source: what it holds is what the last accepted read found.
  const BasicCredentials current = source_->get();
  auto next = readCredentials(path_);
  if (next.ok() && next->empty() && !current.empty()) {
    // A Secret emptied, or a volume caught mid-mount: anonymous would fail every private
    // project, and the previous credentials may still work.
    next = invalidArgument(path_ + " no longer holds credentials; keeping the previous ones");
  }
  if (!next.ok()) {
    if (next.status().message() == lastError_) {
      return std::nullopt;  // reported already
    }
    lastError_ = next.status().message();
    return next.status();
  }
  lastError_.clear();
  if (*next == current) {
    return std::nullopt;
  }
  source_->set(std::move(*next));
  return okStatus();
}

}  // namespace hm
