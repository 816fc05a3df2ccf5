// A small, correct Kubernetes REST client over JSON documents.
//
//   auto kube = hm::kube::Client::create(executor, *config);
//   const hm::kube::Resource secrets{"", "v1", "secrets"};
//   auto s = co_await (*kube)->get(secrets, "shop", "pull-secret", deadline);
//   if (!s.ok() && s.status().code() == hm::StatusCode::kNotFound) { … }
//
// Errors are the API server's metav1.Status mapped to Status codes callers can branch on:
// NotFound, AlreadyExists, Conflict (stale resourceVersion, failed precondition), Gone (410),
// PermissionDenied (Forbidden), Unauthenticated, InvalidArgument (Invalid/BadRequest, with the
// field causes in the message), ResourceExhausted (429, after retrying per Retry-After within the
// deadline for idempotent calls), Unavailable (5xx, connection errors). A 401 drops the cached
// credential and retries once (token files rotate; exec credentials expire early).
#pragma once

#include "harbormaster/net/client.h"

#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "harbormaster/base/status.h"
#include "harbormaster/kube/config.h"

namespace hm::kube {

// Group/version/resource, e.g. {"", "v1", "secrets"} or {"harbormaster.io", "v1alpha1",
// "harborprojects", false}.
struct Resource {
  std::string group;
  std::string version;
  std::string resource;
  bool namespaced = true;

  // /api/v1/namespaces/<ns>/<resource>[/<name>[/<sub>]] or /apis/<group>/<version>/…
  std::string path(const std::string& ns, const std::string& name = "",
                   const std::string& subresource = "") const;
};

struct ListOptions {
  std::string labelSelector;
  std::string fieldSelector;
  int64_t pageSize = 500;  // `limit` per request; every page is fetched
  // Applied to each item as its page arrives (an informer's transform), so a list of every Pod
  // is never held whole, only what is kept of it and one page.
  std::function<nlohmann::json(const nlohmann::json&)> transform;
};

enum class PatchType { kMerge, kJsonPatch, kStrategicMerge };

struct WatchOptions {
  std::string resourceVersion;  // from a list; empty: the current objects arrive as ADDED first
  std::string labelSelector;
  std::string fieldSelector;
  int timeoutSeconds = 300;  // the server ends the watch then; the caller starts a new one
  bool bookmarks = true;     // allowWatchBookmarks: resourceVersion progress without changes
};

struct WatchEvent {
  std::string type;  // ADDED, MODIFIED, DELETED, BOOKMARK
  nlohmann::json object;
};

struct DeleteOptions {
  std::string propagationPolicy;  // Foreground | Background | Orphan; empty: the server's
  std::string uidPrecondition;
  std::string resourceVersionPrecondition;
};

using Deadline = std::chrono::steady_clock::time_point;

class Client {
 public:
  static StatusOr<std::unique_ptr<Client>> create(boost::asio::any_io_executor executor,
                                                  ClusterConfig config);
  virtual ~Client() = default;

  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> get(Resource r, std::string ns,
                                                               std::string name,
                                                               Deadline deadline) = 0;
  // Every page (limit/continue) merged into one list; metadata.resourceVersion is the last
  // page's, from which a watch can start.
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> list(Resource r, std::string ns,
                                                                ListOptions options,
                                                                Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> create(Resource r, std::string ns,
                                                                  nlohmann::json object,
                                                                  Deadline deadline) = 0;
  // PUT of the object (its metadata.name); a stale metadata.resourceVersion is Conflict.
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> update(Resource r, std::string ns,
                                                                  nlohmann::json object,
                                                                  Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> updateStatus(Resource r, std::string ns,
                                                                        nlohmann::json object,
                                                                        Deadline deadline) = 0;
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> patch(Resource r, std::string ns,
                                                                 std::string name, PatchType type,
                                                                 nlohmann::json patch,
                                                                 Deadline deadline,
                                                                 bool status = false) = 0;
  // Streams events to `onEvent` until the server ends the watch (OK), onEvent returns false
  // (OK), or something fails: an ERROR event with 410 Expired is Gone (re-list, then watch from
  // the new list's resourceVersion); other errors as for the other calls.
  virtual boost::asio::awaitable<Status> watch(Resource r, std::string ns, WatchOptions options,
                                               std::function<bool(const WatchEvent&)> onEvent,
                                               Deadline deadline) = 0;
  // The object as the server returned it: gone, or still there with a deletionTimestamp while
  // finalizers run.
  virtual boost::asio::awaitable<StatusOr<nlohmann::json>> remove(Resource r, std::string ns,
                                                                  std::string name,
                                                                  DeleteOptions options,
                                                                  Deadline deadline) = 0;
};

// metav1.Status (or any error answer) → Status with the server's reason and causes.
Status errorFromResponse(int httpCode, std::string_view body, const std::string& what);

}  // namespace hm::kube
