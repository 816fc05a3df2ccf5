#include "support/tls_client.h"

#include <openssl/x509.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

namespace hm::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

struct Client::Impl {
  asio::io_context ioc;
  asio::ssl::context ctx{asio::ssl::context::tls_client};
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls;
  std::optional<beast::tcp_stream> plain;
  beast::flat_buffer buffer;

  template <typename F>
  auto withStream(F&& f) {
    if (tls) {
      return f(*tls);
    }
    return f(*plain);
  }
};

Client::Client(uint16_t port, bool useTls, int maxTlsVersion) : impl_(std::make_unique<Impl>()) {
  tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  if (useTls) {
    // Tests use self-signed certificates; what is verified here is the protocol, not trust.
    impl_->ctx.set_verify_mode(asio::ssl::verify_none);
    if (maxTlsVersion != 0) {
      SSL_CTX_set_security_level(impl_->ctx.native_handle(), 0);  // allow offering old versions
      SSL_CTX_set_min_proto_version(impl_->ctx.native_handle(), TLS1_VERSION);
      SSL_CTX_set_max_proto_version(impl_->ctx.native_handle(), maxTlsVersion);
    }
    impl_->tls.emplace(impl_->ioc, impl_->ctx);
    beast::get_lowest_layer(*impl_->tls).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(*impl_->tls).connect(ep);
    SSL_set_tlsext_host_name(impl_->tls->native_handle(), "localhost");
    impl_->tls->handshake(asio::ssl::stream_base::client);
  } else {
    impl_->plain.emplace(impl_->ioc);
    impl_->plain->expires_after(std::chrono::seconds(30));
    impl_->plain->connect(ep);
  }
}

Client::~Client() = default;
Client::Client(Client&&) noexcept = default;

Reply Client::request(const std::string& method, const std::string& target, const std::string& body,
                      const std::string& contentType) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "localhost");
  if (!body.empty() || method == "POST") {
    req.set(http::field::content_type, contentType);
    req.body() = body;
  }
  req.keep_alive(true);
  req.prepare_payload();
  impl_->withStream([&](auto& s) {
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    http::write(s, req);
    return 0;
  });
  return readReply();
}

void Client::writeRaw(const std::string& bytes) {
  impl_->withStream([&](auto& s) {
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    asio::write(s, asio::buffer(bytes));
    return 0;
  });
}

Reply Client::readReply() {
  return impl_->withStream([&](auto& s) {
    http::response_parser<http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    http::read(s, impl_->buffer, parser);
    auto& res = parser.get();
    Reply r;
    r.status = static_cast<int>(res.result_int());
    r.body = res.body();
    r.keepAlive = res.keep_alive();
    for (const auto& f : res) {
      r.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    }
    return r;
  });
}

bool Client::closedByPeer() {
  return impl_->withStream([&](auto& s) {
    beast::get_lowest_layer(s).expires_after(std::chrono::seconds(30));
    char c;
    beast::error_code ec;
    s.read_some(asio::buffer(&c, 1), ec);
    return static_cast<bool>(ec) && ec != beast::error::timeout;
  });
}

std::string Client::peerCommonName() {
  if (!impl_->tls) {
    return "";
  }
  X509* cert = SSL_get1_peer_certificate(impl_->tls->native_handle());
  if (cert == nullptr) {
    return "";
  }
  char cn[256] = {0};
  X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, cn, sizeof(cn));
  X509_free(cert);
  return cn;
}

}  // namespace hm::testing

namespace hm::testing {

std::string Client::tlsVersion() {
  return impl_->tls ? SSL_get_version(impl_->tls->native_handle()) : "";
}

}  // namespace hm::testing
