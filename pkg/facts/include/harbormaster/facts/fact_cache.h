// FactCache: the one cache in front of every fact source (Harbor scans, projects, signature
// verdicts, tag digests).
//
//   FactCache<ScanFacts> cache({.positiveTtl = 60s, .negativeTtl = 10s, .staleFor = 1h});
//   Got<ScanFacts> got = co_await cache.get(key, deadline, [&]() -> awaitable<StatusOr<...>> {
//     co_return Looked<ScanFacts>{facts, /*positive=*/true};
//   });
//   std::shared_ptr<const ScanFacts> warm = cache.peek(key);  // fresh or null, synchronously
//
// What it guarantees:
// - at most `maxEntries` values (least recently used evicted first); a value lives positiveTtl
//   or negativeTtl, as its lookup said, measured on the injected clock;
// - one lookup per key at a time (single flight): later callers wait for the leader's result,
//   each until its own deadline (then DeadlineExceeded), never the leader's;
// - the leader always completes the flight: when its lookup returns, throws (the exception
//   becomes an Internal status) or its coroutine is destroyed mid-lookup (Unavailable), every
//   waiter wakes;
// - failed lookups are never cached; a failed refresh returns the last value stored for the key
//   if it expired less than `staleFor` ago (harborUnreachable: AllowIfCached), marked stale.
#pragma once

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>

#include <boost/asio/awaitable.hpp>
#include <chrono>
#include <exception>
#include <functional>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "harbormaster/base/clock.h"
#include "harbormaster/base/status.h"
#include "harbormaster/net/flight.h"

namespace hm::facts {

struct CacheOptions {
  std::chrono::seconds positiveTtl{60};
  std::chrono::seconds negativeTtl{10};
  std::chrono::seconds staleFor{0};
  size_t maxEntries = 10000;
};

// What a lookup found: the value, and whether it lives positiveTtl (else negativeTtl).
template <typename V>
struct Looked {
  std::shared_ptr<const V> value;
  bool positive = true;
};

template <typename V>
struct Got {
  // The fresh value; with a failed status, the last value seen within staleFor, or null.
  std::shared_ptr<const V> value;
  Status status;
  bool hit = false;  // served from the cache, no lookup

  bool stale() const { return !status.ok() && value != nullptr; }
};

template <typename V>
class FactCache {
 public:
  using Ptr = std::shared_ptr<const V>;
  using Deadline = std::chrono::steady_clock::time_point;
  using Lookup = std::function<boost::asio::awaitable<StatusOr<Looked<V>>>()>;
  // May refuse a cached value (it is then looked up again), e.g. facts from before a scan
  // was requested.
  using Accept = std::function<bool(const V&)>;

  explicit FactCache(CacheOptions options, const Clock& clock = Clock::system())
      : state_(std::make_shared<State>(options, clock)) {}

  boost::asio::awaitable<Got<V>> get(std::string key, Deadline deadline, Lookup lookup,
                                     Accept accept = {}) {
    std::shared_ptr<State> st = state_;
    std::shared_ptr<Flight> flight;
    bool leader = false;
    {
      std::lock_guard lock(st->mu);
      if (Ptr fresh = st->freshLocked(key, accept)) {
        co_return Got<V>{fresh, okStatus(), true};
      }
      auto& slot = st->flights[key];
      if (!slot) {
        slot = std::make_shared<Flight>();
        leader = true;
      }
      flight = slot;
    }
    if (!leader) {
      // Not inside the condition: GCC 12 miscompiles some co_await in conditional expressions.
      const bool finished = co_await flight->wait(deadline);
      if (!finished) {
        co_return Got<V>{
            nullptr,
            deadlineExceeded("the lookup of " + key + " was still running at the deadline"), false};
      }
      co_return flight->result();
    }
    Leader guard(st, key, flight);
    StatusOr<Looked<V>> looked = internalError("no lookup ran");
    try {
      looked = co_await lookup();
    } catch (const std::exception& e) {
      looked = internalError("the lookup of " + key + " failed: " + e.what());
    } catch (...) {
      looked = internalError("the lookup of " + key + " failed");
    }
    Got<V> got = st->store(key, std::move(looked));
    guard.complete(got);
    co_return got;
  }

