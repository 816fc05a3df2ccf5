#pragma once

#include <string>
#include <vector>

namespace hm::cli {

// Each returns the process exit status.
int runWebhook(const std::vector<std::string>& args);
int runCheck(const std::vector<std::string>& args);
int runOperator(const std::vector<std::string>& args);

}  // namespace hm::cli
