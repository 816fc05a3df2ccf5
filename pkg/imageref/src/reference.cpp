#include "harbormaster/imageref/reference.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cctype>

namespace hm::imageref {
namespace {

bool isLowerAlnum(char c) {
  return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}
bool isAlnum(char c) {
  return isLowerAlnum(c) || (c >= 'A' && c <= 'Z');
}
bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
bool isWordChar(char c) {
  return isAlnum(c) || c == '_';
}
bool isLowerHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f');
}

// Quotes untrusted text for an error message: printable ASCII kept, the rest escaped, long
// input cut, so a hostile reference cannot flood or garble a log line or a denial.
std::string quote(std::string_view s) {
  constexpr size_t kMax = 300;
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kMax; ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out += static_cast<char>(c);
    } else {
      static const char* hex = "0123456789abcdef";
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xf];
    }
  }
  if (s.size() > kMax) {
    out += "…";
  }
  out += "\"";
  return out;
}

Status refError(std::string_view input, const std::string& problem) {
  return invalidArgument("invalid image reference " + quote(input) + ": " + problem);
}

// path-component := [a-z0-9]+ (separator [a-z0-9]+)*  with separator := "." | "_" | "__" | "-"+
Status validatePathComponent(std::string_view input, std::string_view comp) {
  if (comp.empty()) {
    return refError(input, "empty path component (a doubled, leading or trailing '/')");
  }
  for (char c : comp) {
    if (c >= 'A' && c <= 'Z') {
      return refError(
          input, "repository name must be lowercase, path component " + quote(comp) + " is not");
    }
  }
  size_t i = 0;
  auto fail = [&] {
    return refError(input, "path component " + quote(comp) +
                               " must be lowercase letters and digits separated by '.', '_', "
                               "'__' or '-'");
  };
  while (i < comp.size()) {
    if (!isLowerAlnum(comp[i])) {
      return fail();
    }
    while (i < comp.size() && isLowerAlnum(comp[i])) {
      ++i;
    }
    if (i == comp.size()) {
      break;
    }
    // A separator, then at least one alphanumeric must follow.
    size_t sepStart = i;
    if (comp[i] == '.') {
      ++i;
    } else if (comp[i] == '_') {
      ++i;
      if (i < comp.size() && comp[i] == '_') {
        ++i;
      }
    } else if (comp[i] == '-') {
      while (i < comp.size() && comp[i] == '-') {
        ++i;
      }
    } else {
      return fail();
    }
    if (i == comp.size() || i == sepStart) {
      return fail();
    }
  }
  return okStatus();
}

// domain-component := [a-zA-Z0-9] | [a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
bool validDomainComponent(std::string_view c) {
  if (c.empty() || c.size() > 63 || !isAlnum(c.front()) || !isAlnum(c.back())) {
    return false;
  }
  return std::all_of(c.begin(), c.end(), [](char ch) { return isAlnum(ch) || ch == '-'; });
}

Status validatePort(std::string_view input, std::string_view port) {
  if (port.empty() || port.size() > 5 || !std::all_of(port.begin(), port.end(), isDigit)) {
    return refError(input, "registry port " + quote(port) + " must be a number from 1 to 65535");
  }
  int value = std::stoi(std::string(port));
  if (value < 1 || value > 65535) {
    return refError(input, "registry port " + quote(port) + " must be a number from 1 to 65535");
  }
  return okStatus();
}

Status validateRegistry(std::string_view input, std::string_view registry) {
  std::string_view host = registry;
  std::string_view port;
  bool hasPort = false;
  if (!registry.empty() && registry.front() == '[') {
    size_t close = registry.find(']');
    if (close == std::string_view::npos) {
      return refError(input, "registry host " + quote(registry) + " has no closing ']'");
    }
    std::string addr(registry.substr(1, close - 1));
    in6_addr parsed{};
    if (addr.empty() || inet_pton(AF_INET6, addr.c_str(), &parsed) != 1) {
      return refError(
          input, "registry host " + quote(registry) + " is not a valid bracketed IPv6 address");
    }
    std::string_view rest = registry.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return refError(input, "unexpected " + quote(rest) + " after the IPv6 registry host");
      }
      return validatePort(input, rest.substr(1));
    }
    return okStatus();
  }
  if (size_t colon = registry.rfind(':'); colon != std::string_view::npos) {
    host = registry.substr(0, colon);
    port = registry.substr(colon + 1);
    hasPort = true;
  }
  if (host.empty()) {
    return refError(input, "registry host is empty");
  }
  size_t start = 0;
  while (true) {
    size_t dot = host.find('.', start);
    std::string_view comp =
        host.substr(start, dot == std::string_view::npos ? host.npos : dot - start);
    if (!validDomainComponent(comp)) {
      return refError(input,
                      "registry host " + quote(host) +
                          " must be a DNS name or IP address (letters, digits, '-' and '.')");
    }
    if (dot == std::string_view::npos) {
      break;
    }
    start = dot + 1;
  }
  return hasPort ? validatePort(input, port) : okStatus();
}

