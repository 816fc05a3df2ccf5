#include "harbormaster/compliance/report.h"

#include <algorithm>
#include <set>
#include <tuple>

#include "harbormaster/base/encoding.h"
#include "harbormaster/policy/scan.h"

namespace hm::compliance {
namespace {

using nlohmann::json;

constexpr size_t kMaxMessage = 2000;

// fail > error > warn > pass: what a row shows when several findings meet.
int rank(Result r) {
  switch (r) {
    case Result::kFail:
      return 4;
    case Result::kError:
      return 3;
    case Result::kWarn:
      return 2;
    case Result::kSkip:
      return 1;
    case Result::kPass:
      return 0;
  }
  return 0;
}

Result resultOf(const policy::Finding& f) {
  if (f.unchecked) {
    return Result::kError;
  }
  return f.mode == policy::Mode::kWarn ? Result::kWarn : Result::kFail;
}

std::string_view severityName(int code) {
  switch (code) {
    case 5:
      return "critical";
    case 4:
      return "high";
    case 3:
      return "medium";
    case 2:
    case 1:
      return "low";
    default:
      return "info";
  }
}

// The worst severity Harbor's scan found (allowlists not applied: the report says how bad the
// image is, the result whether the policy lets it run); -1 when the scan says nothing.
int worstScanSeverity(const policy::ScanFacts* scan) {
  int worst = -1;
  if (scan == nullptr) {
    return worst;
  }
  for (const policy::ArtifactScan& a : scan->artifacts) {
    for (const policy::ScanFinding& f : a.findings) {
      worst = std::max(worst, policy::severityCode(f.severity) % 99);
    }
    for (const auto& [severity, count] : a.counts) {
      if (count > 0) {
        worst = std::max(worst, policy::severityCode(severity) % 99);
      }
    }
  }
  return worst;
}

std::string severityOf(const policy::Finding& f, Result result) {
  if (result != Result::kFail && result != Result::kWarn) {
    return "";
  }
  if (f.check == policy::Check::kVulnerabilities) {
    if (int code = worstScanSeverity(f.use.scan.get()); code >= 0) {
      return std::string(severityName(code));
    }
  }
  switch (f.mode) {
    case policy::Mode::kEnforce:
      return "high";
    case policy::Mode::kWarn:
      return "medium";
    case policy::Mode::kAudit:
      return "low";
  }
  return "high";
}

// PolicyReport's timestamp: a protobuf Timestamp, whole seconds.
json timestampOf(WallTime t) {
  return {
      {"seconds", std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count()},
      {"nanos", 0}};
}

bool isOpenReports(const ReportOptions& o) {
  return o.apiVersion.rfind("openreports.io/", 0) == 0;
}

json resultJson(const ResultRow& row, const ReportOptions& options) {
  json r = {
      {"policy", row.policy},
      {"rule", row.check},
      {"result", resultName(row.result)},
      {"scored", true},
      {"source", options.source},
      {"category", "Image"},
      {"timestamp", timestampOf(options.now)},
      {"resources", json::array({{{"apiVersion", row.workload.apiVersion},
                                  {"kind", row.workload.kind},
                                  {"namespace", row.workload.nameSpace},
                                  {"name", row.workload.name},
                                  {"uid", row.workload.uid}}})},
      {"properties", {{"container", row.container}, {"image", row.image}, {"digest", row.digest}}}};
  r["message"] = row.result == Result::kPass
                     ? "container \"" + clip(row.container, 128) + "\" passes " + row.check +
                           " of policy \"" + row.policy + "\""
                     : row.message;
  if (!row.severity.empty()) {
    r["severity"] = row.severity;
  }
  return r;
}

json reportJson(std::string_view kind, std::string name, std::string_view ns,
                const ReportOptions& options) {
  json metadata = {{"name", std::move(name)},
                   {"labels", {{std::string(kManagedByLabel), options.source}}}};
  if (!ns.empty()) {
    metadata["namespace"] = ns;
  }
  return {{"apiVersion", options.apiVersion},
          {"kind", kind},
          {"metadata", std::move(metadata)},
          {"results", json::array()}};
}

}  // namespace

std::string_view resultName(Result result) {
  switch (result) {
    case Result::kPass:
      return "pass";
    case Result::kFail:
      return "fail";
    case Result::kWarn:
      return "warn";
    case Result::kError:
      return "error";
    case Result::kSkip:
      return "skip";
  }
  return "error";
}

void Summary::add(Result r) {
  switch (r) {
    case Result::kPass:
      ++pass;
      break;
    case Result::kFail:
      ++fail;
      break;
    case Result::kWarn:
      ++warn;
      break;
    case Result::kError:
      ++error;
      break;
    case Result::kSkip:
      ++skip;
      break;
  }
}

json Summary::toJson() const {
  return {{"pass", pass}, {"fail", fail}, {"warn", warn}, {"error", error}, {"skip", skip}};
}

std::vector<ResultRow> rowsOf(const ObjectRef& workload, const std::vector<policy::ImageUse>& uses,
                              const std::vector<std::string>& digests,
                              const policy::PolicySet& policies, const policy::ReviewPlan& plan,
                              const policy::Evaluation& evaluation) {
  std::vector<ResultRow> rows;
  for (size_t u = 0; u < uses.size() && u < plan.imageOfUse.size(); ++u) {
    const policy::ImageUse& use = uses[u];
    const policy::PlannedImage& planned = plan.images[plan.imageOfUse[u]];
    for (size_t i = 0; i < policies.policies.size() && i < planned.judges.size(); ++i) {
      if (!planned.judges[i]) {
        continue;
      }
      const policy::ImagePolicy& p = policies.policies[i];
      std::vector<const policy::Finding*> found;
      for (const policy::Finding& f : evaluation.findings) {
        if (f.policy == p.name && f.use.path == use.path && f.use.image == use.image) {
          found.push_back(&f);
        }
      }
      std::vector<std::string> checks;
      for (policy::Check c : policy::checksOf(p)) {
        checks.emplace_back(policy::checkName(c));
      }
      for (const policy::Finding* f : found) {
        const std::string name(policy::checkName(f->check));
        if (std::find(checks.begin(), checks.end(), name) == checks.end()) {
          checks.push_back(name);  // e.g. reference: the image does not parse
        }
      }
      for (const std::string& check : checks) {
        ResultRow row{workload, use.container, use.image,     u < digests.size() ? digests[u] : "",
                      p.name,   check,         Result::kPass, "",
                      ""};
        const policy::Finding* worst = nullptr;
        for (const policy::Finding* f : found) {
          if (policy::checkName(f->check) != check) {
            continue;
          }
          row.message += (row.message.empty() ? "" : "; ") + policy::describe(*f);
          if (worst == nullptr || rank(resultOf(*f)) > rank(resultOf(*worst))) {
            worst = f;
          }
        }
        if (worst != nullptr) {
          row.result = resultOf(*worst);
          row.severity = severityOf(*worst, row.result);
          row.message = clip(row.message, kMaxMessage);
        }
        rows.push_back(std::move(row));
      }
    }
  }
  return rows;
}

std::vector<json> namespaceReports(std::string_view ns, std::vector<ResultRow> rows,
                                   const ReportOptions& options) {
  std::vector<json> reports;
  if (rows.empty()) {
    return reports;
  }
  std::stable_sort(rows.begin(), rows.end(), [](const ResultRow& a, const ResultRow& b) {
    return std::tie(a.workload, a.container, a.image, a.policy, a.check) <
           std::tie(b.workload, b.container, b.image, b.policy, b.check);
  });
  // Over the cap, pass results go first: what violates stays listed.
  const size_t cap = options.maxReportsPerNamespace * options.maxResultsPerReport;
  size_t omitted = 0;
  if (rows.size() > cap) {
    const size_t before = rows.size();
    std::vector<ResultRow> kept;
    size_t notPass = 0;
    for (const ResultRow& r : rows) {
      notPass += r.result != Result::kPass ? 1 : 0;
    }
    size_t passRoom = notPass < cap ? cap - notPass : 0;
    for (ResultRow& r : rows) {
      if (kept.size() == cap) {
        break;
      }
      if (r.result == Result::kPass) {
        if (passRoom == 0) {
          continue;
        }
        --passRoom;
      }
      kept.push_back(std::move(r));
    }
    rows = std::move(kept);
    omitted = before - rows.size();
  }
  const std::string_view kind = isOpenReports(options) ? "Report" : "PolicyReport";
  json current;
  Summary summary;
  size_t bytes = 0;
  auto close = [&] {
    if (current.is_null()) {
      return;
    }
    current["summary"] = summary.toJson();
    reports.push_back(std::move(current));
    current = nullptr;
    summary = {};
    bytes = 0;
  };
  for (const ResultRow& row : rows) {
    json result = resultJson(row, options);
    const size_t size = result.dump().size();
    if (!current.is_null() && (current["results"].size() >= options.maxResultsPerReport ||
                               bytes + size > options.maxBytesPerReport)) {
      close();
    }
    if (current.is_null()) {
      std::string name(kReportName);
      if (!reports.empty()) {
        name += "-" + std::to_string(reports.size() + 1);
      }
      current = reportJson(kind, std::move(name), ns, options);
    }
    summary.add(row.result);
    bytes += size;
    current["results"].push_back(std::move(result));
  }
  close();
  if (omitted > 0) {
    reports.front()["metadata"]["annotations"][std::string(kOmittedAnnotation)] =
        std::to_string(omitted) + " results not listed (pass results first) to keep " +
        std::to_string(options.maxReportsPerNamespace) + " reports of at most " +
        std::to_string(options.maxResultsPerReport) + " results; the ClusterPolicyReport " +
        std::string(kReportName) + " counts them";
  }
  return reports;
}

json clusterReport(const std::map<std::string, std::vector<ResultRow>>& rowsByNamespace,
                   const ReportOptions& options) {
  struct PerPolicy {
    Summary summary;
    Result worst = Result::kPass;
    int severity = -1;
    std::set<std::string> failing;  // namespaces where it fails or errs
  };
  std::map<std::string, PerPolicy> byPolicy;
  Summary total;
  for (const auto& [ns, rows] : rowsByNamespace) {
    for (const ResultRow& row : rows) {
      PerPolicy& p = byPolicy[row.policy];
      p.summary.add(row.result);
      total.add(row.result);
      if (rank(row.result) > rank(p.worst)) {
        p.worst = row.result;
      }
      if (row.result == Result::kFail || row.result == Result::kError) {
        p.failing.insert(ns);
      }
      for (int code = 5; code >= 0; --code) {
        if (!row.severity.empty() && severityName(code) == row.severity) {
          p.severity = std::max(p.severity, code);
          break;
        }
      }
    }
  }
  json report = reportJson(isOpenReports(options) ? "ClusterReport" : "ClusterPolicyReport",
                           std::string(kReportName), "", options);
  for (const auto& [name, p] : byPolicy) {
    std::string where;
    size_t listed = 0;
    for (const std::string& ns : p.failing) {
      if (listed++ == 10) {
        where += " and " + std::to_string(p.failing.size() - 10) + " more";
        break;
      }
      where += (where.empty() ? "" : ", ") + ns;
    }
    std::string message = std::to_string(p.summary.pass) + " pass, " +
                          std::to_string(p.summary.fail) + " fail, " +
                          std::to_string(p.summary.warn) + " warn, " +
                          std::to_string(p.summary.error) + " error (workload images × checks)";
    if (!where.empty()) {
      message += "; not compliant in " + where;
    }
    json r = {{"policy", name},
              {"rule", "summary"},
              {"result", resultName(p.worst)},
              {"scored", true},
              {"source", options.source},
              {"category", "Image"},
              {"message", message},
              {"timestamp", timestampOf(options.now)},
              {"properties",
               {{"pass", std::to_string(p.summary.pass)},
                {"fail", std::to_string(p.summary.fail)},
                {"warn", std::to_string(p.summary.warn)},
                {"error", std::to_string(p.summary.error)}}}};
    if ((p.worst == Result::kFail || p.worst == Result::kWarn) && p.severity >= 0) {
      r["severity"] = severityName(p.severity);
    }
    report["results"].push_back(std::move(r));
  }
  report["summary"] = total.toJson();
  return report;
}

}  // namespace hm::compliance

