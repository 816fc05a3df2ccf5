#include "harbormaster/kube/client.h"

#include "harbormaster/base/encoding.h"
#include "harbormaster/kube/credentials.h"

namespace hm::kube {

namespace asio = boost::asio;
using asio::awaitable;
using nlohmann::json;

std::string Resource::path(const std::string& ns, const std::string& name,
                           const std::string& subresource) const {
  std::string out = group.empty() ? "/api/" + version : "/apis/" + group + "/" + version;
  if (namespaced && !ns.empty()) {
    out += "/namespaces/" + hm::percentEncode(ns);
  }
  out += "/" + resource;
  if (!name.empty()) {
    out += "/" + hm::percentEncode(name);
  }
  if (!subresource.empty()) {
    out += "/" + subresource;
  }
  return out;
}

Status errorFromResponse(int httpCode, std::string_view body, const std::string& what) {
  json j = json::parse(body, nullptr, false);
  std::string reason, message;
  if (j.is_object() && j.value("kind", "") == "Status") {
    reason = j.value("reason", "");
    message = j.value("message", "");
    if (j.contains("details") && j["details"].is_object() && j["details"].contains("causes") &&
        j["details"]["causes"].is_array()) {
      for (const auto& c : j["details"]["causes"]) {
        if (c.is_object()) {
          message += "; " + c.value("field", "") + ": " + c.value("message", "");
        }
      }
    }
  }
  if (message.empty()) {
    message = "HTTP " + std::to_string(httpCode);
  }
  message = what + ": " + message.substr(0, 1000);
  // The Status reason is more precise than the code where the two differ (a 409 is a conflict
  // or an existing name; an ERROR event's 410 arrives as reason Expired).
  if (reason == "AlreadyExists") {
    return alreadyExists(message);
  }
  if (reason == "Gone" || reason == "Expired") {
    return gone(message);
  }
  return net::statusFromHttp(httpCode, message);
}

namespace {

net::ClientOptions httpOptions(const ClusterConfig& config) {
  net::ClientOptions co;
  co.insecureSkipVerify = config.insecureSkipTlsVerify;
  if (!config.caPem.empty()) {
    co.caPem = config.caPem;
  }
  if (!config.tlsServerName.empty()) {
    co.serverName = config.tlsServerName;
  }
  if (!config.clientCertPem.empty()) {
    co.clientCertPem = config.clientCertPem;
    co.clientKeyPem = config.clientKeyPem;
  }
  co.userAgent = "harbormaster";
  return co;
}

// The API server over HTTPS: the only implementation outside tests.
class RestClient final : public Client {
 public:
  RestClient(boost::asio::any_io_executor executor, ClusterConfig config,
             std::shared_ptr<net::HttpClient> http);