Status validateTag(std::string_view input, std::string_view tag) {
  if (tag.empty()) {
    return refError(input, "tag after ':' is empty");
  }
  if (tag.size() > kMaxTagLength) {
    return refError(input, "tag is longer than 128 characters");
  }
  if (!isWordChar(tag.front()) || !std::all_of(tag.begin(), tag.end(), [](char c) {
        return isWordChar(c) || c == '.' || c == '-';
      })) {
    return refError(input, "tag " + quote(tag) +
                               " must start with a letter, digit or '_' and contain only "
                               "letters, digits, '_', '.' and '-'");
  }
  return okStatus();
}

// Docker's rule for where the registry host ends: the first component is a host when it looks
// like one; "index.docker.io" is Docker Hub's old name.
bool looksLikeHost(std::string_view first) {
  return !first.empty() &&
         (first.find_first_of(".:") != std::string_view::npos || first == "localhost" ||
          std::any_of(first.begin(), first.end(), [](char c) { return c >= 'A' && c <= 'Z'; }) ||
          first.front() == '[');
}

// `written` receives the host as written (validated as such: normalising must not turn an
// invalid host such as "h.io:443:443" into a valid one), `registry` the normalised one.
void splitRegistry(std::string_view name, std::string& registry, std::string& path,
                   std::string& written) {
  size_t slash = name.find('/');
  std::string_view first = name.substr(0, slash);
  if (slash != std::string_view::npos && looksLikeHost(first)) {
    registry = std::string(first);
    path = std::string(name.substr(slash + 1));
  } else {
    registry = std::string(kDefaultRegistry);
    path = std::string(name);
  }
  written = registry;
  registry = normalizeHost(registry);
  if (registry == kDefaultRegistry && path.find('/') == std::string::npos) {
    path = "library/" + path;
  }
}

}  // namespace

Status validateDigest(std::string_view digest) {
  size_t colon = digest.find(':');
  if (colon == std::string_view::npos) {
    return invalidArgument("digest " + quote(digest) + " must be \"algorithm:hex\"");
  }
  std::string_view algo = digest.substr(0, colon);
  std::string_view hex = digest.substr(colon + 1);
  size_t want = 0;
  if (algo == "sha256") {
    want = 64;
  } else if (algo == "sha512") {
    want = 128;
  } else {
    return invalidArgument("digest algorithm " + quote(algo) +
                           " is not supported (use sha256 or sha512)");
  }
  if (hex.size() != want || !std::all_of(hex.begin(), hex.end(), isLowerHex)) {
    return invalidArgument("digest " + quote(digest) + " must have " + std::to_string(want) +
                           " lower-case hex digits after \"" + std::string(algo) + ":\"");
  }
  return okStatus();
}

