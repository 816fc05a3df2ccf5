#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "harbormaster/policy/evaluate.h"

namespace hm::admission::internal {

// Where the PodSpec lives in an object of this kind, or nullopt for kinds we do not judge.
std::optional<std::string_view> podSpecPath(std::string_view group, std::string_view kind);

std::vector<policy::ImageUse> collectImages(const nlohmann::json& object,
                                            std::string_view specPath);

}  // namespace hm::admission::internal
