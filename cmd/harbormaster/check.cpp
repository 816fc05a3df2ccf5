// `harbormaster check`: the webhook's engine from a shell or a CI job.
#include <iostream>

#include "commands.h"
#include "flags.h"
#include "harbormaster/policy/evaluate.h"

namespace hm::cli {

int runCheck(const std::vector<std::string>& args) {
  auto flags = parseFlags(args, {.valued = {"policy", "namespace"}, .boolean = {}});
  if (!flags.ok()) {
    std::cerr << "harbormaster check: " << flags.status().message() << "\n";
    return 2;
  }
  if (!flags->has("policy") || flags->positional.empty()) {
    std::cerr << "harbormaster check: usage: check --policy FILE [--namespace NS] IMAGE...\n";
    return 2;
  }
  std::string ns = flags->get("namespace", "default");
  auto policies = policy::loadPolicyFile(flags->get("policy"), {});
  if (!policies.ok()) {
    std::cerr << "harbormaster check: " << policies.status().message() << "\n";
    return 2;
  }
  bool anyDenied = false;
  auto now = std::chrono::system_clock::now();
  for (const std::string& image : flags->positional) {
    policy::Evaluation ev = policy::evaluate(*policies, ns, {{"", "", image, false}}, now);
    bool denied = ev.denied();
    anyDenied = anyDenied || denied;
    std::string verdict = denied ? "DENIED " : ev.findings.empty() ? "ALLOWED" : "WARNED ";
    std::cout << verdict << "  " << image << "\n";
    for (const auto& f : ev.findings) {
      std::cout << "  " << policy::modeName(f.mode) << " policy \"" << f.policy << "\" ("
                << policy::checkName(f.check) << "): " << policy::describe(f) << "\n";
    }
    if (ev.matchedPolicies.empty()) {
      std::cout << "  no policy applies to this image in namespace " << ns << "\n";
    }
  }
  return anyDenied ? 1 : 0;
}

}  // namespace hm::cli
