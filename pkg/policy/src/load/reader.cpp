// Field readers shared by every grammar of the loader.
#include <yaml-cpp/yaml.h>

#include "reader.h"

#include <algorithm>

#include "harbormaster/base/time.h"
#include "harbormaster/imageref/reference.h"
#include "harbormaster/policy/section.h"

namespace hm::policy::load {

Status requireMap(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                  std::initializer_list<std::string_view> allowed) {
  return requireMap(ctx, node, field, std::vector<std::string_view>(allowed));
}

Status requireMap(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                  const std::vector<std::string_view>& allowed) {
  if (!node.IsMap()) {
    return ctx.error(field,
                     field.empty() ? "a policy document must be a mapping" : "must be a mapping");
  }
  for (const auto& kv : node) {
    std::string key = kv.first.Scalar();
    if (std::find(allowed.begin(), allowed.end(), key) == allowed.end()) {
      std::string list;
      for (auto a : allowed) {
        list += (list.empty() ? "" : ", ") + std::string(a);
      }
      std::string where = field.empty() ? key : field + "." + key;
      return ctx.error(where, "unknown field (known fields: " + list + ")");
    }
  }
  return okStatus();
}

StatusOr<std::string> readString(const Ctx& ctx, const YAML::Node& node, const std::string& field) {
  if (!node.IsScalar()) {
    return ctx.error(field, "must be a string");
  }
  return node.Scalar();
}

StatusOr<std::vector<std::string>> readStringList(const Ctx& ctx, const YAML::Node& node,
                                                  const std::string& field) {
  std::vector<std::string> out;
  if (!node || node.IsNull()) {
    return out;
  }
  if (!node.IsSequence()) {
    return ctx.error(field, "must be a list of strings");
  }
  for (size_t i = 0; i < node.size(); ++i) {
    std::string where = field + "[" + std::to_string(i) + "]";
    if (!node[i].IsScalar() || node[i].Scalar().empty()) {
      return ctx.error(where, "must be a non-empty string");
    }
    out.push_back(node[i].Scalar());
  }
  return out;
}

std::vector<std::string> normaliseImagePatterns(std::vector<std::string> patterns) {
  for (std::string& p : patterns) {
    p = imageref::normalizeLeadingHost(p);
  }
  return patterns;
}

StatusOr<Selector> readSelector(const Ctx& ctx, const YAML::Node& node, const std::string& field,
                                bool withNamespaces, bool withSelector) {
  Selector sel;
  if (!node || node.IsNull()) {
    return sel;
  }
  if (withSelector) {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"namespaces", "namespaceSelector", "images"}));
  } else if (withNamespaces) {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"namespaces", "images"}));
  } else {
    HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"images"}));
  }
  auto ns = readStringList(ctx, node["namespaces"], field + ".namespaces");
  if (!ns.ok()) {
    return ns.status();
  }
  auto images = readStringList(ctx, node["images"], field + ".images");
  if (!images.ok()) {
    return images.status();
  }
  sel.namespaces = std::move(*ns);
  sel.images = normaliseImagePatterns(std::move(*images));
  return sel;
}

StatusOr<std::vector<std::string>> readRegistries(const Ctx& ctx, const YAML::Node& node) {
  auto list = readStringList(ctx, node, "spec.registries");
  if (!list.ok()) {
    return list.status();
  }
  for (size_t i = 0; i < list->size(); ++i) {
    std::string& host = (*list)[i];
    if (host.find_first_of("/@ \t") != std::string::npos) {
      return ctx.error("spec.registries[" + std::to_string(i) + "]",
                       "\"" + host +
                           "\" must be a registry host such as harbor.example.com or "
                           "harbor.example.com:8443, without a path");
    }
    host = imageref::normalizeHost(host);
  }
  return list;
}

StatusOr<std::vector<Check>> readChecks(const Ctx& ctx, const YAML::Node& node,
                                        const std::string& field) {
  auto names = readStringList(ctx, node, field);
  if (!names.ok()) {
    return names.status();
  }
  // Every check but kReference (an unparseable reference is never excepted), then the
  // registered sections' checks.
  std::vector<Check> known = {Check::kRegistry, Check::kDigest, Check::kVulnerabilities,
                              Check::kSignatures};
  for (size_t i = 0; i < registeredSections().size(); ++i) {
    known.push_back(static_cast<Check>(static_cast<size_t>(Check::kFirstSection) + i));
  }
  std::string list;
  for (Check c : known) {
    list += (list.empty() ? "" : ", ") + std::string(checkName(c));
  }
  if (names->empty()) {
    return ctx.error(field, "must name at least one check (" + list + ")");
  }
  std::vector<Check> checks;
  for (size_t i = 0; i < names->size(); ++i) {
    const std::string& n = (*names)[i];
    auto it = std::find_if(known.begin(), known.end(), [&](Check c) { return checkName(c) == n; });
    if (it == known.end()) {
      return ctx.error(field + "[" + std::to_string(i) + "]",
                       "unknown check \"" + n + "\" (known checks: " + list + ")");
    }
    checks.push_back(*it);
  }
  return checks;
}

