// Errors as values at module boundaries.
//
//   hm::StatusOr<Reference> ref = imageref::parse(text);
//   if (!ref.ok()) return ref.status();
//
// Each code has one retry meaning, so callers branch on the code, never on the message:
//   InvalidArgument     the input is wrong; retrying the same input fails the same way.
//   NotFound            the thing does not exist; retry only after it was created.
//   Conflict            lost a race (resourceVersion, name taken); re-read and retry.
//   Unavailable         the peer is down or overloaded; retry with backoff.
//   DeadlineExceeded    the call's deadline passed; retry with backoff if the caller still can.
//   Unauthenticated     credentials missing or rejected; retry after fixing them.
//   PermissionDenied    credentials valid but insufficient; retry after granting rights.
//   FailedPrecondition  the system is not in a state that allows this; fix the state first.
//   Internal            a bug or a broken invariant; do not retry.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <variant>

namespace hm {

enum class StatusCode {
  kOk,
  kInvalidArgument,
  kNotFound,
  kConflict,
  kUnavailable,
  kDeadlineExceeded,
  kUnauthenticated,
  kPermissionDenied,
  kFailedPrecondition,
  kInternal,
  kAlreadyExists,      // create found the object there (Kubernetes AlreadyExists)
  kGone,               // the requested version is no longer kept (HTTP 410: re-list)
  kResourceExhausted,  // the server asks us to slow down (HTTP 429)
  kUnimplemented,      // valid input that uses something not supported (yet)
};

std::string_view statusCodeName(StatusCode code);

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  [[nodiscard]] bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "InvalidArgument: message", for logs and CLI output.
  std::string toString() const;

  // Returns a copy whose message is "context: message"; the code is kept.
  Status withContext(std::string_view context) const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

inline Status okStatus() {
  return {};
}
inline Status invalidArgument(std::string m) {
  return {StatusCode::kInvalidArgument, std::move(m)};
}
inline Status notFound(std::string m) {
  return {StatusCode::kNotFound, std::move(m)};
}
inline Status conflict(std::string m) {
  return {StatusCode::kConflict, std::move(m)};
}
inline Status unavailable(std::string m) {
  return {StatusCode::kUnavailable, std::move(m)};
}
inline Status deadlineExceeded(std::string m) {
  return {StatusCode::kDeadlineExceeded, std::move(m)};
}
inline Status failedPrecondition(std::string m) {
  return {StatusCode::kFailedPrecondition, std::move(m)};
}
inline Status internalError(std::string m) {
  return {StatusCode::kInternal, std::move(m)};
}
inline Status unauthenticated(std::string m) {
  return {StatusCode::kUnauthenticated, std::move(m)};
}
inline Status permissionDenied(std::string m) {
  return {StatusCode::kPermissionDenied, std::move(m)};
}
inline Status alreadyExists(std::string m) {
  return {StatusCode::kAlreadyExists, std::move(m)};
}
inline Status unimplemented(std::string m) {
  return {StatusCode::kUnimplemented, std::move(m)};
}
inline Status gone(std::string m) {
  return {StatusCode::kGone, std::move(m)};
}
inline Status resourceExhausted(std::string m) {
  return {StatusCode::kResourceExhausted, std::move(m)};
}

[[nodiscard]] inline bool isInvalidArgument(const Status& s) {
  return s.code() == StatusCode::kInvalidArgument;
}
[[nodiscard]] inline bool isNotFound(const Status& s) {
  return s.code() == StatusCode::kNotFound;
}
[[nodiscard]] inline bool isUnavailable(const Status& s) {
  return s.code() == StatusCode::kUnavailable;
}
[[nodiscard]] inline bool isDeadlineExceeded(const Status& s) {
  return s.code() == StatusCode::kDeadlineExceeded;
}

// A value or the Status that explains why there is none.
template <typename T>
class [[nodiscard]] StatusOr {
 public:
  StatusOr(T value) : data_(std::move(value)) {}        // NOLINT: implicit by design
  StatusOr(Status status) : data_(std::move(status)) {  // NOLINT: implicit by design
    if (std::get<Status>(data_).ok()) {
      data_ = Status(StatusCode::kInternal, "StatusOr built from an OK status without a value");
    }
  }

  [[nodiscard]] bool ok() const { return std::holds_alternative<T>(data_); }
  const Status& status() const {
    static const Status kOk;
    return ok() ? kOk : std::get<Status>(data_);
  }
  const T& value() const& { return std::get<T>(data_); }
  T& value() & { return std::get<T>(data_); }
  T&& value() && { return std::get<T>(std::move(data_)); }
  const T& operator*() const& { return value(); }
  T& operator*() & { return value(); }
  const T* operator->() const { return &value(); }
  T* operator->() { return &value(); }

 private:
  std::variant<T, Status> data_;
};

}  // namespace hm

#define HM_RETURN_IF_ERROR(expr)          \
  do {                                    \
    ::hm::Status hm_status_tmp_ = (expr); \
    if (!hm_status_tmp_.ok()) {           \
      return hm_status_tmp_;              \
    }                                     \
  } while (false)

// HM_RETURN_IF_ERROR for coroutines returning awaitable<StatusOr<T>> or awaitable<Status>.
#define HM_RETURN_IF_ERROR_CO(expr)       \
  do {                                    \
    ::hm::Status hm_status_tmp_ = (expr); \
    if (!hm_status_tmp_.ok()) {           \
      co_return hm_status_tmp_;           \
    }                                     \
  } while (false)
