#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string_view>
#include <vector>

#include "harbormaster/admission/review.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::admission::internal {

// Where the PodSpec lives in an object of this kind, or nullopt for kinds we do not judge.
std::optional<std::string_view> podSpecPath(std::string_view group, std::string_view kind);

std::vector<policy::ImageUse> collectImages(const nlohmann::json& object,
                                            std::string_view specPath);

// Fills `response` from out.evaluation: allowed or the denial, warnings, audit annotations.
void answer(Outcome& out, nlohmann::json& response);
// The AdmissionReview around `response`, as out.body.
void finish(Outcome& out, nlohmann::json response);

}  // namespace hm::admission::internal
