#include "harbormaster/base/files.h"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>

namespace hm {

StatusOr<std::string> readFile(const std::string& path, size_t maxBytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return notFound("cannot open " + path + ": " + std::strerror(errno));
  }
  std::string data;
  char buf[64 * 1024];
  while (in.read(buf, sizeof(buf)) || in.gcount() > 0) {
    data.append(buf, static_cast<size_t>(in.gcount()));
    if (data.size() > maxBytes) {
      return invalidArgument(path + " is larger than " + std::to_string(maxBytes) + " bytes");
    }
  }
  if (in.bad()) {
    return unavailable("cannot read " + path);
  }
  return data;
}

}  // namespace hm
