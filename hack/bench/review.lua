-- wrk script: POSTs one AdmissionReview (path in $HM_BENCH_BODY) to /validate (or the path in
-- $HM_BENCH_PATH, e.g. /mutate) over keep-alive connections, and prints one machine-readable
-- line with throughput and latency percentiles.
local path = os.getenv("HM_BENCH_BODY")
local f = assert(io.open(path, "rb"))
wrk.method = "POST"
wrk.body = f:read("*a")
f:close()
wrk.path = (os.getenv("HM_BENCH_PATH") or "/validate") .. "?timeout=10s"
wrk.headers["Content-Type"] = "application/json"

local non200 = 0
function response(status, headers, body)
  if status ~= 200 then
    non200 = non200 + 1
  end
end

function done(summary, latency, requests)
  local secs = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.timeout + summary.errors.status
  io.write(string.format("RESULT rps=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f requests=%d errors=%d\n",
    summary.requests / secs, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, summary.requests, errors))
end
