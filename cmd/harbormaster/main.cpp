#include <iostream>
#include <string>
#include <vector>

#include "commands.h"

namespace {

// The overview: each command's synopsis from its flag table; `COMMAND --help` has the rest.
std::string usage() {
  std::string out =
      "harbormaster: admission webhook and operator for the Harbor registry\n\nUsage:\n";
  for (const hm::cli::FlagSpec& spec :
       {hm::cli::webhookFlagSpec(), hm::cli::checkFlagSpec(), hm::cli::operatorFlagSpec()}) {
    out += "  harbormaster " + spec.synopsis + "\n";
  }
  out += "  harbormaster version\n\nRun \"harbormaster COMMAND --help\" for a command's flags.\n";
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() == 2 && args[0] == "help") {
    args = {args[1], "--help"};  // "harbormaster help check"
  }
  if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
    std::cout << usage();
    return args.empty() ? 2 : 0;
  }
  std::string command = args[0];
  args.erase(args.begin());
  if (command == "webhook") {
    return hm::cli::runWebhook(args);
  }
  if (command == "operator") {
    return hm::cli::runOperator(args);
  }
  if (command == "check") {
    return hm::cli::runCheck(args);
  }
  if (command == "version" && !args.empty()) {
    // No flags: `version --help` says so, anything else is refused as by every command.
    const bool help = args[0] == "--help" || args[0] == "-h";
    (help ? std::cout : std::cerr)
        << (help ? "" : "harbormaster version: unexpected argument \"" + args[0] + "\"\n")
        << "Usage:\n  harbormaster version\n\nPrints the version.\n";
    return help ? 0 : 2;
  }
  if (command == "version" || command == "--version") {
    std::cout << "harbormaster " << HM_VERSION << "\n";
    return 0;
  }
  std::cerr << "harbormaster: unknown command \"" << command << "\"\n\n" << usage();
  return 2;
}
