-- wrk script: asks for stations 1..N in turn, and prints one machine-readable line with the
-- rate and latency percentiles (microseconds).
--   wrk ... -s rotate.lua URL -- N PATH        PATH holds %d where the station id goes
local stations, path, next_id = 1, "/", 0

init = function(args)
  stations = tonumber(args[1])
  path = args[2]
end

request = function()
  next_id = next_id % stations + 1
  return wrk.format("GET", string.format(path, next_id))
end

done = function(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write +
                 summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.1f p50_us=%d p90_us=%d p99_us=%d max_us=%d requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50), latency:percentile(90),
    latency:percentile(99), latency.max, summary.requests, errors))
end