namespace hm::compliance {

std::vector<Transition> transitions(const Standings& before, const std::vector<ResultRow>& rows,
                                    Standings& after) {
  struct Image {
    const ResultRow* first = nullptr;
    bool fails = false;
    bool known = false;  // some result is not an error
    std::vector<const ResultRow*> failing;
  };
  std::map<std::string, Image> images;
  for (const ResultRow& row : rows) {
    const std::string key = row.workload.nameSpace + "/" + row.workload.kind + "/" +
                            row.workload.name + "/" + row.container + "/" + row.image;
    Image& image = images[key];
    if (image.first == nullptr) {
      image.first = &row;
    }
    if (row.result != Result::kError) {
      image.known = true;
    }
    if (row.result == Result::kFail) {
      image.fails = true;
      image.failing.push_back(&row);
    }
  }
  after.clear();
  std::vector<Transition> out;
  for (const auto& [key, image] : images) {
    auto last = before.find(key);
    const Standing was = last == before.end() ? Standing::kUnknown : last->second;
    const Standing now = image.fails   ? Standing::kNonCompliant
                         : image.known ? Standing::kCompliant
                                       : was;  // only errors: keep what was known
    after[key] = now;
    if (now == was || now == Standing::kUnknown ||
        (now == Standing::kCompliant && was == Standing::kUnknown)) {
      continue;  // first seen compliant is no news
    }
    const ResultRow& row = *image.first;
    Transition t{row.workload, row.container, row.image, now, "", "", ""};
    const std::string subject =
        "container \"" + clip(row.container, 128) + "\" (" + clip(row.image, 300) + ")";
    if (now == Standing::kNonCompliant) {
      std::string which;
      for (const ResultRow* f : image.failing) {
        which += (which.empty() ? "" : ", ") + ("\"" + f->policy + "\" (" + f->check + ")");
      }
      t.type = "Warning";
      t.reason = "ImageNonCompliant";
      t.note = subject + " no longer complies with " + which + ": " + image.failing[0]->message;
    } else {
      t.type = "Normal";
      t.reason = "ImageCompliant";
      t.note = subject + " complies with every policy that selects it again";
    }
    out.push_back(std::move(t));
  }
  return out;
}

}  // namespace hm::compliance
