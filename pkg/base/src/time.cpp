#include "harbormaster/base/time.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>

namespace hm {
namespace {

bool readDigits(std::string_view s, size_t pos, size_t count, int& out) {
  if (pos + count > s.size()) {
    return false;
  }
  out = 0;
  for (size_t i = pos; i < pos + count; ++i) {
    if (s[i] < '0' || s[i] > '9') {
      return false;
    }
    out = out * 10 + (s[i] - '0');
  }
  return true;
}

}  // namespace

StatusOr<WallTime> parseRfc3339(std::string_view text) {
  auto bad = [&] {
    return invalidArgument("\"" + std::string(text) +
                           "\" is not an RFC 3339 time such as 2026-12-31T00:00:00Z");
  };
  int year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!readDigits(text, 0, 4, year) || text.size() < 10 || text[4] != '-' ||
      !readDigits(text, 5, 2, month) || text[7] != '-' || !readDigits(text, 8, 2, day)) {
    return bad();
  }
  size_t pos = 10;
  int offsetSeconds = 0;
  long long fractionNanos = 0;
  if (text.size() > 10) {
    if ((text[10] != 'T' && text[10] != 't') || !readDigits(text, 11, 2, hour) ||
        text.size() < 19 || text[13] != ':' || !readDigits(text, 14, 2, minute) ||
        text[16] != ':' || !readDigits(text, 17, 2, second)) {
      return bad();
    }
    pos = 19;
    if (pos < text.size() && text[pos] == '.') {
      ++pos;
      size_t start = pos;
      long long scale = 100'000'000;
      while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
        fractionNanos += (text[pos] - '0') * scale;
        scale /= 10;
        ++pos;
      }
      if (pos == start) {
        return bad();
      }
    }
    if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
      ++pos;
    } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
      int oh = 0, om = 0;
      if (!readDigits(text, pos + 1, 2, oh) || pos + 3 >= text.size() || text[pos + 3] != ':' ||
          !readDigits(text, pos + 4, 2, om) || oh > 23 || om > 59) {
        return bad();
      }
      offsetSeconds = (oh * 3600 + om * 60) * (text[pos] == '-' ? -1 : 1);
      pos += 6;
    } else {
      return bad();
    }
    if (pos != text.size()) {
      return bad();
    }
  }
  using namespace std::chrono;
  year_month_day ymd{std::chrono::year(year), std::chrono::month(static_cast<unsigned>(month)),
                     std::chrono::day(static_cast<unsigned>(day))};
  if (!ymd.ok() || hour > 23 || minute > 59 || second > 60) {
    return bad();
  }
  // The clock counts nanoseconds in 64 bits: 1678 to 2261 fit, and nothing else may be converted.
  if (year < 1678 || year > 2261) {
    return invalidArgument("time \"" + std::string(text) +
                           "\" is out of range: use a year from 1678 to 2261");
  }
  auto t = sys_days(ymd) + hours(hour) + minutes(minute) + seconds(second) -
           seconds(offsetSeconds) + nanoseconds(fractionNanos);
  return WallTime(time_point_cast<system_clock::duration>(t));
}

std::string formatRfc3339(WallTime t, bool millis) {
  using namespace std::chrono;
  auto secs = time_point_cast<seconds>(t);
  if (secs > t) {
    secs -= seconds(1);
  }
  std::time_t tt = system_clock::to_time_t(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];
  if (millis) {
    auto ms = duration_cast<milliseconds>(t - secs).count();
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
  } else {
    std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  }
  return buf;
}

std::string formatRfc3339Micro(WallTime t) {
  std::string base = formatRfc3339(t);  // …:05Z
  auto micros = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()) %
                std::chrono::seconds(1);
  if (micros.count() < 0) {
    micros += std::chrono::seconds(1);
  }
  char frac[16];
  std::snprintf(frac, sizeof frac, ".%06lld", static_cast<long long>(micros.count()));
  return base.substr(0, base.size() - 1) + frac + "Z";
}

