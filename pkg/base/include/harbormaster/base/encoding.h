// Text encodings shared by the HTTP clients: base64 (RFC 4648) and URL percent-encoding.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hm {

std::string base64Encode(std::string_view bytes);
// Standard alphabet with padding; whitespace (line breaks in PEM-like data) is skipped. nullopt
// for anything else that is not base64.
std::optional<std::string> base64Decode(std::string_view text);
// Lowercase hex of every byte, and back (either case; nullopt for odd lengths or non-hex).
std::string hexEncode(std::string_view bytes);
std::optional<std::string> hexDecode(std::string_view text);
// Every byte outside RFC 3986's unreserved set (A-Z a-z 0-9 - _ . ~) becomes %XX.
std::string percentEncode(std::string_view text);
// Decodes %XX escapes (malformed ones are kept as written); with plusAsSpace, as in
// application/x-www-form-urlencoded query strings, '+' becomes ' '.
std::string percentDecode(std::string_view text, bool plusAsSpace);
// At most `max` bytes of text (max >= 3), ending in "..." when cut, never inside a UTF-8
// sequence: what a message repeats of input it does not control.
std::string clip(std::string_view text, size_t max);

}  // namespace hm