  // The fresh value without a lookup (the warm path: no coroutine, no timer), or null.
  Ptr peek(const std::string& key, const Accept& accept = {}) {
    std::lock_guard lock(state_->mu);
    return state_->freshLocked(key, accept);
  }

  void erase(const std::string& key) {
    std::lock_guard lock(state_->mu);
    state_->eraseLocked(key);
  }

  void eraseIf(const std::function<bool(const std::string& key)>& pred) {
    std::lock_guard lock(state_->mu);
    for (auto it = state_->entries.begin(); it != state_->entries.end();) {
      auto next = std::next(it);
      if (pred(it->first)) {
        state_->eraseLocked(it->first);
      }
      it = next;
    }
  }

  void clear() {
    std::lock_guard lock(state_->mu);
    state_->entries.clear();
    state_->lru.clear();
  }

  size_t size() const {
    std::lock_guard lock(state_->mu);
    return state_->entries.size();
  }

 private:
  using Flight = net::Flight<Got<V>>;
  using SteadyTime = Clock::SteadyTime;

  struct Entry {
    Ptr value;
    SteadyTime expires;
    std::list<std::string>::iterator lru;
  };

  struct State {
    State(CacheOptions o, const Clock& c) : options(o), clock(&c) {}

    CacheOptions options;
    const Clock* clock;
    mutable std::mutex mu;
    std::unordered_map<std::string, Entry> entries;
    std::list<std::string> lru;  // most recently used first
    std::unordered_map<std::string, std::shared_ptr<Flight>> flights;

    Ptr freshLocked(const std::string& key, const Accept& accept) {
      auto it = entries.find(key);
      if (it == entries.end() || clock->steadyNow() >= it->second.expires ||
          (accept && !accept(*it->second.value))) {
        return nullptr;
      }
      lru.splice(lru.begin(), lru, it->second.lru);
      return it->second.value;
    }

    void eraseLocked(const std::string& key) {
      auto it = entries.find(key);
      if (it != entries.end()) {
        lru.erase(it->second.lru);
        entries.erase(it);
      }
    }

    Got<V> store(const std::string& key, StatusOr<Looked<V>> looked) {
      std::lock_guard lock(mu);
      const SteadyTime now = clock->steadyNow();
      auto it = entries.find(key);
      if (!looked.ok()) {
        const bool staleUsable = it != entries.end() && now < it->second.expires + options.staleFor;
        return Got<V>{staleUsable ? it->second.value : nullptr, looked.status(), false};
      }
      if (!looked->value) {
        return Got<V>{nullptr, internalError("the lookup of " + key + " found nothing"), false};
      }
      eraseLocked(key);
      lru.push_front(key);
      const auto ttl = looked->positive ? options.positiveTtl : options.negativeTtl;
      entries[key] = Entry{looked->value, now + ttl, lru.begin()};
      while (entries.size() > options.maxEntries && !lru.empty()) {
        entries.erase(lru.back());
        lru.pop_back();
      }
      return Got<V>{looked->value, okStatus(), false};
    }

    void complete(const std::string& key, const std::shared_ptr<Flight>& flight, Got<V> got) {
      {
        std::lock_guard lock(mu);
        auto it = flights.find(key);
        if (it != flights.end() && it->second == flight) {
          flights.erase(it);
        }
      }
      flight->finish(std::move(got));
    }
  };

  // The leader's obligation to complete its flight, kept by RAII: if the leader's coroutine is
  // destroyed before its lookup returns, the destructor wakes the waiters.
  class Leader {
   public:
    Leader(std::shared_ptr<State> st, std::string key, std::shared_ptr<Flight> flight)
        : st_(std::move(st)), key_(std::move(key)), flight_(std::move(flight)) {}
    Leader(const Leader&) = delete;
    Leader& operator=(const Leader&) = delete;
    ~Leader() {
      if (flight_) {
        st_->complete(
            key_, flight_,
            Got<V>{nullptr, unavailable("the lookup of " + key_ + " was abandoned"), false});
      }
    }
    void complete(Got<V> got) {
      st_->complete(key_, flight_, std::move(got));
      flight_.reset();
    }

   private:
    std::shared_ptr<State> st_;
    std::string key_;
    std::shared_ptr<Flight> flight_;
  };

  std::shared_ptr<State> state_;
};

}  // namespace hm::facts
