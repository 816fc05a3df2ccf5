#include "support/chart.h"

#include <yaml-cpp/yaml.h>

#include <regex>

#include "support/process.h"
#include "support/temp_dir.h"

namespace hm::testing {
namespace {

using nlohmann::json;

json toJson(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map: {
      json out = json::object();
      for (const auto& kv : node) {
        out[kv.first.as<std::string>()] = toJson(kv.second);
      }
      return out;
    }
    case YAML::NodeType::Sequence: {
      json out = json::array();
      for (const auto& item : node) {
        out.push_back(toJson(item));
      }
      return out;
    }
    case YAML::NodeType::Scalar: {
      const std::string& text = node.Scalar();
      if (node.Tag() == "!") {  // quoted
        return text;
      }
      if (text == "true" || text == "false") {
        return text == "true";
      }
      if (text == "null" || text == "~") {
        return nullptr;
      }
      static const std::regex integer("^-?[0-9]+$");
      if (std::regex_match(text, integer) && text.size() < 18) {
        return std::stoll(text);
      }
      return text;
    }
    default:
      return nullptr;
  }
}

}  // namespace

std::string chartDir() {
  return std::string(HM_SOURCE_DIR) + "/deploy/helm/harbormaster";
}

std::vector<json> yamlDocuments(const std::string& yaml) {
  std::vector<json> out;
  for (const auto& doc : YAML::LoadAll(yaml)) {
    json j = toJson(doc);
    if (j.is_object()) {
      out.push_back(std::move(j));
    }
  }
  return out;
}

Render renderChart(const std::vector<std::string>& valuesFiles,
                   const std::vector<std::string>& sets, const std::string& ns,
                   const std::vector<std::string>& extraArgs) {
  std::vector<std::string> argv = {"helm", "template", "hm", chartDir(), "--namespace", ns};
  for (const auto& f : valuesFiles) {
    argv.insert(argv.end(), {"-f", f});
  }
  for (const auto& s : sets) {
    argv.insert(argv.end(), {"--set", s});
  }
  argv.insert(argv.end(), extraArgs.begin(), extraArgs.end());
  // Only stdout is YAML: helm's warnings go to stderr, kept apart and appended for messages.
  TempDir dir;
  argv.insert(argv.begin(), {"sh", "-c", "exec \"$0\" \"$@\" 2>" + dir.file("stderr")});
  Render r;
  r.exitCode = runCommand(argv, r.output);
  std::string errors = readText(dir.file("stderr"));
  if (r.exitCode == 0) {
    r.documents = yamlDocuments(r.output);
  }
  r.output += errors;
  return r;
}

json findDocument(const std::vector<json>& docs, const std::string& kind, const std::string& name) {
  for (const auto& d : docs) {
    if (d.value("kind", "") == kind && (name.empty() || d["metadata"].value("name", "") == name)) {
      return d;
    }
  }
  return nullptr;
}

std::vector<json> findDocuments(const std::vector<json>& docs, const std::string& kind) {
  std::vector<json> out;
  for (const auto& d : docs) {
    if (d.value("kind", "") == kind) {
      out.push_back(d);
    }
  }
  return out;
}

}  // namespace hm::testing
