#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "harbormaster/net/server.h"

#include "harbormaster/base/encoding.h"

namespace hm::net {

StatusOr<std::pair<std::string, uint16_t>> parseListenAddress(std::string_view text) {
  auto bad = [&] {
    return invalidArgument("listen address \"" + std::string(text) +
                           "\" must be HOST:PORT, :PORT or [IPv6]:PORT");
  };
  size_t colon = text.rfind(':');
  if (colon == std::string_view::npos) {
    return bad();
  }
  std::string host(text.substr(0, colon));
  std::string_view port = text.substr(colon + 1);
  if (port.empty() || port.size() > 5 ||
      !std::all_of(port.begin(), port.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    return bad();
  }
  int value = std::stoi(std::string(port));
  if (value > 65535) {
    return bad();
  }
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  if (host.empty()) {
    host = "0.0.0.0";
  }
  boost::system::error_code ec;
  boost::asio::ip::make_address(host, ec);
  if (ec) {
    return invalidArgument("listen address \"" + std::string(text) +
                           "\": host must be an IP address");
  }
  return std::make_pair(host, static_cast<uint16_t>(value));
}

std::string_view HttpRequest::header(std::string_view name) const {
  for (const auto& h : headers) {
    if (h.name.size() == name.size() &&
        std::equal(h.name.begin(), h.name.end(), name.begin(), [](char a, char b) {
          return std::tolower(static_cast<unsigned char>(a)) ==
                 std::tolower(static_cast<unsigned char>(b));
        })) {
      return h.value;
    }
  }
  return {};
}

std::string_view HttpRequest::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::multimap<std::string, std::string> HttpRequest::query() const {
  std::multimap<std::string, std::string> q;
  std::string_view t = target;
  size_t qm = t.find('?');
  if (qm == std::string_view::npos) {
    return q;
  }
  std::string_view rest = t.substr(qm + 1);
  while (!rest.empty()) {
    size_t amp = rest.find('&');
    std::string_view pair = rest.substr(0, amp);
    size_t eq = pair.find('=');
    q.emplace(percentDecode(pair.substr(0, eq), true),
              eq == std::string_view::npos ? "" : percentDecode(pair.substr(eq + 1), true));
    if (amp == std::string_view::npos) {
      break;
    }
    rest = rest.substr(amp + 1);
  }
  return q;
}

}  // namespace hm::net
