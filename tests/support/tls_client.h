#pragma once

#include <memory>
#include <string>
#include <vector>

namespace hm::testing {

struct Reply {
  int status = 0;
  std::string body;
  bool keepAlive = false;
  std::vector<std::pair<std::string, std::string>> headers;
};

// A blocking HTTPS (or HTTP) client on one keep-alive connection to 127.0.0.1:port. Throws on
// I/O errors: tests that expect a closed connection catch them.
class Client {
 public:
  // maxTlsVersion: 0 for OpenSSL's default, or e.g. TLS1_1_VERSION to offer nothing newer.
  explicit Client(uint16_t port, bool tls = true, int maxTlsVersion = 0);
  ~Client();
  Client(Client&&) noexcept;

  Reply request(const std::string& method, const std::string& target, const std::string& body = "",
                const std::string& contentType = "application/json");
  Reply post(const std::string& target, const std::string& body) {
    return request("POST", target, body);
  }
  Reply get(const std::string& target) { return request("GET", target); }

  // Raw bytes, for malformed-request tests; readReply() then reads one response.
  void writeRaw(const std::string& bytes);
  Reply readReply();
  // True when the server has closed the connection (a read sees EOF or an error).
  bool closedByPeer();
  // The CN of the certificate the server presented.
  std::string peerCommonName();
  // "TLSv1.3", "TLSv1.2", …
  std::string tlsVersion();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace hm::testing
