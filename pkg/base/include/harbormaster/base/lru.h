// A map with a fixed capacity that forgets its least recently used entry first: for caches keyed
// by something a request chooses (a registry host, a token scope), which must not grow with the
// number of distinct keys an attacker can name.
//
//   hm::LruMap<std::string, Token> tokens(1024);
//   if (Token* t = tokens.find(key)) { … }        // a hit counts as a use
//   tokens.put(key, token);                         // may forget the oldest entry
//
// Not synchronised: the owner holds its own lock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <list>
#include <unordered_map>
#include <utility>

namespace hm {

template <typename K, typename V>
class LruMap {
 public:
  explicit LruMap(size_t capacity) : capacity_(std::max<size_t>(capacity, 1)) {}

  // The entry, now the most recently used; null when absent.
  V* find(const K& key) {
    auto it = index_.find(key);
    if (it == index_.end()) {
      return nullptr;
    }
    order_.splice(order_.begin(), order_, it->second);
    return &it->second->second;
  }

  // Sets the entry (the most recently used now), forgetting the least recently used one when
  // the map is full.
  V& put(const K& key, V value) {
    if (V* existing = find(key)) {
      *existing = std::move(value);
      return *existing;
    }
    if (order_.size() >= capacity_) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, std::move(value));
    index_[key] = order_.begin();
    return order_.front().second;
  }

  void erase(const K& key) {
    auto it = index_.find(key);
    if (it != index_.end()) {
      order_.erase(it->second);
      index_.erase(it);
    }
  }

  // Drops every entry `pred(key, value)` holds for.
  template <typename Pred>
  void eraseIf(Pred pred) {
    for (auto it = order_.begin(); it != order_.end();) {
      if (pred(it->first, it->second)) {
        index_.erase(it->first);
        it = order_.erase(it);
      } else {
        ++it;
      }
    }
  }

  size_t size() const { return order_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::list<std::pair<K, V>> order_;  // most recently used first
  std::unordered_map<K, typename std::list<std::pair<K, V>>::iterator> index_;
};

}  // namespace hm
