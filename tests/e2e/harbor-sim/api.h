// harbor-sim's /api/v2.0 endpoints: who is calling, and the handlers main.cpp dispatches to.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "harbormaster/net/server.h"
#include "state.h"

namespace harborsim {

// The caller after basic auth: the admin (or a sysadmin user), a robot, a user, or anonymous.
struct Caller {
  bool admin = false;
  std::optional<Robot> robot;
  std::optional<User> user;
  bool anonymous() const { return !admin && !robot && !user; }
  // Harbor's RBAC, reduced to what the simulator serves: the admin may do anything, robots
  // follow their permissions, users their project role, and everyone (anonymous too) may
  // read and pull a public project.
  bool can(const Project& project, const std::string& resource, const std::string& action) const;
};

// What GET /systeminfo reports about this simulator.
struct SimInfo {
  std::string externalUrl;  // https://harbor.example.com
};

hm::net::HttpResponse harborError(int status, const std::string& code, const std::string& message);
// 401 for anonymous callers, 403 for the rest.
hm::net::HttpResponse refused(const Caller& caller);
// Decodes one level of query-string escaping ('+' is a space), as Go's url.QueryUnescape.
std::string formDecode(std::string_view s);
// Harbor's list paging: page (from 1) and page_size (default 10, at most 100; 422 otherwise).
struct Paging {
  int64_t page = 1;
  int64_t pageSize = 10;
};
std::optional<hm::net::HttpResponse> readPaging(const hm::net::HttpRequest& req, Paging& out);
// Path segments after decoding the path once (go-swagger's unescape).
std::vector<std::string> segments(std::string_view path);

hm::net::HttpResponse robotsApi(State& state, const hm::net::HttpRequest& req,
                                const Caller& caller);
// /api/v2.0/projects… including members, metadata, artifacts, scans and accessories.
hm::net::HttpResponse projectsApi(State& state, const hm::net::HttpRequest& req,
                                  const Caller& caller);
// /api/v2.0/quotas (projects' storage quotas).
hm::net::HttpResponse quotasApi(State& state, const hm::net::HttpRequest& req,
                                const Caller& caller);
// /api/v2.0/systeminfo, /system/CVEAllowlist and /users.
hm::net::HttpResponse systemApi(State& state, const hm::net::HttpRequest& req, const Caller& caller,
                                const SimInfo& info);

// /api/v2.0/projects/{p}/webhook/policies[/{id}] and /webhook/events.
hm::net::HttpResponse webhooksApi(State& state, const hm::net::HttpRequest& req,
                                  const Caller& caller, const Project& project,
                                  const std::vector<std::string>& segs);

// /api/v2.0/retentions[/{id}] and /retentions/metadatas.
hm::net::HttpResponse retentionsApi(State& state, const hm::net::HttpRequest& req,
                                    const Caller& caller);
// /api/v2.0/projects/{p}/immutabletagrules[/{id}].
hm::net::HttpResponse immutableApi(State& state, const hm::net::HttpRequest& req,
                                   const Caller& caller, const Project& project,
                                   const std::vector<std::string>& segs);

// One POST Harbor's job service makes for an event: to a target of an enabled policy of the
// event's project that subscribes to its type, in the target's payload format.
struct Notification {
  std::string address;
  std::string authHeader;  // sent as Authorization when not empty
  bool skipCertVerify = false;
  std::string eventType;
  std::string contentType;  // application/json, or application/cloudevents+json
  std::string body;
};
// `externalHost` is Harbor's external URL without the scheme (resource_url); ids number the
// CloudEvents.
std::vector<Notification> notificationsFor(const State& state, const HarborEvent& event,
                                           const std::string& externalHost, int64_t& nextId);

}  // namespace harborsim
