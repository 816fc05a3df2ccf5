#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace hm::testing {

// The chart in this checkout.
std::string chartDir();

// `helm template` of the chart into namespace `ns` (release "hm") with the values files and
// --set arguments given: helm's exit code, its output (stdout, then stderr) and, when it
// succeeded, every rendered document as JSON.
struct Render {
  int exitCode = 0;
  std::string output;
  std::vector<nlohmann::json> documents;
};
Render renderChart(const std::vector<std::string>& valuesFiles,
                   const std::vector<std::string>& sets = {}, const std::string& ns = "hm-system",
                   const std::vector<std::string>& extraArgs = {});

// YAML (one or more documents) as JSON values: quoted scalars stay strings, plain ones that read
// as integers, booleans or null become those.
std::vector<nlohmann::json> yamlDocuments(const std::string& yaml);

// The first document of `kind` (and `name`, when given); null when there is none.
nlohmann::json findDocument(const std::vector<nlohmann::json>& docs, const std::string& kind,
                            const std::string& name = "");
std::vector<nlohmann::json> findDocuments(const std::vector<nlohmann::json>& docs,
                                          const std::string& kind);

}  // namespace hm::testing
