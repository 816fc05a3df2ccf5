// kube-sim: a Kubernetes API peer for tests. See README.md.
#include "harbormaster/net/server.h"

#include <algorithm>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fstream>
#include <iostream>
#include <thread>

#include "harbormaster/base/encoding.h"
#include "harbormaster/base/files.h"
#include "harbormaster/base/log.h"
#include "harbormaster/base/time.h"
#include "store.h"

namespace kubesim {
namespace {

namespace asio = boost::asio;
using hm::net::HttpRequest;
using hm::net::HttpResponse;
using nlohmann::json;

HttpResponse reply(int status, const json& body) {
  return {status, "application/json", body.dump(), {}};
}

HttpResponse error(const ApiError& e) {
  return reply(e.code, statusJson(e));
}

std::string param(const std::multimap<std::string, std::string>& q, const std::string& k) {
  auto it = q.find(k);
  return it == q.end() ? "" : it->second;
}

// metadata.managedFields as the API server keeps them: one entry per manager, operation and
// subresource, stamped on every write. The manager is ?fieldManager= (kubectl apply sends
// kubectl-client-side-apply), else the User-Agent up to its first '/', as the API server
// derives it. Field sets are not tracked (kube-sim does no server-side apply merging).
void recordManager(json& object, const HttpRequest& req, const std::string& operation,
                   bool status) {
  auto q = req.query();
  std::string manager = param(q, "fieldManager");
  if (manager.empty()) {
    std::string agent(req.header("User-Agent"));
    manager = agent.substr(0, agent.find('/'));
  }
  if (!object.is_object() || manager.empty()) {
    return;
  }
  json& meta = object["metadata"];
  if (!meta.is_object()) {
    return;
  }
  json entries = meta.contains("managedFields") && meta["managedFields"].is_array()
                     ? meta["managedFields"]
                     : json::array();
  json entry = {{"manager", manager},
                {"operation", operation},
                {"apiVersion", object.value("apiVersion", "")},
                {"time", hm::formatRfc3339(std::chrono::system_clock::now())},
                {"fieldsType", "FieldsV1"},
                {"fieldsV1", json::object()}};
  if (status) {
    entry["subresource"] = "status";
  }
  for (const auto& e : entries) {
    if (e.is_object() && e.value("manager", "") == manager &&
        e.value("operation", "") == operation &&
        e.value("subresource", "") == (status ? "status" : "")) {
      // Known already. (The API server moves its time only when the fields it owns change, so
      // a no-op update stays a no-op.)
      meta["managedFields"] = entries;
      return;
    }
  }
  entries.push_back(std::move(entry));
  meta["managedFields"] = std::move(entries);
}

std::vector<std::string> split(std::string_view path) {
  std::vector<std::string> out;
  size_t start = 1;
  while (start <= path.size()) {
    size_t slash = path.find('/', start);
    std::string seg(path.substr(start, slash == std::string_view::npos ? slash : slash - start));
    if (!seg.empty()) {
      out.push_back(seg);
    }
    if (slash == std::string_view::npos) {
      break;
    }
    start = slash + 1;
  }
  return out;
}

struct Fault {
  std::string method;  // empty: every method
  int status = 0;
  int count = 0;
  std::chrono::milliseconds latency{0};
};

class KubeSim {
 public:
  explicit KubeSim(std::string token) : token_(std::move(token)) {}

