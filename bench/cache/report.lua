-- wrk script: one machine-readable line with the rate and latency percentiles (microseconds).
done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_us=%d p90_us=%d p99_us=%d max_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.requests, errors))
end
