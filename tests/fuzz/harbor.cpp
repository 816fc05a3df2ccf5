// Harbor API answers (artifacts and scan overviews, vulnerability reports, robots, projects,
// quotas, allowlists, system info, error bodies, immutable tag rules, members, retention
// policies), Harbor webhook events and Link headers: a
// hostile or broken Harbor gets an error, never a crash.
#include "fuzz.h"
#include "harbormaster/harbor/model.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  auto [which, input] = hm::fuzz::split(data, size);
  namespace h = hm::harbor;
  switch (which % 14) {
    case 0:
      (void)h::parseProject(input);
      break;
    case 1:
      (void)h::parseQuotaList(input);
      break;
    case 2:
      (void)h::parseRobot(input);
      break;
    case 3:
      (void)h::parseRobotList(input);
      break;
    case 4:
      (void)h::parseArtifact(input);
      break;
    case 5:
      (void)h::parseAllowlist(input);
      break;
    case 6:
      (void)h::parseSystemInfo(input);
      break;
    case 7:
      (void)h::parseVulnerabilities(input);
      break;
    case 8:
      (void)h::harborError(input);
      break;
    case 9: {
      auto found = h::invalidationOf(input);
      if (found.ok()) {
        for (const auto& d : found->digests) {
          hm::fuzz::require(d.rfind("sha", 0) == 0, "events yield digests only", input);
        }
        for (const auto& t : found->tags) {
          // A cache key is built from it: one repository path and one tag, nothing else.
          hm::fuzz::require(t.size() <= 384 && t.find(':') != std::string::npos &&
                                t.find("//") == std::string::npos &&
                                t.find('@') == std::string::npos,
                            "tags are repository:tag", input);
        }
      }
      break;
    }
    case 11: {
      auto rules = h::parseImmutableRuleList(input);
      if (rules.ok()) {
        for (const auto& r : *rules) {
          // What Harbor holds is compared and sent back: it must serialise.
          (void)h::immutableRuleJson(r);
          (void)r.describe();
        }
      }
      break;
    }
    case 12:
      (void)h::parseMemberList(input);
      break;
    case 13: {
      auto policy = h::parseRetentionPolicy(input);
      if (policy.ok()) {
        (void)h::retentionPolicyJson(*policy);
        for (const auto& r : policy->rules) {
          (void)r.describe();
        }
      }
      break;
    }
    default:
      (void)h::linkRelations(input);
      break;
  }
  return 0;
}