  asio::awaitable<HttpResponse> handle(HttpRequest req) {
    std::string path(req.path());
    if (path.rfind("/sim/", 0) == 0) {
      co_return control(req, path);
    }
    Fault fault;
    {
      std::lock_guard lock(mu_);
      ++stats_[req.method + " " + path];
      if ((fault_.count > 0 || fault_.count < 0) &&
          (fault_.method.empty() || fault_.method == req.method)) {
        fault = fault_;
        if (fault_.count > 0) {
          --fault_.count;
        }
      }
    }
    if (fault.latency.count() > 0) {
      asio::steady_timer t(co_await asio::this_coro::executor, fault.latency);
      co_await t.async_wait(asio::use_awaitable);
    }
    if (fault.status != 0) {
      HttpResponse r =
          error({fault.status, fault.status == 429 ? "TooManyRequests" : "InternalError",
                 "fault injected by kube-sim"});
      if (fault.status == 429) {
        r.headers.push_back({"Retry-After", "1"});
      }
      co_return r;
    }
    // As the API server's authenticators: a verified client certificate (CN user, O groups),
    // then the bearer token. Only the token and the system:masters group are authorised.
    const auto& groups = req.clientOrganizations;
    if (!req.clientCommonName.empty()) {
      if (std::find(groups.begin(), groups.end(), "system:masters") == groups.end()) {
        co_return error(
            {403, "Forbidden",
             "User \"" + req.clientCommonName + "\" cannot " + req.method + " " + path});
      }
    } else if (req.header("Authorization") != "Bearer " + token_) {
      co_return error({401, "Unauthorized", "Unauthorized"});
    }
    co_return serve(req, path);
  }

 private:
  HttpResponse control(const HttpRequest& req, const std::string& path) {
    std::lock_guard lock(mu_);
    if (path == "/sim/faults" && req.method == "POST") {
      json b = json::parse(req.body, nullptr, false);
      if (!b.is_object()) {
        return reply(400, {{"error", "need a JSON object"}});
      }
      fault_ = {b.value("method", ""), b.value("status", 0), b.value("count", 1),
                std::chrono::milliseconds(b.value("latency_ms", 0))};
      return reply(200, json::object());
    }
    if (path == "/sim/drop-watches" && req.method == "POST") {
      ++watchGeneration_;
      return reply(200, json::object());
    }
    if (path == "/sim/faults" && req.method == "DELETE") {
      fault_ = {};
      return reply(200, json::object());
    }
    if (path == "/sim/stats") {
      if (req.method == "DELETE") {
        stats_.clear();
      }
      return reply(200, {{"requests", stats_}});
    }
    return reply(404, {{"error", "unknown control path"}});
  }

  HttpResponse serve(const HttpRequest& req, const std::string& path) {
    auto segs = split(path);
    if (path == "/version") {
      return reply(200, {{"major", "1"},
                         {"minor", "32"},
                         {"gitVersion", "v1.32.0-kube-sim"},
                         {"platform", "linux/amd64"}});
    }
    if (path == "/healthz" || path == "/readyz" || path == "/livez") {
      return {200, "text/plain", "ok", {}};
    }
    if (path == "/openapi/v3") {
      return reply(200, openApiRoot());
    }
    if (path.rfind("/openapi/v3/", 0) == 0) {
      json doc = openApiGroupVersion(path.substr(std::string("/openapi/v3/").size()));
      return doc.is_null()
                 ? error({404, "NotFound", "the server could not find the requested resource"})
                 : reply(200, doc);
    }
    if (path == "/api") {
      return reply(200, {{"kind", "APIVersions"},
                         {"versions", {"v1"}},
                         {"serverAddressByClientCIDRs",
                          json::array({{{"clientCIDR", "0.0.0.0/0"}, {"serverAddress", ""}}})}});
    }
    if (path == "/apis") {
      return reply(200, groupList());
    }
    // /api/v1/... or /apis/<group>/<version>/...
    std::string group, version;
    size_t rest = 0;
    if (segs.size() >= 2 && segs[0] == "api") {
      version = segs[1];
      rest = 2;
    } else if (segs.size() >= 3 && segs[0] == "apis") {
      group = segs[1];
      version = segs[2];
      rest = 3;
    } else {
      return error({404, "NotFound", "the server could not find the requested resource"});
    }
    std::vector<std::string> r(segs.begin() + static_cast<std::ptrdiff_t>(rest), segs.end());
    if (r.empty()) {
      return req.method == "GET" ? reply(200, resourceList(group, version))
                                 : error({405, "MethodNotAllowed", "method not allowed"});
    }
    // Resolve [namespaces, ns, resource, name?, sub?] or [resource, name?, sub?].
    std::string ns, resource, name, sub;
    if (r[0] == "namespaces" && r.size() >= 3 && !(r.size() == 3 && r[2] == "status") &&
        !(r.size() == 3 && r[2] == "finalize")) {
      ns = r[1];
      resource = r[2];
      name = r.size() > 3 ? r[3] : "";
      sub = r.size() > 4 ? r[4] : "";
    } else {
      resource = r[0];
      name = r.size() > 1 ? r[1] : "";
      sub = r.size() > 2 ? r[2] : "";
    }
    auto t = store_.type(group, version, resource);
    if (!t || (!ns.empty() && !t->namespaced) || (!sub.empty() && sub != "status") ||
        (sub == "status" && !t->hasStatus)) {
      return error({404, "NotFound", "the server could not find the requested resource"});
    }
    return verb(req, *t, ns, name, sub == "status");
  }

