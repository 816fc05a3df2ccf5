#pragma once

#include <sys/types.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace hm::testing {

// A child process with its stdout+stderr captured to a file. Killed (SIGKILL) on destruction
// if still running, so a failing test never leaves a server behind.
class Process {
 public:
  Process(const std::vector<std::string>& argv, const std::string& logFile);
  ~Process();
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;

  pid_t pid() const { return pid_; }
  void signal(int sig) const;
  // Waits up to `seconds` for exit; returns the exit status, or -1 if still running.
  int wait(double seconds);
  bool running();
  std::string output() const;

 private:
  pid_t pid_ = -1;
  std::string logFile_;
  int status_ = -1;
};

// Runs a command to completion; returns its exit status and fills `output`.
int runCommand(const std::vector<std::string>& argv, std::string& output);

// The ports a process started with `--listen 127.0.0.1:0 --ports-file F` bound: waits until F
// appears (or the process exits, or `seconds` pass) and returns name → port ("listen", …).
// Throws with the process's output when it never does. Never race for a "free" port.
std::map<std::string, uint16_t> waitForPorts(const std::string& portsFile, Process& process,
                                             double seconds = 20);

// The port a process logged as "listening on 127.0.0.1:PORT" (Debian's docker-registry, at log
// level info); throws as above.
uint16_t waitForLoggedPort(Process& process, double seconds = 20);

// Polls `probe` until it returns true or `seconds` pass.
bool eventually(double seconds, const std::function<bool()>& probe);

}  // namespace hm::testing
