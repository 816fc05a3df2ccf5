// What the compliance pass writes: one result per (workload, image, policy, check), in the
// PolicyReport format (wgpolicyk8s.io/v1alpha2; Kyverno, trivy-operator adapters and Policy
// Reporter read it) or OpenReports' (openreports.io/v1alpha1, the same shape). Pure.
//
//   auto rows = compliance::rowsOf(subject, uses, policies, plan, evaluation);
//   auto reports = compliance::namespaceReports("shop", rows, options);   // 1..n objects
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "harbormaster/base/time.h"
#include "harbormaster/compliance/running.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::compliance {

// PolicyReport's results. A check that could not be made (Harbor unreachable, no scan result,
// the image gone from Harbor) is error, never pass; Enforce and Audit findings fail, Warn ones
// warn.
enum class Result { kPass, kFail, kWarn, kError, kSkip };
std::string_view resultName(Result result);

struct ResultRow {
  ObjectRef workload;
  std::string container;
  std::string image;   // as written
  std::string digest;  // what runs
  std::string policy;
  std::string check;
  Result result = Result::kPass;
  // critical, high, medium, low or info for fail and warn; empty otherwise. Vulnerabilities:
  // the worst severity Harbor's scan found; other checks: high under Enforce, medium under Warn,
  // low under Audit.
  std::string severity;
  std::string message;  // for fail, warn and error: what a denial says (policy::describe)
};

// The rows of one judged subject: for every image use, every policy that selected it, and every
// check that policy makes (and any other check a finding names), the worst finding's result.
// `uses` are the ImageUses judged (facts attached), in the order `plan` and `evaluation` saw
// them; `digests` what each runs.
std::vector<ResultRow> rowsOf(const ObjectRef& workload, const std::vector<policy::ImageUse>& uses,
                              const std::vector<std::string>& digests,
                              const policy::PolicySet& policies, const policy::ReviewPlan& plan,
                              const policy::Evaluation& evaluation);

struct Summary {
  int64_t pass = 0, fail = 0, warn = 0, error = 0, skip = 0;
  void add(Result r);
  nlohmann::json toJson() const;
};

struct ReportOptions {
  std::string apiVersion = "wgpolicyk8s.io/v1alpha2";  // or "openreports.io/v1alpha1"
  std::string source = "harbormaster";
  // A result is 0.5–1 KiB: these keep a report far under etcd's 1.5 MiB request limit.
  size_t maxResultsPerReport = 1000;
  size_t maxBytesPerReport = 700 * 1024;
  // Beyond this many reports a namespace's pass results are left out first, then the rest; the
  // summaries still count every result and an annotation says how many were left out.
  size_t maxReportsPerNamespace = 10;
  WallTime now;
};

inline constexpr std::string_view kReportName = "harbormaster";
inline constexpr std::string_view kManagedByLabel = "app.kubernetes.io/managed-by";
inline constexpr std::string_view kOmittedAnnotation = "harbormaster.io/omitted-results";

// A namespace's reports: "harbormaster", "harbormaster-2", …; rows sorted by workload,
// container, policy and check; each report within both limits and with its own summary. None
// when there are no rows (the caller deletes what it wrote before).
std::vector<nlohmann::json> namespaceReports(std::string_view ns, std::vector<ResultRow> rows,
                                             const ReportOptions& options);

// The cluster summary (a ClusterPolicyReport named "harbormaster"): one result per policy with
// its worst result, how many workload images pass, fail, warn and error, and the namespaces
// where it fails; the summary counts every row.
nlohmann::json clusterReport(const std::map<std::string, std::vector<ResultRow>>& rowsByNamespace,
                             const ReportOptions& options);

}  // namespace hm::compliance

namespace hm::compliance {

// A workload image's standing across passes: compliant (no result fails), not compliant (one
// fails), or not known (nothing but errors: Harbor down, no scan yet).
enum class Standing { kUnknown, kCompliant, kNonCompliant };
// By workload and image ("ns/Kind/name/container/image").
using Standings = std::map<std::string, Standing>;

// A workload image that became not compliant (from compliant, or first seen failing) or
// compliant again; what the Event on the workload says.
struct Transition {
  ObjectRef workload;
  std::string container;
  std::string image;
  Standing to = Standing::kUnknown;
  std::string type;    // Warning (not compliant) or Normal (compliant again)
  std::string reason;  // ImageNonCompliant, ImageCompliant
  std::string note;    // which image, which policies and checks, and the first failure's words
};

// Compares a pass's rows (of one namespace, or all) with the standings the last pass left:
// only a change is a transition, an error keeps the last standing (an outage flaps nothing), and
// a workload image no longer running is forgotten. `after` gets the new standings.
std::vector<Transition> transitions(const Standings& before, const std::vector<ResultRow>& rows,
                                    Standings& after);

}  // namespace hm::compliance