StatusOr<Reference> parse(std::string_view text) {
  if (text.empty()) {
    return refError(text, "reference is empty");
  }
  // Far beyond any valid reference (255 name + 128 tag + 135 digest); stops work on junk early.
  if (text.size() > 1024) {
    return refError(text, "reference is longer than 1024 characters");
  }
  for (char c : text) {
    unsigned char u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u >= 0x7f) {
      return refError(text, "contains whitespace, a control character or non-ASCII text");
    }
  }

  Reference ref;
  std::string_view rest = text;
  if (size_t at = rest.find('@'); at != std::string_view::npos) {
    std::string_view digest = rest.substr(at + 1);
    if (Status s = validateDigest(digest); !s.ok()) {
      return refError(text, s.message());
    }
    ref.digest = std::string(digest);
    rest = rest.substr(0, at);
  }
  size_t lastSlash = rest.rfind('/');
  size_t colon = rest.rfind(':');
  if (colon != std::string_view::npos &&
      (lastSlash == std::string_view::npos || colon > lastSlash)) {
    // A ':' inside a bracketed IPv6 host with nothing after it is not a tag.
    std::string_view tag = rest.substr(colon + 1);
    if (Status s = validateTag(text, tag); !s.ok()) {
      return s;
    }
    ref.tag = std::string(tag);
    rest = rest.substr(0, colon);
  }
  if (rest.empty()) {
    return refError(text, "repository name is empty");
  }
  if (rest.size() > kMaxNameLength) {
    return refError(text, "repository name is longer than 255 characters");
  }

  std::string registry, path;
  std::string written;
  splitRegistry(rest, registry, path, written);
  // Checked again once normalised: a short form that fits must not become a name that does
  // not (the normalised form is what every message and cache key holds).
  if (registry.size() + 1 + path.size() > kMaxNameLength) {
    return refError(text, "repository name is longer than 255 characters once normalised (" +
                              quote(registry + "/" + path) + ")");
  }
  if (written != kDefaultRegistry) {
    HM_RETURN_IF_ERROR(validateRegistry(text, written));
  }
  size_t start = 0;
  while (true) {
    size_t slash = path.find('/', start);
    std::string_view comp = std::string_view(path).substr(
        start, slash == std::string::npos ? std::string::npos : slash - start);
    HM_RETURN_IF_ERROR(validatePathComponent(text, comp));
    if (slash == std::string::npos) {
      break;
    }
    start = slash + 1;
  }
  ref.registry = std::move(registry);
  ref.repository = std::move(path);
  if (ref.tag.empty() && ref.digest.empty()) {
    ref.tag = "latest";
    ref.tagImplied = true;
  }
  return ref;
}

std::string Reference::name() const {
  return registry + "/" + repository;
}

std::string Reference::normalized() const {
  std::string out = name();
  if (!tag.empty()) {
    out += ":" + tag;
  }
  if (!digest.empty()) {
    out += "@" + digest;
  }
  return out;
}

std::string Reference::familiar() const {
  std::string out;
  if (registry == kDefaultRegistry) {
    constexpr std::string_view kLibrary = "library/";
    std::string_view repo = repository;
    if (repo.substr(0, kLibrary.size()) == kLibrary &&
        repo.find('/', kLibrary.size()) == std::string_view::npos) {
      repo.remove_prefix(kLibrary.size());
    }
    // "docker.io/a.b/c" printed as "a.b/c" would name the registry a.b: keep the host.
    size_t slash = repo.find('/');
    bool ambiguous = slash != std::string_view::npos && looksLikeHost(repo.substr(0, slash));
    out = ambiguous ? name() : std::string(repo);
  } else {
    out = name();
  }
  if (!tag.empty() && !tagImplied) {
    out += ":" + tag;
  }
  if (!digest.empty()) {
    out += "@" + digest;
  }
  return out;
}

std::string Reference::withDigest(std::string_view d) const {
  return name() + "@" + std::string(d);
}

std::string normalizeHost(std::string_view host) {
  // A normalised host must still read as a host by Docker's rule, or the familiar form would
  // name a Docker Hub namespace: "MYHOST" (a host only by its upper case) stays as written, and
  // "myhost:443" keeps its port.
  auto stillAHost = [](const std::string& h) {
    return h.find_first_of(".:[") != std::string::npos || h == "localhost";
  };
  std::string out(host);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  if (!stillAHost(out)) {
    return std::string(host);
  }
  constexpr std::string_view kHttpsPort = ":443";
  if (out.size() > kHttpsPort.size() && out.ends_with(kHttpsPort) &&
      (out.front() != '[' || out[out.size() - kHttpsPort.size() - 1] == ']')) {
    std::string stripped = out.substr(0, out.size() - kHttpsPort.size());
    if (stillAHost(stripped)) {
      out = std::move(stripped);
    }
  }
  if (out == "index.docker.io" || out == "registry-1.docker.io") {
    return std::string(kDefaultRegistry);
  }
  return out;
}

std::string normalizeLeadingHost(std::string_view text) {
  const size_t slash = text.find('/');
  if (slash == std::string_view::npos || !looksLikeHost(text.substr(0, slash))) {
    return std::string(text);
  }
  return normalizeHost(text.substr(0, slash)) + std::string(text.substr(slash));
}

}  // namespace hm::imageref
