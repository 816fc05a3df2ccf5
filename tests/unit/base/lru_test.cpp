#include "harbormaster/base/lru.h"

#include <gtest/gtest.h>

#include <string>

namespace hm {
namespace {

TEST(LruMapTest, ForgetsTheLeastRecentlyUsedEntryWhenFull) {
  LruMap<std::string, int> m(3);
  m.put("a", 1);
  m.put("b", 2);
  m.put("c", 3);
  ASSERT_NE(m.find("a"), nullptr);  // a is now the most recently used
  m.put("d", 4);                    // b goes
  EXPECT_EQ(m.find("b"), nullptr);
  EXPECT_EQ(*m.find("a"), 1);
  EXPECT_EQ(*m.find("c"), 3);
  EXPECT_EQ(*m.find("d"), 4);
  EXPECT_EQ(m.size(), 3U);
}

TEST(LruMapTest, StaysBoundedWhateverKeysItIsGiven) {
  LruMap<std::string, std::string> m(64);
  for (int i = 0; i < 10'000; ++i) {
    m.put("host" + std::to_string(i), std::string(16, 'x'));
    ASSERT_LE(m.size(), 64U);
  }
  EXPECT_NE(m.find("host9999"), nullptr);
  EXPECT_EQ(m.find("host0"), nullptr);
}

TEST(LruMapTest, ReplacesErasesAndFilters) {
  LruMap<int, int> m(0);  // a capacity of 0 still holds one entry
  m.put(1, 1);
  m.put(1, 2);
  EXPECT_EQ(*m.find(1), 2);
  EXPECT_EQ(m.capacity(), 1U);
  LruMap<int, int> n(10);
  for (int i = 0; i < 10; ++i) {
    n.put(i, i);
  }
  n.erase(3);
  n.erase(42);
  n.eraseIf([](int k, int) { return k % 2 == 0; });
  EXPECT_EQ(n.size(), 4U);  // 1, 5, 7, 9
  EXPECT_EQ(n.find(4), nullptr);
  EXPECT_EQ(*n.find(7), 7);
}

}  // namespace
}  // namespace hm
