// WWW-Authenticate challenges (RFC 7235) as registries send them:
//   Bearer realm="https://harbor.example.com/service/token",service="harbor-registry",
//          scope="repository:team/app:pull,push"
#pragma once

#include <map>
#include <string>
#include <string_view>

#include "harbormaster/base/status.h"

namespace hm::registry {

struct Challenge {
  std::string scheme;                         // lower-cased: "bearer", "basic"
  std::map<std::string, std::string> params;  // keys lower-cased

  std::string param(const std::string& key) const;
};

// Parses the first challenge of a header value. Quoted strings may hold commas and escaped
// quotes; anything malformed is an InvalidArgument naming the problem.
StatusOr<Challenge> parseChallenge(std::string_view header);

}  // namespace hm::registry