namespace {

// Go's time.ParseDuration, step by step (src/time/format.go): a sign, then one or more
// "number unit" parts; a number has digits before or after an optional '.', a unit is one of
// ns us µs μs ms s m h. Integer nanoseconds with overflow checks, as Go, so "2562048h" is out
// of range in both and a fraction never adds rounding error to whole units.
constexpr uint64_t kMaxNanos = static_cast<uint64_t>(std::numeric_limits<int64_t>::max());

struct Unit {
  std::string_view name;
  uint64_t nanos;
};
constexpr Unit kUnits[] = {
    {"ns", 1},
    {"us", 1'000},
    {"\xC2\xB5s", 1'000},  // U+00B5 micro sign
    {"\xCE\xBCs", 1'000},  // U+03BC Greek mu
    {"ms", 1'000'000},
    {"s", 1'000'000'000},
    {"m", 60'000'000'000},
    {"h", 3'600'000'000'000},
};

// The unit named by the longest run of non-digit, non-dot bytes, as Go reads it.
const Unit* unitNamed(std::string_view name) {
  for (const Unit& u : kUnits) {
    if (u.name == name) {
      return &u;
    }
  }
  return nullptr;
}

enum class DurationError { kNone, kSyntax, kRange };

struct ParsedNanos {
  uint64_t nanos = 0;
  DurationError error = DurationError::kNone;
};

constexpr ParsedNanos kSyntaxError{0, DurationError::kSyntax};
constexpr ParsedNanos kRangeError{0, DurationError::kRange};

ParsedNanos goDurationNanos(std::string_view s) {
  uint64_t total = 0;
  if (s == "0") {
    return {};
  }
  if (s.empty()) {
    return kSyntaxError;
  }
  while (!s.empty()) {
    // The integer part; overflow is an error, as in Go's leadingInt.
    uint64_t v = 0;
    size_t i = 0;
    for (; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
      if (v > kMaxNanos / 10) {
        return kRangeError;
      }
      v = v * 10 + static_cast<uint64_t>(s[i] - '0');
      if (v > kMaxNanos) {
        return kRangeError;
      }
    }
    const bool pre = i > 0;
    s.remove_prefix(i);
    // The fraction: digits past what fits are ignored, as in Go's leadingFraction.
    uint64_t f = 0;
    double scale = 1;
    bool post = false;
    if (!s.empty() && s[0] == '.') {
      s.remove_prefix(1);
      bool overflow = false;
      for (i = 0; i < s.size() && s[i] >= '0' && s[i] <= '9'; ++i) {
        if (overflow) {
          continue;
        }
        if (f > kMaxNanos / 10) {
          overflow = true;
          continue;
        }
        uint64_t next = f * 10 + static_cast<uint64_t>(s[i] - '0');
        if (next > kMaxNanos) {
          overflow = true;
          continue;
        }
        f = next;
        scale *= 10;
      }
      post = i > 0;
      s.remove_prefix(i);
    }
    if (!pre && !post) {
      return kSyntaxError;
    }
    i = 0;
    while (i < s.size() && s[i] != '.' && (s[i] < '0' || s[i] > '9')) {
      ++i;
    }
    if (i == 0) {
      return kSyntaxError;
    }
    const Unit* unit = unitNamed(s.substr(0, i));
    if (unit == nullptr) {
      return kSyntaxError;
    }
    s.remove_prefix(i);
    if (v > kMaxNanos / unit->nanos) {
      return kRangeError;
    }
    v *= unit->nanos;
    if (f > 0) {
      // float64 is needed to be nanosecond accurate for fractions of hours, as in Go.
      v += static_cast<uint64_t>(static_cast<double>(f) *
                                 (static_cast<double>(unit->nanos) / scale));
      if (v > kMaxNanos) {
        return kRangeError;
      }
    }
    total += v;
    if (total > kMaxNanos) {
      return kRangeError;
    }
  }
  return {total, DurationError::kNone};
}

}  // namespace

StatusOr<std::chrono::milliseconds> parseGoDuration(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return invalidArgument("\"" + std::string(text.substr(0, 64)) + (text.size() > 64 ? "…" : "") +
                           "\" " + std::string(why));
  };
  std::string_view s = text;
  bool negative = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    negative = s[0] == '-';
    s.remove_prefix(1);
  }
  const ParsedNanos parsed = goDurationNanos(s);
  if (parsed.error != DurationError::kNone) {
    return bad(parsed.error == DurationError::kRange
                   ? "is out of range (Go durations end near 2562047h)"
                   : "is not a duration like 168h, 1h30m, 90s or 250ms");
  }
  if (negative && parsed.nanos > 0) {
    return bad("is negative; a duration here must be zero or more");
  }
  // Truncated to milliseconds, as Go's Duration.Milliseconds() does.
  return std::chrono::milliseconds(static_cast<int64_t>(parsed.nanos / 1'000'000));
}

}  // namespace hm
