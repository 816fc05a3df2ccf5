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

// Go durations as Kubernetes and our CRDs write them: "168h", "1h30m", "90s", "1.5s", "250ms".
StatusOr<std::chrono::milliseconds> parseGoDuration(const std::string& text);

}  // namespace hm
