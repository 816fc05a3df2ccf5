#pragma once

#include <string>
#include <vector>

#include "flags.h"

namespace hm::cli {

// Each returns the process exit status.
int runWebhook(const std::vector<std::string>& args);
int runCheck(const std::vector<std::string>& args);
int runOperator(const std::vector<std::string>& args);

// Each command's flag table: its parser reads it and `--help` prints it.
FlagSpec webhookFlagSpec();
FlagSpec checkFlagSpec();
FlagSpec operatorFlagSpec();

}  // namespace hm::cli
