// Turning an evaluation into the AdmissionReview response the API server expects.
#include <nlohmann/json.hpp>

#include "harbormaster/admission/review.h"
#include "harbormaster/base/encoding.h"
#include "internal.h"

namespace hm::admission {
namespace {

using nlohmann::json;

// The API server may truncate warnings over 256 characters and asks for 120 where possible.
constexpr size_t kMaxWarningLength = 256;
constexpr size_t kMaxWarnings = 10;
// A denial message travels in events and kubectl output; keep it readable.
constexpr size_t kMaxMessageLength = 8 * 1024;

std::string objectLabel(const Request& r) {
  std::string label = r.kind + " ";
  if (!r.ns.empty()) {
    label += r.ns + "/";
  }
  return label + (r.name.empty() ? "(unnamed)" : r.name);
}

// Warnings are shown by kubectl one per line; keep them near 120 characters: the container,
// the image and the problem. The full text with path and fix is in the audit annotations
// and the log.
std::string warningText(const policy::Finding& f) {
  std::string w = "harbormaster: policy \"" + f.policy + "\": ";
  if (!f.use.container.empty()) {
    w += "container \"" + f.use.container + "\" ";
  }
  w += f.use.image + " " + f.problem;
  return clip(w, kMaxWarningLength);
}

std::string dump(const json& j) {
  // Untrusted strings (image names) may hold invalid UTF-8; never let that fail a response.
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json errorBody(const std::string& message) {
  return json{{"error", message}};
}

}  // namespace

std::string_view decisionName(Decision d) {
  switch (d) {
    case Decision::kAllowed:
      return "allowed";
    case Decision::kWarned:
      return "warned";
    case Decision::kDenied:
      return "denied";
    case Decision::kSkipped:
      return "skipped";
    case Decision::kInvalid:
      return "invalid";
  }
  return "invalid";
}

std::string denialMessage(const Request& request, const policy::Evaluation& evaluation) {
  std::string msg = "harbormaster: " + objectLabel(request) + " denied";
  std::string currentPolicy;
  size_t shown = 0, total = 0;
  for (const auto& f : evaluation.findings) {
    if (f.mode != policy::Mode::kEnforce) {
      continue;
    }
    ++total;
    if (msg.size() > kMaxMessageLength) {
      continue;
    }
    ++shown;
    if (f.policy != currentPolicy) {
      msg += (currentPolicy.empty() ? " by policy \"" : "; and by policy \"") + f.policy + "\": ";
      currentPolicy = f.policy;
    } else {
      msg += "; ";
    }
    msg += policy::describe(f);
  }
  if (shown < total) {
    msg += "; and " + std::to_string(total - shown) + " more";
  }
  return msg;
}

Outcome review(std::string_view body, const policy::PolicySet& policies, WallTime now) {
  auto decoded = decode(body);
  if (!decoded.ok()) {
    return invalid(decoded.status());
  }
  return respond(std::move(decoded).value(), policies, now);
}

Outcome invalid(const Status& decodeError) {
  Outcome out;
  out.httpStatus = 400;
  out.decision = Decision::kInvalid;
  out.message = decodeError.message();
  out.body = dump(errorBody(out.message));
  return out;
}

Outcome respond(Request request, const policy::PolicySet& policies, WallTime now) {
  policy::ReviewPlan plan;
  if (request.handled) {
    plan = policy::planReview(policies, request.ns, request.images);
  }
  return respond(std::move(request), policies, plan, now);
}

Outcome respond(Request request, const policy::PolicySet& policies, const policy::ReviewPlan& plan,
                WallTime now) {
  Outcome out;
  out.request = std::move(request);
  json response = {{"uid", out.request.uid}, {"allowed", true}};
  if (!out.request.handled) {
    out.decision = Decision::kSkipped;
  } else {
    out.evaluation = policy::evaluate(policies, out.request.ns, out.request.images, plan, now);
    internal::answer(out, response);
  }
  internal::finish(out, std::move(response));
  return out;
}

namespace internal {

void answer(Outcome& out, json& response) {
  const Request& req = out.request;
  json audit = json::object();
  const auto& ev = out.evaluation;
  json warnings = json::array();
  std::string violations;
  for (const auto& f : ev.findings) {
    if (f.mode == policy::Mode::kWarn && warnings.size() < kMaxWarnings) {
      warnings.push_back(warningText(f));
    }
    violations += (violations.empty() ? "" : "; ") + f.policy + "/" +
                  std::string(policy::checkName(f.check)) + " " + f.use.path;
  }
  // The verdict is policy's (the same function `check` answers with); this renders it.
  switch (policy::verdictOf(ev)) {
    case policy::Verdict::kDenied:
      out.decision = Decision::kDenied;
      out.message = denialMessage(req, ev);
      response["allowed"] = false;
      response["status"] = {
          {"status", "Failure"}, {"code", 403}, {"reason", "Forbidden"}, {"message", out.message}};
      break;
    case policy::Verdict::kWarned:
      out.decision = Decision::kWarned;
      break;
    case policy::Verdict::kAllowed:
      out.decision = Decision::kAllowed;
      break;
  }
  if (!warnings.empty()) {
    response["warnings"] = std::move(warnings);
  }
  audit["decision"] = std::string(decisionName(out.decision));
  if (!ev.matchedPolicies.empty()) {
    std::string names;
    for (const auto& p : ev.matchedPolicies) {
      names += (names.empty() ? "" : ",") + p;
    }
    audit["policies"] = names;
  }
  if (!violations.empty()) {
    audit["violations"] = clip(violations, 2048);
  }
  if (ev.exceptionsApplied() > 0) {
    audit["exceptions-applied"] = std::to_string(ev.exceptionsApplied());
  }
  response["auditAnnotations"] = std::move(audit);
}

void finish(Outcome& out, json response) {
  json doc = {{"apiVersion", out.request.apiVersion},
              {"kind", "AdmissionReview"},
              {"response", std::move(response)}};
  out.body = dump(doc);
}

}  // namespace internal

}  // namespace hm::admission
