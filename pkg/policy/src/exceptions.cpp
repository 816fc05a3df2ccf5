// Label selectors and the governance of ImageExceptions: pure rules the operator reports as
// status and the webhook applies on every review, so the two never disagree.
#include <algorithm>

#include "harbormaster/policy/policy.h"
#include "internal.h"

namespace hm::policy {

bool selectorMatches(const LabelSelector& selector, const Labels& labels) {
  for (const auto& [key, value] : selector.matchLabels) {
    auto it = labels.find(key);
    if (it == labels.end() || it->second != value) {
      return false;
    }
  }
  for (const LabelRequirement& req : selector.matchExpressions) {
    auto it = labels.find(req.key);
    const bool has = it != labels.end();
    const bool listed =
        has && std::find(req.values.begin(), req.values.end(), it->second) != req.values.end();
    switch (req.op) {
      case LabelRequirement::Op::kIn:
        if (!listed) {
          return false;
        }
        break;
      case LabelRequirement::Op::kNotIn:  // as in Kubernetes: a missing label is "not in"
        if (listed) {
          return false;
        }
        break;
      case LabelRequirement::Op::kExists:
        if (!has) {
          return false;
        }
        break;
      case LabelRequirement::Op::kDoesNotExist:
        if (has) {
          return false;
        }
        break;
    }
  }
  return true;
}

Labels labelsOf(const PolicySet& set, std::string_view ns) {
  Labels labels;
  if (set.namespaceLabels) {
    if (auto it = set.namespaceLabels->find(std::string(ns)); it != set.namespaceLabels->end()) {
      labels = it->second;
    }
  }
  // The API server sets this on every namespace; a set without cluster labels knows it too.
  labels["kubernetes.io/metadata.name"] = std::string(ns);
  return labels;
}

std::string_view exceptionStateName(ExceptionState state) {
  switch (state) {
    case ExceptionState::kActive:
      return "Active";
    case ExceptionState::kExpired:
      return "Expired";
    case ExceptionState::kRejected:
      return "Rejected";
  }
  return "Rejected";
}

namespace {

std::string hours(std::chrono::seconds d) {
  if (d.count() % 3600 == 0) {
    return std::to_string(d.count() / 3600) + "h";
  }
  return std::to_string(d.count()) + "s";
}

// A namespaced policy takes exceptions from its own namespace only.
bool inScope(const ImagePolicy& policy, const ImageException& ex) {
  return policy.scope == PolicyScope::kCluster || policy.nameSpace == ex.nameSpace;
}

}  // namespace

std::string exceptionRefusal(const ImagePolicy& policy, const ImageException& ex,
                             const Labels& namespaceLabels, std::string* reason) {
  auto refuse = [&](const char* why, std::string message) {
    if (reason != nullptr) {
      *reason = why;
    }
    return message;
  };
  // Built only for a refusal: an exception that applies is checked on every review.
  auto who = [&] { return "policy \"" + policy.name + "\""; };
  if (!policy.exceptionPolicy.allowed) {
    return refuse("NotAllowed", who() + " takes no ImageExceptions (spec.exceptionPolicy.allowed)");
  }
  if (policy.exceptionPolicy.namespaceSelector &&
      !selectorMatches(*policy.exceptionPolicy.namespaceSelector, namespaceLabels)) {
    return refuse("NotAllowed", who() + " takes no ImageExceptions from namespace " + ex.nameSpace +
                                    " (spec.exceptionPolicy.namespaceSelector)");
  }
  // Counted from creation, so editing expiresAt cannot extend an exception without end.
  const WallTime from = ex.created.value_or(ex.expiresAt);
  if (ex.created && ex.expiresAt - from > policy.exceptionPolicy.maxDuration) {
    return refuse("ExceedsMaxDuration", who() + " allows exceptions for at most " +
                                            hours(policy.exceptionPolicy.maxDuration) +
                                            " from creation (" + formatRfc3339(from) +
                                            "), but expiresAt is " + formatRfc3339(ex.expiresAt));
  }
  return "";
}

ExceptionStanding standing(const ImageException& ex, const PolicySet& set, WallTime now) {
  ExceptionStanding out;
  if (now >= ex.expiresAt) {
    out.state = ExceptionState::kExpired;
    out.reason = "Expired";
    out.message = "expired " + formatRfc3339(ex.expiresAt);
    return out;
  }
  const Labels labels = labelsOf(set, ex.nameSpace);
  std::vector<std::string> applies;
  for (const std::string& name : ex.policies) {
    const auto it = std::find_if(set.policies.begin(), set.policies.end(), [&](const auto& p) {
      return p.resourceName == name && inScope(p, ex);
    });
    if (it == set.policies.end()) {
      out.state = ExceptionState::kRejected;
      out.reason = "PolicyNotFound";
      out.message = "no ClusterImagePolicy or ImagePolicy in namespace " + ex.nameSpace +
                    " is named \"" + name + "\"";
      return out;
    }
    std::string reason;
    std::string refusal = exceptionRefusal(*it, ex, labels, &reason);
    if (!refusal.empty()) {
      out.state = ExceptionState::kRejected;
      out.reason = reason;
      out.message = refusal;
      return out;
    }
    applies.push_back(it->name);
  }
  out.reason = "Active";
  std::string list;
  for (const auto& n : applies) {
    list += (list.empty() ? "" : ", ") + n;
  }
  out.message = "applies to " + list + " until " + formatRfc3339(ex.expiresAt);
  return out;
}

// Used by evaluate(): the exception names this policy and is in its scope.
bool exceptionNames(const ImagePolicy& policy, const ImageException& ex) {
  return inScope(policy, ex) && std::find(ex.policies.begin(), ex.policies.end(),
                                          policy.resourceName) != ex.policies.end();
}

}  // namespace hm::policy