  HttpResponse verb(const HttpRequest& req, const ResourceType& t, const std::string& ns,
                    const std::string& name, bool status) {
    auto q = req.query();
    const std::string& m = req.method;
    if (m == "GET" && (param(q, "watch") == "true" || param(q, "watch") == "1")) {
      return watch(t, ns, q);
    }
    if (m == "GET" && name.empty()) {
      ListOptions o{param(q, "labelSelector"), param(q, "fieldSelector"),
                    std::atoll(param(q, "limit").c_str()), param(q, "continue")};
      return result(store_.list(t, ns, o), 200);
    }
    if (m == "GET") {
      return result(store_.get(t, ns, name), 200);
    }
    std::string contentType(req.header("Content-Type"));
    if (contentType.find("protobuf") != std::string::npos) {
      return error({415, "UnsupportedMediaType",
                    "kube-sim speaks JSON only; the client sent " + contentType});
    }
    json body = json::parse(req.body, nullptr, false);
    FieldValidation validation = FieldValidation::kWarn;
    const std::string fv = param(q, "fieldValidation");
    if (fv == "Ignore") {
      validation = FieldValidation::kIgnore;
    } else if (fv == "Strict") {
      validation = FieldValidation::kStrict;
    } else if (!fv.empty() && fv != "Warn") {
      return error(
          {400, "BadRequest",
           "fieldValidation parameter unsupported: " + fv + " (one of Ignore, Warn or Strict)"});
    }
    if (m == "POST" && name.empty()) {
      if (body.is_discarded()) {
        return error({400, "BadRequest", "the body is not JSON"});
      }
      recordManager(body, req, "Update", false);
      return result(store_.create(t, ns, std::move(body), validation), 201);
    }
    if (m == "PUT" && !name.empty()) {
      if (body.is_discarded()) {
        return error({400, "BadRequest", "the body is not JSON"});
      }
      if (!status) {
        // An update that omits managedFields keeps them, as the API server does.
        auto current = store_.get(t, ns, name);
        if (current.ok() && body.is_object() && body.contains("metadata") &&
            body["metadata"].is_object() && !body["metadata"].contains("managedFields") &&
            (*current.value)["metadata"].contains("managedFields")) {
          body["metadata"]["managedFields"] = (*current.value)["metadata"]["managedFields"];
        }
        recordManager(body, req, "Update", false);
      }
      return result(store_.update(t, ns, name, std::move(body), status, validation), 200);
    }
    if (m == "PATCH" && !name.empty()) {
      return patch(req, t, ns, name, status, body, validation);
    }
    if (m == "DELETE" && !name.empty()) {
      json options = body.is_discarded() ? json::object() : body;
      if (!param(q, "propagationPolicy").empty()) {
        options["propagationPolicy"] = param(q, "propagationPolicy");
      }
      return result(store_.remove(t, ns, name, options), 200);
    }
    return error({405, "MethodNotAllowed", "method " + m + " is not allowed here"});
  }

