#include "harbormaster/base/files.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
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

Status writeFileAtomically(const std::string& path, std::string_view content, unsigned mode) {
  std::string tmp = path + ".tmp-" + std::to_string(getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) {
    return unavailable("cannot write " + tmp + ": " + std::strerror(errno));
  }
  size_t done = 0;
  while (done < content.size()) {
    ssize_t n = ::write(fd, content.data() + done, content.size() - done);
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      std::string why = std::strerror(errno);
      ::close(fd);
      ::unlink(tmp.c_str());
      return unavailable("cannot write " + tmp + ": " + why);
    }
    done += static_cast<size_t>(n);
  }
  bool synced = ::fsync(fd) == 0;
  bool closed = ::close(fd) == 0;
  if (!synced || !closed || std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return unavailable("cannot replace " + path + ": " + why);
  }
  return okStatus();
}

Status writePortsFile(const std::string& path,
                      const std::vector<std::pair<std::string, unsigned>>& ports) {
  std::string content;
  for (const auto& [name, port] : ports) {
    content += name + "=" + std::to_string(port) + "\n";
  }
  return writeFileAtomically(path, content, 0644);
}

}  // namespace hm
