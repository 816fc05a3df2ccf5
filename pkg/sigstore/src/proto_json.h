// Sigstore documents are protobuf messages written by protobuf's JSON printer, which may write
// a field at its default as an explicit null. Proto3 treats null as absent; every sigstore JSON
// read goes through here so no reader has to think about it.
#pragma once

#include <nlohmann/json.hpp>

#include <string_view>

namespace hm::sigstore {

// The parsed document with every null member removed (is_discarded() when it is not JSON).
// Documents are a few levels deep; members nested deeper than 32 levels are left as they are
// (and then fail as malformed) rather than recursed into.
nlohmann::json parseProtoJson(std::string_view text);

}  // namespace hm::sigstore
