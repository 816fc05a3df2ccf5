// Credentials: token files, static tokens and exec credential plugins (run as client-go runs
// them, on a thread of their own).
#include "harbormaster/kube/credentials.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <mutex>
#include <nlohmann/json.hpp>
#include <system_error>
#include <thread>
#include <vector>

#include "harbormaster/base/files.h"
#include "harbormaster/net/flight.h"

extern char** environ;

namespace hm::kube {

// What an exec plugin run yields, stored under the lock when it ends.
struct ExecOutput {
  std::string header;  // "Bearer …" or empty (a client certificate only)
  std::optional<std::pair<std::string, std::string>> cert;
  WallTime validUntil = WallTime::max();
};

namespace {

// Runs the plugin as client-go does: KUBERNETES_EXEC_INFO in the environment, an ExecCredential
// on stdout. Blocking (fork, poll up to 30 s, waitpid): only ever on a thread of its own.
StatusOr<ExecOutput> runExec(const ExecPlugin& p) {
  const std::string command = execCommandPath(p);
  nlohmann::json info = {
      {"apiVersion", p.apiVersion}, {"kind", "ExecCredential"}, {"spec", {{"interactive", false}}}};
  std::vector<std::string> envStrings;
  for (char** e = environ; e && *e; ++e) {
    envStrings.emplace_back(*e);
  }
  for (const auto& [k, v] : p.env) {
    envStrings.push_back(k + "=" + v);
  }
  envStrings.push_back("KUBERNETES_EXEC_INFO=" + info.dump());
  std::vector<char*> envp;
  for (auto& s : envStrings) {
    envp.push_back(s.data());
  }
  envp.push_back(nullptr);
  std::vector<std::string> argStrings = {command};
  argStrings.insert(argStrings.end(), p.args.begin(), p.args.end());
  std::vector<char*> argv;
  for (auto& s : argStrings) {
    argv.push_back(s.data());
  }
  argv.push_back(nullptr);

  int out[2];
  if (pipe2(out, O_CLOEXEC) != 0) {
    return unavailable("exec credential plugin: cannot create a pipe");
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(out[0]);
    close(out[1]);
    return unavailable("exec credential plugin: cannot fork");
  }
  if (pid == 0) {
    dup2(out[1], STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copy
    execvpe(argv[0], argv.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  std::string stdoutText;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  char buf[4096];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                    deadline - std::chrono::steady_clock::now())
                    .count();
    pollfd pfd{out[0], POLLIN, 0};
    if (left <= 0 || poll(&pfd, 1, static_cast<int>(left)) <= 0) {
      kill(pid, SIGKILL);
      break;
    }
    ssize_t n = read(out[0], buf, sizeof buf);
    if (n <= 0) {
      break;
    }
    stdoutText.append(buf, static_cast<size_t>(n));
    if (stdoutText.size() > 1024 * 1024) {
      kill(pid, SIGKILL);
      break;
    }
  }
  close(out[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    return unauthenticated("exec credential plugin " + p.command + " failed (exit status " +
                           std::to_string(WIFEXITED(status) ? WEXITSTATUS(status) : -1) + ")");
  }
  // Never quote stdout in errors: it holds the credential.
  nlohmann::json cred = nlohmann::json::parse(stdoutText, nullptr, false);
  if (!cred.is_object() || cred.value("kind", "") != "ExecCredential" ||
      cred.value("apiVersion", "") != p.apiVersion || !cred.contains("status") ||
      !cred["status"].is_object()) {
    return unauthenticated("exec credential plugin " + p.command +
                           " did not print an ExecCredential of " + p.apiVersion);
  }
  const nlohmann::json& st = cred["status"];
  std::string token = st.value("token", "");
  std::string certData = st.value("clientCertificateData", "");
  std::string keyData = st.value("clientKeyData", "");
  if (token.empty() && certData.empty()) {
    return unauthenticated("exec credential plugin " + p.command +
                           " returned neither a token nor a client certificate");
  }
  ExecOutput o;
  if (!certData.empty()) {
    o.cert = std::make_pair(certData, keyData);
  }
  o.header = token.empty() ? "" : "Bearer " + token;
  if (st.contains("expirationTimestamp") && st["expirationTimestamp"].is_string()) {
    auto expiry = parseRfc3339(st["expirationTimestamp"].get<std::string>());
    if (!expiry.ok()) {
      return unauthenticated("exec credential plugin " + p.command +
                             " returned a bad expirationTimestamp");
    }
    o.validUntil = *expiry - std::chrono::seconds(10);
  }
  return o;
}

}  // namespace

struct Credentials::State {
  explicit State(ClusterConfig c) : config(std::move(c)) {}
  const ClusterConfig config;
  std::mutex mu;
  std::string cached;
  std::optional<WallTime> validUntil;
  std::optional<std::pair<std::string, std::string>> execCert;
  // The plugin run in progress, if any; its waiters share it.
  std::shared_ptr<net::Flight<StatusOr<std::string>>> flight;

  // The run's outcome, stored before anyone is woken; a failure is not remembered (the next
  // call runs the plugin again), as client-go does.
  void finishRun(StatusOr<ExecOutput> out) {
    std::shared_ptr<net::Flight<StatusOr<std::string>>> done;
    StatusOr<std::string> header =
        out.ok() ? StatusOr<std::string>(out->header) : StatusOr<std::string>(out.status());
    {
      std::lock_guard lock(mu);
      if (out.ok()) {
        cached = out->header;
        execCert = out->cert;
        validUntil = out->validUntil;
      }
      done.swap(flight);
    }
    done->finish(std::move(header));
  }
};

Credentials::Credentials(ClusterConfig config)
    : state_(std::make_shared<State>(std::move(config))) {}

void Credentials::invalidate() {
  std::lock_guard lock(state_->mu);
  state_->validUntil.reset();
}

std::optional<std::pair<std::string, std::string>> Credentials::execClientCertificate() const {
  std::lock_guard lock(state_->mu);
  return state_->execCert;
}

boost::asio::awaitable<StatusOr<std::string>> Credentials::authorization(WallTime now,
                                                                         Deadline deadline) {
  State& s = *state_;
  std::shared_ptr<net::Flight<StatusOr<std::string>>> flight;
  {
    std::lock_guard lock(s.mu);
    if (s.validUntil && now < *s.validUntil) {
      co_return s.cached;
    }
    if (!s.config.exec) {
      if (!s.config.tokenFile.empty()) {
        auto token = readFile(s.config.tokenFile, 64 * 1024);
        if (!token.ok()) {
          co_return token.status().withContext("bearer token file");
        }
        std::string t = token->substr(0, token->find_first_of("\r\n"));
        s.cached = t.empty() ? "" : "Bearer " + t;
        s.validUntil = now + std::chrono::minutes(1);
        co_return s.cached;
      }
      s.cached = s.config.token.empty() ? "" : "Bearer " + s.config.token;
      s.validUntil = WallTime::max();
      co_return s.cached;
    }
    if (s.flight == nullptr) {
      s.flight = std::make_shared<net::Flight<StatusOr<std::string>>>();
      // The run holds the state: it may outlive these Credentials, never the other way round.
      try {
        std::thread([state = state_] { state->finishRun(runExec(*state->config.exec)); }).detach();
      } catch (const std::system_error& e) {
        // No thread (resource limits): this call fails, and the next one tries again rather
        // than waiting on a run that never started.
        s.flight.reset();
        co_return unavailable(std::string("exec credential plugin: cannot start a thread: ") +
                              e.what());
      }
    }
    flight = s.flight;
  }
  const bool finished = co_await flight->wait(deadline);
  if (!finished) {
    co_return deadlineExceeded("exec credential plugin " + s.config.exec->command +
                               " did not answer before the call's deadline");
  }
  co_return flight->result();
}

}  // namespace hm::kube