  boost::asio::awaitable<StatusOr<nlohmann::json>> get(Resource r, std::string ns, std::string name,
                                                       Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> list(Resource r, std::string ns,
                                                        ListOptions options,
                                                        Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> create(Resource r, std::string ns,
                                                          nlohmann::json object,
                                                          Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> update(Resource r, std::string ns,
                                                          nlohmann::json object,
                                                          Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> updateStatus(Resource r, std::string ns,
                                                                nlohmann::json object,
                                                                Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> patch(Resource r, std::string ns,
                                                         std::string name, PatchType type,
                                                         nlohmann::json patch, Deadline deadline,
                                                         bool status = false) override;
  boost::asio::awaitable<Status> watch(Resource r, std::string ns, WatchOptions options,
                                       std::function<bool(const WatchEvent&)> onEvent,
                                       Deadline deadline) override;
  boost::asio::awaitable<StatusOr<nlohmann::json>> remove(Resource r, std::string ns,
                                                          std::string name, DeleteOptions options,
                                                          Deadline deadline) override;

 private:
  // The HTTP client for the next call: rebuilt when an exec plugin's certificate changes.
  StatusOr<std::shared_ptr<net::HttpClient>> httpClient();
  // Adds the current credential; a 401 drops it and tries once more; non-2xx is a Status.
  boost::asio::awaitable<StatusOr<net::ClientResponse>> send(net::ClientRequest req,
                                                             std::string what);
  boost::asio::awaitable<StatusOr<nlohmann::json>> call(std::string method, std::string path,
                                                        std::string contentType, std::string body,
                                                        Deadline deadline);

  boost::asio::any_io_executor executor_;
  ClusterConfig config_;
  std::mutex httpMu_;
  std::shared_ptr<net::HttpClient> http_;
  std::optional<std::pair<std::string, std::string>> httpCert_;  // what http_ presents
  Credentials credentials_;
};

}  // namespace

StatusOr<std::unique_ptr<Client>> Client::create(asio::any_io_executor executor,
                                                 ClusterConfig config) {
  auto url = net::parseUrl(config.server);
  if (!url.ok()) {
    return url.status().withContext(config.source + ": server");
  }
  if (url->scheme != "https") {
    return invalidArgument(config.source + ": server " + config.server + " must be https");
  }
  auto http = net::HttpClient::create(executor, httpOptions(config));
  if (!http.ok()) {
    return http.status().withContext(config.source);
  }
  return std::unique_ptr<Client>(new RestClient(
      std::move(executor), std::move(config), std::shared_ptr<net::HttpClient>(std::move(*http))));
}

RestClient::RestClient(asio::any_io_executor executor, ClusterConfig config,
                       std::shared_ptr<net::HttpClient> http)
    : executor_(std::move(executor)),
      config_(config),
      http_(std::move(http)),
      credentials_(std::move(config)) {}

StatusOr<std::shared_ptr<net::HttpClient>> RestClient::httpClient() {
  auto cert = credentials_.execClientCertificate();
  std::lock_guard lock(httpMu_);
  if (cert == httpCert_) {
    return http_;
  }
  // An exec plugin handed out a (new) client certificate: new connections must present it.
  net::ClientOptions co = httpOptions(config_);
  if (cert) {
    co.clientCertPem = cert->first;
    co.clientKeyPem = cert->second;
  }
  auto http = net::HttpClient::create(executor_, co);
  if (!http.ok()) {
    return http.status().withContext(config_.source + ": exec credential plugin certificate");
  }
  http_ = std::shared_ptr<net::HttpClient>(std::move(*http));
  httpCert_ = cert;
  return http_;
}

awaitable<StatusOr<net::ClientResponse>> RestClient::send(net::ClientRequest req,
                                                          std::string what) {
  for (int attempt = 0;; ++attempt) {
    // Named first: GCC 12 mishandles temporaries in a co_awaited call's arguments.
    const WallTime now = std::chrono::system_clock::now();
    // A call without a deadline waits for the plugin as long as the plugin may run (30 s).
    const Deadline deadline =
        req.deadline.value_or(std::chrono::steady_clock::now() + std::chrono::seconds(30));
    auto auth = co_await credentials_.authorization(now, deadline);
    if (!auth.ok()) {
      co_return auth.status();
    }
    net::ClientRequest attemptReq = req;
    if (!auth->empty()) {
      attemptReq.headers.push_back({"Authorization", *auth});
    }
    auto http = httpClient();
    if (!http.ok()) {
      co_return http.status();
    }
    auto res = co_await (*http)->send(std::move(attemptReq));
    if (!res.ok()) {
      co_return res.status().withContext("Kubernetes API " + config_.server);
    }
    // No body was handed over on a 401, so a streamed request is safe to repeat too.
    if (res->status == 401 && attempt == 0) {
      credentials_.invalidate();
      continue;
    }
    if (res->status < 200 || res->status > 299) {
      co_return errorFromResponse(res->status, res->body, what);
    }
    co_return res;
  }
}

awaitable<StatusOr<json>> RestClient::call(std::string method, std::string path,
                                           std::string contentType, std::string body,
                                           Deadline deadline) {
  net::ClientRequest req;
  req.method = method;
  req.url = config_.server + path;
  req.deadline = deadline;
  req.body = std::move(body);
  req.headers.push_back({"Accept", "application/json"});
  if (!contentType.empty()) {
    req.headers.push_back({"Content-Type", contentType});
  }
  const std::string what = method + " " + path;
  auto res = co_await send(std::move(req), what);
  if (!res.ok()) {
    co_return res.status();
  }
  json j = json::parse(res->body, nullptr, false);
  if (!j.is_object()) {
    co_return unavailable(what + ": the answer is not a JSON object");
  }
  co_return j;
}

awaitable<StatusOr<json>> RestClient::get(Resource r, std::string ns, std::string name,
                                          Deadline deadline) {
  std::string path = r.path(ns, name);
  co_return co_await call("GET", std::move(path), "", "", deadline);
}

awaitable<StatusOr<json>> RestClient::list(Resource r, std::string ns, ListOptions options,
                                           Deadline deadline) {
  json merged;
  std::string cont;
  for (int page = 0; page < 100000; ++page) {
    std::string path = r.path(ns) + "?limit=" + std::to_string(options.pageSize);
    if (!options.labelSelector.empty()) {
      path += "&labelSelector=" + hm::percentEncode(options.labelSelector);
    }
    if (!options.fieldSelector.empty()) {
      path += "&fieldSelector=" + hm::percentEncode(options.fieldSelector);
    }
    if (!cont.empty()) {
      path += "&continue=" + hm::percentEncode(cont);
    }
    auto res = co_await call("GET", std::move(path), "", "", deadline);
    if (!res.ok()) {
      co_return res.status();
    }
    json& list = *res;
    if (!list.contains("items") || !list["items"].is_array()) {
      co_return unavailable("list of " + r.resource + ": the answer has no items");
    }
    if (options.transform) {
      for (auto& item : list["items"]) {
        item = options.transform(item);
      }
    }
    if (merged.is_null()) {
      merged = list;
    } else {
      for (auto& item : list["items"]) {
        merged["items"].push_back(std::move(item));
      }
      merged["metadata"] = list["metadata"];
    }
    cont = list.contains("metadata") && list["metadata"].is_object()
               ? list["metadata"].value("continue", "")
               : "";
    if (cont.empty()) {
      break;
    }
  }
  if (merged.contains("metadata") && merged["metadata"].is_object()) {
    merged["metadata"].erase("continue");
    merged["metadata"].erase("remainingItemCount");
  }
  co_return merged;
}

awaitable<Status> RestClient::watch(Resource r, std::string ns, WatchOptions options,
                                    std::function<bool(const WatchEvent&)> onEvent,
                                    Deadline deadline) {
  std::string path =
      r.path(ns) + "?watch=true&timeoutSeconds=" + std::to_string(options.timeoutSeconds);
  if (options.bookmarks) {
    path += "&allowWatchBookmarks=true";
  }
  if (!options.resourceVersion.empty()) {
    path += "&resourceVersion=" + hm::percentEncode(options.resourceVersion);
  }
  if (!options.labelSelector.empty()) {
    path += "&labelSelector=" + hm::percentEncode(options.labelSelector);
  }
  if (!options.fieldSelector.empty()) {
    path += "&fieldSelector=" + hm::percentEncode(options.fieldSelector);
  }
  const std::string what = "watch " + path.substr(0, path.find('?'));
  std::string pending;  // a line split across chunks
  Status streamError = okStatus();
  net::ClientRequest req;
  req.method = "GET";
  req.url = config_.server + path;
  req.deadline = deadline;
  req.idempotent = false;  // a retry would replay events
  req.headers.push_back({"Accept", "application/json"});
  req.onBodyData = [&](std::string_view data) {
    pending.append(data);
    size_t nl;
    while ((nl = pending.find('\n')) != std::string::npos) {
      json line = json::parse(pending.substr(0, nl), nullptr, false);
      pending.erase(0, nl + 1);
      if (!line.is_object() || !line.contains("type") || !line["type"].is_string()) {
        streamError = unavailable(what + ": a watch event is not JSON");
        return false;
      }
      WatchEvent e{line["type"].get<std::string>(), line.value("object", json::object())};
      if (e.type == "ERROR") {
        streamError = errorFromResponse(e.object.value("code", 500), e.object.dump(), what);
        return false;
      }
      if (!onEvent(e)) {
        return false;
      }
    }
    return true;
  };
  auto res = co_await send(std::move(req), what);
  if (!res.ok()) {
    co_return res.status();
  }
  co_return streamError;
}

awaitable<StatusOr<json>> RestClient::create(Resource r, std::string ns, json object,
                                             Deadline deadline) {
  std::string path = r.path(ns);
  co_return co_await call("POST", std::move(path), "application/json", object.dump(), deadline);
}

namespace {

std::string nameOf(const json& object) {
  return object.is_object() && object.contains("metadata") && object["metadata"].is_object()
             ? object["metadata"].value("name", "")
             : "";
}

}  // namespace

awaitable<StatusOr<json>> RestClient::update(Resource r, std::string ns, json object,
                                             Deadline deadline) {
  std::string name = nameOf(object);
  if (name.empty()) {
    co_return invalidArgument("update of " + r.resource + ": the object has no metadata.name");
  }
  std::string path = r.path(ns, name);
  co_return co_await call("PUT", std::move(path), "application/json", object.dump(), deadline);
}

awaitable<StatusOr<json>> RestClient::updateStatus(Resource r, std::string ns, json object,
                                                   Deadline deadline) {
  std::string name = nameOf(object);
  if (name.empty()) {
    co_return invalidArgument("status update of " + r.resource +
                              ": the object has no metadata.name");
  }
  std::string path = r.path(ns, name, "status");
  co_return co_await call("PUT", std::move(path), "application/json", object.dump(), deadline);
}

awaitable<StatusOr<json>> RestClient::patch(Resource r, std::string ns, std::string name,
                                            PatchType type, json patch, Deadline deadline,
                                            bool status) {
  std::string contentType = type == PatchType::kMerge ? "application/merge-patch+json"
                            : type == PatchType::kJsonPatch
                                ? "application/json-patch+json"
                                : "application/strategic-merge-patch+json";
  std::string path = r.path(ns, name, status ? "status" : "");
  co_return co_await call("PATCH", std::move(path), std::move(contentType), patch.dump(), deadline);
}

awaitable<StatusOr<json>> RestClient::remove(Resource r, std::string ns, std::string name,
                                             DeleteOptions options, Deadline deadline) {
  json body = {{"kind", "DeleteOptions"}, {"apiVersion", "v1"}};
  if (!options.propagationPolicy.empty()) {
    body["propagationPolicy"] = options.propagationPolicy;
  }
  if (!options.uidPrecondition.empty() || !options.resourceVersionPrecondition.empty()) {
    body["preconditions"] = json::object();
    if (!options.uidPrecondition.empty()) {
      body["preconditions"]["uid"] = options.uidPrecondition;
    }
    if (!options.resourceVersionPrecondition.empty()) {
      body["preconditions"]["resourceVersion"] = options.resourceVersionPrecondition;
    }
  }
  std::string path = r.path(ns, name);
  co_return co_await call("DELETE", std::move(path), "application/json", body.dump(), deadline);
}

}  // namespace hm::kube
