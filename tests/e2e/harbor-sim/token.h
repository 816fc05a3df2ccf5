// The registry token service's JWTs, as Harbor's core issues them for its distribution registry:
// ES256 over a P-256 key whose certificate the registry trusts (auth.token.rootcertbundle),
// identified by an x5c header; issuer "harbor-token-issuer", audience the registry service.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "harbormaster/base/status.h"

namespace harborsim {

struct Access {
  std::string type;  // "repository"
  std::string name;  // "team/app"
  std::vector<std::string> actions;
};

class TokenSigner {
 public:
  static hm::StatusOr<std::unique_ptr<TokenSigner>> load(const std::string& certFile,
                                                         const std::string& keyFile);
  ~TokenSigner();
  std::string sign(const std::string& issuer, const std::string& subject,
                   const std::string& audience, const std::vector<Access>& access,
                   int lifetimeSeconds) const;

 private:
  struct Impl;
  explicit TokenSigner(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

std::string base64url(const std::string& bytes);

}  // namespace harborsim
