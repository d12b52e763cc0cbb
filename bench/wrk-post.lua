-- wrk script of bench/run.sh: POSTs one chat request body on every connection and, when done, prints one JSON
-- line in the shape LoadGen prints (mode "closed"), prefixed with the tags in WRK_TAGS (a JSON fragment such as
-- '"scenario":"closed","target":"nginx","round":"1",').
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("WRK_BODY")
  or '{"model":"nvidia/x","messages":[{"role":"user","content":"Say hello to the benchmark."}]}'
-- Extra request headers, "Name: value" one per line (the stream warm-up asks the simulated provider for short
-- streams, and for a new connection per request).
for line in (os.getenv("WRK_HEADERS") or ""):gmatch("[^\n]+") do
  local name, value = line:match("^([^:]+):%s*(.*)$")
  wrk.headers[name] = value
end

done = function(summary, latency, requests)
  local tags = os.getenv("WRK_TAGS") or ""
  local connections = tonumber(os.getenv("WRK_CONNECTIONS") or "0")
  local seconds = summary.duration / 1e6
  local e = summary.errors
  local errors = e.connect + e.read + e.write + e.status + e.timeout
  local ok = summary.requests - e.status
  io.write(string.format(
    '{%s"mode":"closed","tool":"wrk","concurrency":%d,"duration_s":%.3f,"ok":%d,"errors":%d,'
      .. '"error_kinds":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
      .. '"throughput_rps":%.1f,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f,'
      .. '"mean_ms":%.3f}\n',
    tags, connections, seconds, ok, errors, e.connect, e.read, e.write, e.status, e.timeout, ok / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency:percentile(99.9) / 1000, latency.max / 1000, latency.mean / 1000))
end
