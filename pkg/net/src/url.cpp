#include <algorithm>
#include <boost/asio/ip/address.hpp>

#include "harbormaster/net/client.h"

namespace hm::net {

std::string Url::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  bool defaultPort = (scheme == "https" && port == 443) || (scheme == "http" && port == 80);
  return defaultPort ? h : h + ":" + std::to_string(port);
}

StatusOr<Url> parseUrl(std::string_view text) {
  auto bad = [&](const std::string& why) {
    return invalidArgument("URL \"" + std::string(text.substr(0, 200)) + "\" " + why);
  };
  Url url;
  size_t sep = text.find("://");
  if (sep == std::string_view::npos) {
    return bad("must start with https:// or http://");
  }
  url.scheme = std::string(text.substr(0, sep));
  std::transform(url.scheme.begin(), url.scheme.end(), url.scheme.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (url.scheme != "https" && url.scheme != "http") {
    return bad("must use https or http");
  }
  std::string_view rest = text.substr(sep + 3);
  size_t pathStart = rest.find_first_of("/?#");
  std::string_view authority = rest.substr(0, pathStart);
  std::string_view target = pathStart == std::string_view::npos ? "" : rest.substr(pathStart);
  if (authority.find('@') != std::string_view::npos) {
    return bad("must not carry credentials; pass them separately");
  }
  if (target.find('#') != std::string_view::npos) {
    return bad("must not have a fragment");
  }
  for (char c : text) {
    if (static_cast<unsigned char>(c) <= 0x20 || static_cast<unsigned char>(c) >= 0x7f) {
      return bad("contains whitespace, control or non-ASCII characters");
    }
  }
  std::string_view portText;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string_view::npos) {
      return bad("has an unclosed IPv6 address");
    }
    url.host = std::string(authority.substr(1, close - 1));
    std::string_view after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':') {
        return bad("has junk after the IPv6 address");
      }
      portText = after.substr(1);
    }
    boost::system::error_code ec;
    boost::asio::ip::make_address_v6(url.host, ec);
    if (ec) {
      return bad("has an invalid IPv6 address");
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = std::string(authority.substr(0, colon));
    if (colon != std::string_view::npos) {
      portText = authority.substr(colon + 1);
    }
  }
  if (url.host.empty()) {
    return bad("has no host");
  }
  bool portGiven = authority.front() == '[' ? authority.find("]:") != std::string_view::npos
                                            : authority.find(':') != std::string_view::npos;
  if (portGiven && portText.empty()) {
    return bad("has an empty port");
  }
  if (!portText.empty()) {
    if (portText.size() > 5 || !std::all_of(portText.begin(), portText.end(),
                                            [](char c) { return c >= '0' && c <= '9'; })) {
      return bad("has an invalid port");
    }
    int p = std::stoi(std::string(portText));
    if (p < 1 || p > 65535) {
      return bad("has an invalid port");
    }
    url.port = static_cast<uint16_t>(p);
  } else {
    url.port = url.scheme == "https" ? 443 : 80;
  }
  url.target = target.empty() ? "/" : std::string(target);
  if (url.target.front() == '?') {
    url.target = "/" + url.target;
  }
  return url;
}

}  // namespace hm::net
