// RFC 3339 timestamps as Kubernetes writes them ("2026-12-31T00:00:00Z").
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "harbormaster/base/status.h"

namespace hm {

using WallTime = std::chrono::system_clock::time_point;

// Accepts "YYYY-MM-DDTHH:MM:SS[.frac](Z|±HH:MM)"; the date "YYYY-MM-DD" alone means midnight UTC.
StatusOr<WallTime> parseRfc3339(std::string_view text);
std::string formatRfc3339(WallTime t, bool millis = false);
// Kubernetes metav1.MicroTime: 2026-11-23T12:00:05.123456Z.
std::string formatRfc3339Micro(WallTime t);

// Go's time.ParseDuration grammar (units ns us µs ms s m h, fractions, a sign), one grammar
// for flags, CRDs and the API server's ?timeout=. Negative durations are refused: none of ours
// means anything below zero. Truncated to milliseconds.
StatusOr<std::chrono::milliseconds> parseGoDuration(std::string_view text);

}  // namespace hm
