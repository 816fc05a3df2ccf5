#include "proto_json.h"

namespace hm::sigstore {
namespace {

void dropNulls(nlohmann::json& j, int depth) {
  if (depth == 0) {
    return;
  }
  if (j.is_object()) {
    for (auto it = j.begin(); it != j.end();) {
      if (it->is_null()) {
        it = j.erase(it);
      } else {
        dropNulls(*it, depth - 1);
        ++it;
      }
    }
  } else if (j.is_array()) {
    for (nlohmann::json& element : j) {
      dropNulls(element, depth - 1);
    }
  }
}

}  // namespace

nlohmann::json parseProtoJson(std::string_view text) {
  nlohmann::json j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_discarded()) {
    dropNulls(j, 32);
  }
  return j;
}

}  // namespace hm::sigstore
