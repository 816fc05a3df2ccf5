#include "harbormaster/manifest/manifest.h"

#include <algorithm>
#include <filesystem>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/files.h"
#include "harbormaster/yaml/load.h"

namespace hm::manifest {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

constexpr int kMaxDepth = 256;

struct Converter {
  size_t budget;
  std::string problem;

  // YAML to JSON the way the API server reads a manifest for the fields used here: every scalar
  // is a string except YAML's nulls. Aliases are expanded, so they count against the budget
  // (a "billion laughs" document stops here, not in memory).
  bool convert(const YAML::Node& node, json& out, int depth) {
    if (budget == 0 || depth > kMaxDepth) {
      problem = budget == 0 ? "too many values once aliases are expanded"
                            : "nested more than " + std::to_string(kMaxDepth) + " levels deep";
      return false;
    }
    --budget;
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null:
        out = nullptr;
        return true;
      case YAML::NodeType::Scalar: {
        const std::string& s = node.Scalar();
        if (node.Tag() != "!" && (s == "~" || s == "null" || s == "Null" || s == "NULL")) {
          out = nullptr;
        } else {
          out = s;
        }
        return true;
      }
      case YAML::NodeType::Sequence:
        out = json::array();
        for (const YAML::Node& item : node) {
          json& next = out.emplace_back();
          if (!convert(item, next, depth + 1)) {
            return false;
          }
        }
        return true;
      case YAML::NodeType::Map:
        out = json::object();
        for (const auto& kv : node) {
          if (!kv.first.IsScalar()) {
            problem = "a mapping key that is not a plain value";
            return false;
          }
          if (!convert(kv.second, out[kv.first.Scalar()], depth + 1)) {
            return false;
          }
        }
        return true;
    }
    return true;
  }
};

std::string where(const Object& o) {
  std::string out = o.source + ", document " + std::to_string(o.document);
  if (o.line > 0) {
    out += " (line " + std::to_string(o.line) + ")";
  }
  if (!o.listItem.empty()) {
    out += ", " + o.listItem;
  }
  return out;
}

std::string stringField(const json& object, std::string_view key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

// Checks one object and appends it, or its items when it is a List.
Status add(Object o, std::vector<Object>& out) {
  if (!o.object.is_object()) {
    return invalidArgument(where(o) +
                           ": not a Kubernetes object (a mapping with apiVersion and "
                           "kind)");
  }
  const std::string kind = stringField(o.object, "kind");
  if (kind.empty()) {
    return invalidArgument(where(o) + ": has no kind");
  }
  if (stringField(o.object, "apiVersion").empty()) {
    return invalidArgument(where(o) + ": " + kind + " has no apiVersion");
  }
  auto items = o.object.find("items");
  const bool isList = kind.size() >= 4 && kind.compare(kind.size() - 4, 4, "List") == 0;
  if (isList && o.listItem.empty() && items != o.object.end()) {
    if (!items->is_array()) {
      return invalidArgument(where(o) + ": items must be a list");
    }
    json list = std::move(*items);
    for (size_t i = 0; i < list.size(); ++i) {
      Object item{std::move(list[i]), o.source,
                  o.document,         o.line,
                  o.origin,           "items[" + std::to_string(i) + "]"};
      HM_RETURN_IF_ERROR(add(std::move(item), out));
    }
    return okStatus();
  }
  out.push_back(std::move(o));
  return okStatus();
}

// The template `helm template` names above a document: "# Source: chart/templates/web.yaml".
std::string originAt(std::string_view text, size_t line) {
  size_t pos = 0;
  for (size_t n = 1; n < line && pos != std::string_view::npos; ++n) {
    pos = text.find('\n', pos);
    pos = pos == std::string_view::npos ? pos : pos + 1;
  }
  // The document's first lines: its "---" and comments, up to the first content.
  for (int scanned = 0; pos != std::string_view::npos && pos < text.size() && scanned < 20;
       ++scanned) {
    size_t end = text.find('\n', pos);
    std::string_view l = text.substr(pos, end == std::string_view::npos ? end : end - pos);
    constexpr std::string_view kMarker = "# Source: ";
    if (l.rfind(kMarker, 0) == 0) {
      std::string_view name = l.substr(kMarker.size());
      while (!name.empty() && (name.back() == '\r' || name.back() == ' ')) {
        name.remove_suffix(1);
      }
      return std::string(name.substr(0, 512));
    }
    if (!l.empty() && l[0] != '#' && l.rfind("---", 0) != 0) {
      break;
    }
    pos = end == std::string_view::npos ? end : end + 1;
  }
  return "";
}

bool manifestFile(const fs::path& p) {
  const std::string ext = p.extension().string();
  return ext == ".yaml" || ext == ".yml" || ext == ".json";
}

}  // namespace