  // A watch: newline-delimited {"type","object"} events after resourceVersion (or the current
  // objects as ADDED first when none is given), BOOKMARKs every second when allowed, an ERROR
  // event with a 410 Expired Status when the version is older than the history kept.
  HttpResponse watch(const ResourceType& t, const std::string& ns,
                     const std::multimap<std::string, std::string>& q) {
    std::string since = param(q, "resourceVersion");
    const bool bookmarks = param(q, "allowWatchBookmarks") == "true";
    const std::string selector = param(q, "labelSelector");
    const std::string fields = param(q, "fieldSelector");
    int timeout = std::atoi(param(q, "timeoutSeconds").c_str());
    timeout = timeout <= 0 || timeout > 1800 ? 1800 : timeout;
    const int64_t generation = watchGeneration_.load();
    HttpResponse r{200, "application/json", ""};
    r.stream = [this, t, ns, since, bookmarks, selector, fields, timeout,
                generation](hm::net::ChunkWriter& w) -> asio::awaitable<void> {
      auto line = [](const std::string& type, const json& object) {
        return json{{"type", type}, {"object", object}}.dump() + "\n";
      };
      int64_t rv = 0;
      if (since.empty() || since == "0") {
        auto current = store_.list(t, ns, {selector, fields, 0, ""});
        for (const auto& item : (*current.value)["items"]) {
          if (!co_await w.write(line("ADDED", item))) {
            co_return;
          }
        }
        rv = std::stoll((*current.value)["metadata"]["resourceVersion"].get<std::string>());
      } else {
        rv = std::atoll(since.c_str());
      }
      const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(timeout);
      auto nextBookmark = std::chrono::steady_clock::now() + std::chrono::seconds(1);
      asio::steady_timer tick(co_await asio::this_coro::executor);
      while (w.open() && std::chrono::steady_clock::now() < end &&
             watchGeneration_.load() == generation) {
        // Read before the events: every change up to `seen` is then among them, so a bookmark
        // at `seen` skips nothing.
        const int64_t seen = store_.currentVersion();
        std::vector<WatchEvent> events;
        if (!store_.eventsSince(t, ns, rv, events)) {
          ApiError expired{410, "Expired", "too old resource version: " + std::to_string(rv)};
          co_await w.write(line("ERROR", statusJson(expired)));
          co_return;
        }
        for (const auto& e : events) {
          rv = e.resourceVersion;
          const json labels = e.object["metadata"].value("labels", json::object());
          if ((selector.empty() || labelsMatch(selector, labels)) &&
              fieldsMatch(fields, e.object["metadata"])) {
            if (!co_await w.write(line(e.type, e.object))) {
              co_return;
            }
          }
        }
        if (bookmarks && std::chrono::steady_clock::now() >= nextBookmark) {
          rv = std::max(rv, seen);
          json mark = {{"kind", t.kind},
                       {"apiVersion", t.apiVersion()},
                       {"metadata", {{"resourceVersion", std::to_string(rv)}}}};
          if (!co_await w.write(line("BOOKMARK", mark))) {
            co_return;
          }
          nextBookmark = std::chrono::steady_clock::now() + std::chrono::seconds(1);
        }
        tick.expires_after(std::chrono::milliseconds(50));
        co_await tick.async_wait(asio::use_awaitable);
      }
    };
    return r;
  }

  // merge-patch and strategic-merge-patch (merge semantics; our types have no patch-merge-key
  // lists that matter), and json-patch.
  HttpResponse patch(const HttpRequest& req, const ResourceType& t, const std::string& ns,
                     const std::string& name, bool status, const json& body,
                     FieldValidation validation) {
    std::string type(req.header("Content-Type"));
    type = type.substr(0, type.find(';'));
    if (body.is_discarded()) {
      return error({400, "BadRequest", "the patch is not JSON"});
    }
    auto current = store_.get(t, ns, name);
    if (!current.ok()) {
      return error(current.error);
    }
    json next;
    if (type == "application/merge-patch+json" ||
        type == "application/strategic-merge-patch+json") {
      if (type == "application/strategic-merge-patch+json" && t.custom) {
        return error({415, "UnsupportedMediaType",
                      "the body of the request was in an unknown format - accepted media types "
                      "include: application/json-patch+json, application/merge-patch+json, "
                      "application/apply-patch+yaml"});
      }
      next = mergePatch(*current.value, body);
    } else if (type == "application/json-patch+json") {
      std::string why;
      auto patched = jsonPatch(*current.value, body, why);
      if (!patched) {
        return error({422, "Invalid", "the JSON patch failed: " + why});
      }
      next = std::move(*patched);
    } else {
      return error({415, "UnsupportedMediaType", "unsupported patch type " + type});
    }
    // A patch applies to what it read, unless it carries its own resourceVersion.
    if (!body.is_object() || !body.contains("metadata") ||
        !body["metadata"].contains("resourceVersion")) {
      next["metadata"]["resourceVersion"] = (*current.value)["metadata"]["resourceVersion"];
    }
    if (!status) {
      recordManager(next, req, type == "application/apply-patch+yaml" ? "Apply" : "Update", false);
    }
    return result(store_.update(t, ns, name, std::move(next), status, validation), 200);
  }