StatusOr<bool> readBool(const Ctx& ctx, const YAML::Node& node, const std::string& field) {
  if (node.IsScalar() && (node.Scalar() == "true" || node.Scalar() == "false")) {
    return node.Scalar() == "true";
  }
  return ctx.error(field, "must be true or false");
}

StatusOr<std::optional<WallTime>> readExpiry(const Ctx& ctx, const YAML::Node& node,
                                             const std::string& field) {
  if (!node || node.IsNull()) {
    return std::optional<WallTime>();
  }
  auto text = readString(ctx, node, field);
  if (!text.ok()) {
    return text.status();
  }
  auto t = parseRfc3339(*text);
  if (!t.ok()) {
    return ctx.error(field, t.status().message());
  }
  return std::optional<WallTime>(*t);
}

StatusOr<LabelSelector> readLabelSelector(const Ctx& ctx, const YAML::Node& node,
                                          const std::string& field) {
  LabelSelector sel;
  if (node.IsNull()) {
    return sel;
  }
  HM_RETURN_IF_ERROR(requireMap(ctx, node, field, {"matchLabels", "matchExpressions"}));
  if (const YAML::Node labels = node["matchLabels"]; labels && !labels.IsNull()) {
    if (!labels.IsMap()) {
      return ctx.error(field + ".matchLabels", "must be a mapping of label keys to values");
    }
    for (const auto& kv : labels) {
      if (!kv.second.IsScalar()) {
        return ctx.error(field + ".matchLabels." + kv.first.Scalar(), "must be a string");
      }
      sel.matchLabels[kv.first.Scalar()] = kv.second.Scalar();
    }
  }
  const YAML::Node exprs = node["matchExpressions"];
  if (!exprs || exprs.IsNull()) {
    return sel;
  }
  if (!exprs.IsSequence()) {
    return ctx.error(field + ".matchExpressions", "must be a list");
  }
  for (size_t i = 0; i < exprs.size(); ++i) {
    const std::string f = field + ".matchExpressions[" + std::to_string(i) + "]";
    HM_RETURN_IF_ERROR(requireMap(ctx, exprs[i], f, {"key", "operator", "values"}));
    LabelRequirement req;
    if (!exprs[i]["key"] || !exprs[i]["key"].IsScalar() || exprs[i]["key"].Scalar().empty()) {
      return ctx.error(f + ".key", "is required");
    }
    req.key = exprs[i]["key"].Scalar();
    auto op =
        readEnum<LabelRequirement::Op>(ctx, exprs[i]["operator"], f + ".operator",
                                       {{"In", LabelRequirement::Op::kIn},
                                        {"NotIn", LabelRequirement::Op::kNotIn},
                                        {"Exists", LabelRequirement::Op::kExists},
                                        {"DoesNotExist", LabelRequirement::Op::kDoesNotExist}});
    if (!op.ok()) {
      return op.status();
    }
    req.op = *op;
    auto values = readStringList(ctx, exprs[i]["values"], f + ".values");
    if (!values.ok()) {
      return values.status();
    }
    req.values = std::move(*values);
    // As metav1.LabelSelector validation: In/NotIn need values, Exists/DoesNotExist take none.
    const bool set = req.op == LabelRequirement::Op::kIn || req.op == LabelRequirement::Op::kNotIn;
    if (set == req.values.empty()) {
      return ctx.error(f + ".values", set ? "must not be empty for In and NotIn"
                                          : "must be empty for Exists and DoesNotExist");
    }
    sel.matchExpressions.push_back(std::move(req));
  }
  return sel;
}

StatusOr<std::chrono::seconds> readDuration(const Ctx& ctx, const YAML::Node& node,
                                            const std::string& field) {
  auto text = readString(ctx, node, field);
  if (!text.ok()) {
    return text.status();
  }
  auto d = parseGoDuration(*text);
  if (!d.ok()) {
    return ctx.error(field, "\"" + *text + "\" must be a duration such as 720h, 168h or 1h30m");
  }
  if (*d < std::chrono::seconds(1)) {
    return ctx.error(field, "must be at least 1s");
  }
  return std::chrono::duration_cast<std::chrono::seconds>(*d);
}

}  // namespace hm::policy::load
