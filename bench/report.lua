-- Shared by the wrk scripts: one JSON line with throughput, latency percentiles and errors.
-- Loaded with dofile() from each script; wrk calls done() once, in its main Lua state.
function done(summary, latency, requests)
   local e = summary.errors
   local seconds = summary.duration / 1e6
   io.write(string.format(
      'WRK_JSON {"requests": %d, "seconds": %.3f, "rps": %.2f, ' ..
      '"p50_ms": %.2f, "p90_ms": %.2f, "p95_ms": %.2f, "p99_ms": %.2f, "max_ms": %.2f, ' ..
      '"mean_ms": %.2f, "non_2xx": %d, "socket_errors": %d}\n',
      summary.requests, seconds, summary.requests / seconds,
      latency:percentile(50) / 1e3, latency:percentile(90) / 1e3,
      latency:percentile(95) / 1e3, latency:percentile(99) / 1e3, latency.max / 1e3,
      latency.mean / 1e3, e.status, e.connect + e.read + e.write + e.timeout))
end