  static HttpResponse result(const Result<json>& r, int okStatus) {
    if (!r.ok()) {
      return error(r.error);
    }
    HttpResponse out = reply(okStatus, *r.value);
    for (const auto& w : r.warnings) {
      out.headers.push_back({"Warning", "299 - " + json(w).dump()});
    }
    return out;
  }

  // OpenAPI v3 discovery: one document per group/version. kubectl reads the PATCH operations'
  // parameters to learn that the server validates fields itself (fieldValidation), and then
  // sends fieldValidation=Strict instead of validating on the client against schemas.
  json openApiRoot() {
    json paths = json::object();
    for (const auto& t : store_.types()) {
      std::string gv = t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version;
      if (!paths.contains(gv)) {
        json doc = openApiGroupVersion(gv);
        paths[gv] = {{"serverRelativeURL", "/openapi/v3/" + gv + "?hash=" + hashOf(doc.dump())}};
      }
    }
    return {{"paths", paths}};
  }

  json openApiGroupVersion(const std::string& gv) {
    json paths = json::object();
    json schemas = json::object();
    for (const auto& t : store_.types()) {
      std::string mine = t.group.empty() ? "api/" + t.version : "apis/" + t.group + "/" + t.version;
      if (mine != gv) {
        continue;
      }
      json gvk = {{"group", t.group}, {"version", t.version}, {"kind", t.kind}};
      json fieldValidation = {{"name", "fieldValidation"},
                              {"in", "query"},
                              {"schema", {{"type", "string"}, {"uniqueItems", true}}}};
      json op = {{"x-kubernetes-group-version-kind", gvk},
                 {"x-kubernetes-action", "patch"},
                 {"parameters", json::array({fieldValidation})},
                 {"responses", {{"200", {{"description", "OK"}}}}}};
      std::string item =
          "/" + gv + (t.namespaced ? "/namespaces/{namespace}/" : "/") + t.resource + "/{name}";
      json put = op;
      put["x-kubernetes-action"] = "put";
      paths[item] = {{"patch", op}, {"put", put}};
      json schema = store_.schema(t);
      if (!schema.is_null()) {
        schema["x-kubernetes-group-version-kind"] = json::array({gvk});
        schemas[(t.group.empty() ? "io.k8s.api.core" : t.group) + "." + t.version + "." + t.kind] =
            schema;
      }
    }
    if (paths.empty()) {
      return nullptr;
    }
    return {{"openapi", "3.0.0"},
            {"info", {{"title", "Kubernetes"}, {"version", "v1.32.0-kube-sim"}}},
            {"paths", paths},
            {"components", {{"schemas", schemas}}}};
  }

  static std::string hashOf(const std::string& text) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016zx", std::hash<std::string>{}(text));
    return buf;
  }

  json groupList() {
    std::map<std::string, std::vector<std::string>> versions;
    for (const auto& t : store_.types()) {
      if (!t.group.empty()) {
        auto& v = versions[t.group];
        if (std::find(v.begin(), v.end(), t.version) == v.end()) {
          v.push_back(t.version);
        }
      }
    }
    json groups = json::array();
    for (const auto& [group, vs] : versions) {
      json list = json::array();
      for (const auto& v : vs) {
        list.push_back({{"groupVersion", group + "/" + v}, {"version", v}});
      }
      groups.push_back({{"name", group}, {"versions", list}, {"preferredVersion", list[0]}});
    }
    return {{"kind", "APIGroupList"}, {"apiVersion", "v1"}, {"groups", groups}};
  }

