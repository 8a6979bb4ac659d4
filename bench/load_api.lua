-- wrk script for bench/load_api.py: one endpoint per run, Token auth, JSON body
-- for POSTs, paths rotated per request (LOAD_PATHS, comma-separated), and one
-- machine-readable RESULT line at the end (latency in microseconds).

local token = os.getenv("LOAD_TOKEN")
local method = os.getenv("LOAD_METHOD") or "GET"
local body = os.getenv("LOAD_BODY")
local paths = {}
for path in string.gmatch(os.getenv("LOAD_PATHS"), "[^,]+") do
  table.insert(paths, path)
end
local next_path = 0

local headers = {["Authorization"] = "Token " .. token, ["Accept"] = "application/json"}
if body then
  headers["Content-Type"] = "application/json"
end
-- A conditional GET: the ETag of an earlier answer, so an unchanged one is a 304.
local etag = os.getenv("LOAD_IF_NONE_MATCH")
if etag then
  headers["If-None-Match"] = etag
end

-- Threads start at different offsets so they do not all hit the same path.
setup = function(thread)
  thread:set("next_path", math.random(0, #paths - 1))
end

request = function()
  next_path = (next_path % #paths) + 1
  return wrk.format(method, paths[next_path], headers, body)
end

done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'RESULT {"requests": %d, "bytes": %d, "duration_us": %d, "connect_errors": %d, "read_errors": %d, ' ..
    '"write_errors": %d, "status_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p95_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.bytes, summary.duration, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99), latency.max))
end
