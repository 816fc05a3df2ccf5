#include "harbormaster/base/time.h"

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <limits>
#include <regex>

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

StatusOr<std::chrono::milliseconds> parseGoDuration(const std::string& text) {
  static const std::regex part("([0-9]+(?:\\.[0-9]+)?)(h|ms|m|s)");
  if (text.empty()) {
    return invalidArgument("empty duration");
  }
  double ms = 0;
  size_t pos = 0;
  for (auto it = std::sregex_iterator(text.begin(), text.end(), part); it != std::sregex_iterator();
       ++it) {
    if (static_cast<size_t>(it->position()) != pos) {
      break;
    }
    const std::string unit = (*it)[2].str();
    // strtod, not stod: a number beyond a double is infinite (refused below), not an
    // exception (a fuzz finding).
    errno = 0;
    double n = std::strtod((*it)[1].str().c_str(), nullptr);
    if (errno == ERANGE) {
      n = std::numeric_limits<double>::infinity();
    }
    ms += n * (unit == "h" ? 3.6e6 : unit == "m" ? 6e4 : unit == "s" ? 1e3 : 1);
    pos += static_cast<size_t>(it->length());
  }
  if (pos != text.size() || ms > 1e15) {
    return invalidArgument("\"" + text + "\" is not a duration like 168h, 90m or 30s");
  }
  return std::chrono::milliseconds(static_cast<int64_t>(ms));
}

}  // namespace hm