  json resourceList(const std::string& group, const std::string& version) {
    json resources = json::array();
    for (const auto& t : store_.types()) {
      if (t.group != group || t.version != version) {
        continue;
      }
      resources.push_back(
          {{"name", t.resource},
           {"singularName", t.singular},
           {"namespaced", t.namespaced},
           {"kind", t.kind},
           {"shortNames", t.shortNames},
           {"categories", store_.categories(t)},
           {"verbs",
            {"create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"}}});
      if (t.hasStatus) {
        resources.push_back({{"name", t.resource + "/status"},
                             {"singularName", ""},
                             {"namespaced", t.namespaced},
                             {"kind", t.kind},
                             {"verbs", {"get", "patch", "update"}}});
      }
    }
    return {{"kind", "APIResourceList"},
            {"apiVersion", "v1"},
            {"groupVersion", group.empty() ? version : group + "/" + version},
            {"resources", resources}};
  }

  std::string token_;
  Store store_;
  std::mutex mu_;
  Fault fault_;
  std::map<std::string, int64_t> stats_;
  std::atomic<int64_t> watchGeneration_{0};
};

int run(int argc, char** argv) {
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    flags[argv[i]] = argv[i + 1];
  }
  for (const char* required : {"--listen", "--tls-cert", "--tls-key", "--token"}) {
    if (!flags.count(required)) {
      std::cerr << "usage: kube-sim --listen HOST:PORT --tls-cert F --tls-key F --token T "
                   "[--client-ca F] [--kubeconfig-out F] [--ports-file F]\n";
      return 2;
    }
  }
  auto listen = hm::net::parseListenAddress(flags["--listen"]);
  if (!listen.ok()) {
    std::cerr << "kube-sim: " << listen.status().message() << "\n";
    return 2;
  }
  asio::io_context ioc;
  KubeSim sim(flags["--token"]);
  hm::net::ServerOptions so;
  so.address = listen->first;
  so.port = listen->second;
  so.tls = hm::net::TlsFiles{flags["--tls-cert"], flags["--tls-key"], flags["--client-ca"]};
  auto server =
      hm::net::Server::create(ioc, so, [&sim](HttpRequest r) { return sim.handle(std::move(r)); });
  if (!server.ok()) {
    std::cerr << "kube-sim: " << server.status().message() << "\n";
    return 2;
  }
  (*server)->start();
  std::string url = "https://" + so.address + ":" + std::to_string((*server)->port());
  if (flags.count("--kubeconfig-out")) {
    auto ca = hm::readFile(flags["--tls-cert"]);
    std::ofstream out(flags["--kubeconfig-out"]);
    out << "apiVersion: v1\nkind: Config\ncurrent-context: kube-sim\n"
        << "clusters:\n- name: kube-sim\n  cluster:\n    server: " << url
        << "\n    certificate-authority-data: " << hm::base64Encode(ca.ok() ? *ca : "")
        << "\nusers:\n- name: admin\n  user:\n    token: " << flags["--token"]
        << "\ncontexts:\n- name: kube-sim\n  context: {cluster: kube-sim, user: admin, "
           "namespace: default}\n";
  }
  if (flags.count("--ports-file")) {
    // After the kubeconfig: a test that sees the ports can read it whole.
    auto written = hm::writePortsFile(flags["--ports-file"], {{"listen", (*server)->port()}});
    if (!written.ok()) {
      std::cerr << "kube-sim: " << written.message() << "\n";
      return 2;
    }
  }
  hm::log::info("Started kube-sim", {{"listen", url}});
  asio::signal_set signals(ioc, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    (*server)->shutdown(std::chrono::seconds(2), [&] { ioc.stop(); });
  });
  std::thread second([&] { ioc.run(); });
  ioc.run();
  second.join();
  return 0;
}

}  // namespace
}  // namespace kubesim

int main(int argc, char** argv) {
  return kubesim::run(argc, argv);
}
