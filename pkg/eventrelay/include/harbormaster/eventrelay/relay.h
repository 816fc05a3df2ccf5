// Harbor's notifications, heard by every webhook replica. Harbor posts to one address; a
// Service hands each post to one Pod. The operator (which Harbor posts to) appends what each
// notification makes stale to one ConfigMap in its namespace; every webhook replica watches that
// ConfigMap (the API server fans the change out) and forgets the same digests and tags. No Pod
// addresses, no extra certificates, and a replica that restarts starts with empty caches anyway.
//
//   operator: Publisher p(kube, ns); co_spawn(p.run()); … p.publish(invalidation);
//   webhook:  Subscriber s(kube, ns, [&](const harbor::Invalidation& i) { apply(i); });
//             co_spawn(s.run());
//
// The ConfigMap holds the last kMaxNotices notices as data["notices"] (a JSON array of
// {"seq", "digests", "tags"}, oldest first): bounded, and a replica whose watch broke for a moment
// catches up from the sequence numbers it missed.
#pragma once

#include <utility>  // before Boost 1.74's awaitable.hpp, which uses std::exchange

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <functional>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>

#include "harbormaster/harbor/model.h"
#include "harbormaster/kube/client.h"
#include "harbormaster/kube/informer.h"

namespace hm::eventrelay {

inline constexpr const char* kConfigMapName = "harbormaster-harbor-events";
inline constexpr size_t kMaxNotices = 64;
// What one notice may carry (a flood of pushes is coalesced into notices of at most this many
// digests and tags each).
inline constexpr size_t kMaxNamesPerNotice = 256;

// The ConfigMap `current` (null: none yet) with `notice` appended as the next sequence number,
// the oldest notices dropped beyond kMaxNotices. Pure.
nlohmann::json withNotice(const nlohmann::json& current, const std::string& nameSpace,
                          const harbor::Invalidation& notice);

struct Received {
  std::vector<harbor::Invalidation> notices;  // oldest first
  int64_t lastSeq = 0;                        // the newest sequence number in the ConfigMap
};
// The notices after sequence number `after`; all of them when the ConfigMap's newest is below
// it (the ConfigMap was deleted and made anew). Malformed entries are skipped. Pure.
Received noticesAfter(const nlohmann::json& configMap, int64_t after);

// The operator's side: notices queued by publish() (from any thread), coalesced for a moment and
// written with optimistic concurrency (a conflict is read again and retried).
class Publisher {
 public:
  Publisher(boost::asio::any_io_executor executor, std::shared_ptr<kube::Client> kube,
            std::string nameSpace);
  void publish(harbor::Invalidation notice);
  // Runs until stop(); spawn once (with an exception boundary).
  boost::asio::awaitable<void> run();
  void stop();

 private:
  boost::asio::awaitable<Status> write(harbor::Invalidation notice);

  boost::asio::any_io_executor executor_;
  std::shared_ptr<kube::Client> kube_;
  std::string nameSpace_;
  boost::asio::steady_timer wake_;
  std::mutex mu_;
  std::vector<harbor::Invalidation> pending_;  // capped: the oldest go first
  bool stopped_ = false;
};

// A webhook replica's side: an informer on the one ConfigMap; `apply` gets every notice after
// the ones already there when the replica started.
class Subscriber {
 public:
  Subscriber(std::shared_ptr<kube::Client> kube, std::string nameSpace,
             std::function<void(const harbor::Invalidation&)> apply);
  boost::asio::awaitable<void> run();
  void stop();

 private:
  void seen(const nlohmann::json& configMap);

  std::function<void(const harbor::Invalidation&)> apply_;
  int64_t lastSeq_ = -1;  // -1: nothing seen yet
  std::shared_ptr<kube::Informer> informer_;
};

}  // namespace hm::eventrelay