StatusOr<std::vector<Object>> parse(std::string_view text, std::string_view source,
                                    const Limits& limits) {
  std::vector<Object> out;
  const std::string name(source);
  if (text.size() > limits.maxBytes) {
    return invalidArgument(name + ": " + std::to_string(text.size()) + " bytes is more than the " +
                           std::to_string(limits.maxBytes) + " a manifest may have");
  }
  const size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string_view::npos && (text[first] == '{' || text[first] == '[')) {
    // JSON (kubectl get -o json, kustomize's JSON output): parsed as JSON, the way kubectl does.
    json value = json::parse(text.begin(), text.end(), nullptr, false);
    if (value.is_discarded()) {
      return invalidArgument(name + ": not valid JSON");
    }
    if (value.is_array()) {
      for (size_t i = 0; i < value.size(); ++i) {
        Object o{std::move(value[i]), name, i + 1, 0, "", ""};
        HM_RETURN_IF_ERROR(add(std::move(o), out));
      }
    } else {
      HM_RETURN_IF_ERROR(add(Object{std::move(value), name, 1, 0, "", ""}, out));
    }
    return out;
  }
  yaml::Limits yl;
  yl.maxBytes = limits.maxBytes;
  yl.maxNodes = limits.maxNodes;
  yl.maxDocuments = limits.maxDocuments;
  auto docs = yaml::loadAll(text, source, yl);
  if (!docs.ok()) {
    return docs.status();
  }
  Converter converter{limits.maxNodes, ""};
  for (const yaml::Document& d : *docs) {
    if (!d.root || d.root.IsNull()) {
      continue;  // "---" with comments only: helm leaves these for templates rendering nothing
    }
    Object o{json(), name, d.number, d.line, originAt(text, d.line), ""};
    if (!converter.convert(d.root, o.object, 0)) {
      return invalidArgument(where(o) + ": " + converter.problem);
    }
    HM_RETURN_IF_ERROR(add(std::move(o), out));
  }
  return out;
}

StatusOr<std::vector<Object>> load(const std::vector<std::string>& paths, bool recursive,
                                   const std::string& stdinText, const Limits& limits) {
  std::vector<Object> out;
  auto addText = [&](std::string_view text, const std::string& name) -> Status {
    auto objects = parse(text, name, limits);
    if (!objects.ok()) {
      return objects.status();
    }
    for (Object& o : *objects) {
      out.push_back(std::move(o));
    }
    return okStatus();
  };
  for (const std::string& path : paths) {
    if (path == "-") {
      HM_RETURN_IF_ERROR(addText(stdinText, "stdin"));
      continue;
    }
    std::error_code ec;
    if (!fs::is_directory(path, ec)) {
      auto text = readFile(path, limits.maxBytes);
      if (!text.ok()) {
        return text.status();
      }
      HM_RETURN_IF_ERROR(addText(*text, path));
      continue;
    }
    std::vector<fs::path> files;
    auto visit = [&](const fs::directory_entry& e) -> Status {
      if (e.is_regular_file(ec) && manifestFile(e.path())) {
        if (files.size() == limits.maxFiles) {
          return invalidArgument(path + ": more than " + std::to_string(limits.maxFiles) +
                                 " manifest files");
        }
        files.push_back(e.path());
      }
      return okStatus();
    };
    if (recursive) {
      for (auto it = fs::recursive_directory_iterator(path, ec);
           !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
        HM_RETURN_IF_ERROR(visit(*it));
      }
    } else {
      for (auto it = fs::directory_iterator(path, ec); !ec && it != fs::directory_iterator();
           it.increment(ec)) {
        HM_RETURN_IF_ERROR(visit(*it));
      }
    }
    if (ec) {
      return invalidArgument(path + ": " + ec.message());
    }
    std::sort(files.begin(), files.end());
    for (const fs::path& f : files) {
      auto text = readFile(f.string(), limits.maxBytes);
      if (!text.ok()) {
        return text.status();
      }
      HM_RETURN_IF_ERROR(addText(*text, f.string()));
    }
  }
  return out;
}

std::string groupOf(std::string_view apiVersion) {
  const size_t slash = apiVersion.find('/');
  return slash == std::string_view::npos ? "" : std::string(apiVersion.substr(0, slash));
}

Workloads workloads(const std::vector<Object>& objects, const std::string& defaultNamespace) {
  Workloads out;
  for (const Object& o : objects) {
    const std::string kind = stringField(o.object, "kind");
    const std::string apiVersion = stringField(o.object, "apiVersion");
    const json metadata = o.object.value("metadata", json::object());
    const json* meta = metadata.is_object() ? &metadata : nullptr;
    const std::string name = meta ? stringField(*meta, "name") : "";
    if (kind == "Namespace" && groupOf(apiVersion).empty() && !name.empty()) {
      auto& labels = out.namespaceLabels[name];
      if (meta && meta->contains("labels") && (*meta)["labels"].is_object()) {
        for (const auto& [k, v] : (*meta)["labels"].items()) {
          if (v.is_string()) {
            labels[k] = v.get<std::string>();
          }
        }
      }
      labels["kubernetes.io/metadata.name"] = name;  // as the API server sets it
    }
    auto images = admission::imagesOf(o.object, groupOf(apiVersion), kind);
    if (!images) {
      ++out.skipped[kind];
      continue;
    }
    Workload& w = out.workloads.emplace_back();
    w.from = &o;
    w.apiVersion = apiVersion;
    w.kind = kind;
    w.name = name;
    if (w.name.empty() && meta) {
      const std::string generate = stringField(*meta, "generateName");
      w.name = generate.empty() ? "" : generate + "*";
    }
    const std::string ns = meta ? stringField(*meta, "namespace") : "";
    w.nameSpace = ns.empty() ? defaultNamespace : ns;
    w.images = std::move(*images);
  }
  return out;
}

}  // namespace hm::manifest
