// A test process that campaigns for a Lease with LeaderElector: prints "leading" and "stopped"
// lines, and releases the Lease on SIGTERM (as the operator will). kill -9 is a crash.
//   elect --kubeconfig F --identity ID [--lease-seconds N]
#include "harbormaster/kube/leader_election.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/strand.hpp>
#include <iostream>
#include <map>

int main(int argc, char** argv) {
  namespace asio = boost::asio;
  std::map<std::string, std::string> flags;
  for (int i = 1; i + 1 < argc; i += 2) {
    flags[argv[i]] = argv[i + 1];
  }
  auto config = hm::kube::loadKubeconfig({flags["--kubeconfig"]}, "");
  if (!config.ok()) {
    std::cerr << config.status().message() << "\n";
    return 2;
  }
  asio::io_context ioc;
  auto client = hm::kube::Client::create(ioc.get_executor(), *config);
  if (!client.ok()) {
    std::cerr << client.status().message() << "\n";
    return 2;
  }
  hm::kube::LeaderElectionOptions o;
  o.nameSpace = "default";
  o.name = "elect-lock";
  o.identity = flags["--identity"];
  o.leaseDuration = std::chrono::seconds(
      std::atoi(flags.count("--lease-seconds") ? flags["--lease-seconds"].c_str() : "2"));
  o.renewDeadline = o.leaseDuration * 2 / 3;
  o.retryPeriod = std::chrono::milliseconds(200);
  hm::kube::LeaderElector elector(std::shared_ptr<hm::kube::Client>(std::move(*client)), o);
  auto strand = asio::make_strand(ioc);
  asio::co_spawn(strand,
                 elector.run([] { std::cout << "leading" << std::endl; },
                             [] { std::cout << "stopped" << std::endl; }),
                 asio::detached);
  asio::signal_set signals(strand, SIGTERM, SIGINT);
  signals.async_wait([&](const boost::system::error_code&, int) {
    asio::co_spawn(
        strand,
        [&]() -> asio::awaitable<void> {
          hm::Status s = co_await elector.release();
          std::cout << (s.ok() ? "released" : "release failed: " + s.message()) << std::endl;
          ioc.stop();
        },
        asio::detached);
  });
  ioc.run();
  return 0;
}
