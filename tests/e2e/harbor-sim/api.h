// harbor-sim's /api/v2.0 endpoints beyond projects: robots.
#pragma once

#include <optional>
#include <string>

#include "harbormaster/net/server.h"
#include "state.h"

namespace harborsim {

struct Caller {
  bool admin = false;
  std::optional<Robot> robot;
  bool anonymous() const { return !admin && !robot; }
};

hm::net::HttpResponse harborError(int status, const std::string& code, const std::string& message);
// Decodes one level of query-string escaping ('+' is a space), as Go's url.QueryUnescape.
std::string formDecode(std::string_view s);
std::multimap<std::string, std::string> queryOf(std::string_view target);

hm::net::HttpResponse robotsApi(State& state, const hm::net::HttpRequest& req,
                                const Caller& caller);

}  // namespace harborsim
