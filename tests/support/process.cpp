#include "support/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <stdexcept>
#include <thread>

#include "support/temp_dir.h"

namespace hm::testing {

Process::Process(const std::vector<std::string>& argv, const std::string& logFile)
    : logFile_(logFile) {
  std::vector<char*> args;
  for (const auto& a : argv) {
    args.push_back(const_cast<char*>(a.c_str()));
  }
  args.push_back(nullptr);
  pid_ = fork();
  if (pid_ < 0) {
    throw std::runtime_error("fork failed");
  }
  if (pid_ == 0) {
    int fd = open(logFile.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd >= 0) {
      dup2(fd, 1);
      dup2(fd, 2);
      close(fd);
    }
    execvp(args[0], args.data());  // PATH lookup for tools such as openssl and curl
    _exit(127);
  }
}

Process::~Process() {
  if (running()) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status_, 0);
  }
}

void Process::signal(int sig) const {
  kill(pid_, sig);
}

bool Process::running() {
  if (status_ != -1 || pid_ <= 0) {
    return false;
  }
  int st = 0;
  pid_t r = waitpid(pid_, &st, WNOHANG);
  if (r == pid_) {
    status_ = st;
    return false;
  }
  return true;
}

int Process::wait(double seconds) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (running()) {
    if (std::chrono::steady_clock::now() > until) {
      return -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return WIFEXITED(status_) ? WEXITSTATUS(status_) : 128 + WTERMSIG(status_);
}

std::string Process::output() const {
  try {
    return readText(logFile_);
  } catch (const std::exception&) {
    return "";
  }
}

int runCommand(const std::vector<std::string>& argv, std::string& output) {
  TempDir dir;
  Process p(argv, dir.file("out"));
  int status = p.wait(60);
  output = p.output();
  return status;
}

std::map<std::string, uint16_t> waitForPorts(const std::string& portsFile, Process& process,
                                             double seconds) {
  std::map<std::string, uint16_t> ports;
  const bool written = eventually(seconds, [&] {
    std::ifstream in(portsFile);  // written atomically: absent or whole
    std::string line;
    while (std::getline(in, line)) {
      const size_t eq = line.find('=');
      if (eq != std::string::npos) {
        ports[line.substr(0, eq)] = static_cast<uint16_t>(std::stoul(line.substr(eq + 1)));
      }
    }
    return !ports.empty() || !process.running();
  });
  if (!written || ports.empty()) {
    throw std::runtime_error("no ports file " + portsFile +
                             " from the process: " + process.output());
  }
  return ports;
}

uint16_t waitForLoggedPort(Process& process, double seconds) {
  const std::string marker = "listening on 127.0.0.1:";
  uint16_t port = 0;
  eventually(seconds, [&] {
    const std::string out = process.output();
    const size_t at = out.find(marker);
    if (at != std::string::npos) {
      port = static_cast<uint16_t>(std::stoul(out.substr(at + marker.size())));
    }
    return port != 0 || !process.running();
  });
  if (port == 0) {
    throw std::runtime_error("the process never said where it listens: " + process.output());
  }
  return port;
}

bool eventually(double seconds, const std::function<bool()>& probe) {
  auto until = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < until) {
    if (probe()) {
      return true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
  return probe();
}

}  // namespace hm::testing
