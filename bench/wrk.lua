-- One wrk script for every scenario, driven by environment variables:
--   BENCH_METHOD   GET (default), POST or PATCH
--   BENCH_PATHS    space-separated paths, used in turn (one request each)
--   BENCH_BODIES   "|"-separated JSON bodies, used in turn (POST/PATCH)
--   BENCH_TOKEN    bearer token (Authorization header)
--   BENCH_COOKIE   Cookie header (session login for the pages)
-- done() prints one JSON line: requests, duration, errors, req/s and latency percentiles.

local function split(text, sep)
  local out = {}
  if text == nil or text == "" then return out end
  for piece in string.gmatch(text, "([^" .. sep .. "]+)") do
    table.insert(out, piece)
  end
  return out
end

local method = os.getenv("BENCH_METHOD") or "GET"
local paths = split(os.getenv("BENCH_PATHS") or "/", " ")
local bodies = split(os.getenv("BENCH_BODIES") or "", "|")
local headers = {}
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then headers["Authorization"] = "Bearer " .. token end
local cookie = os.getenv("BENCH_COOKIE")
if cookie and cookie ~= "" then headers["Cookie"] = cookie end
if #bodies > 0 then headers["Content-Type"] = "application/json" end

local counter = 0
local threads = {}
thread_offset = 0  -- a global: setup() sets it in each thread

function setup(thread)
  thread:set("thread_offset", #threads * 7919)
  table.insert(threads, thread)
end

function request()
  counter = counter + 1
  local n = counter + (thread_offset or 0)
  local path = paths[(n % #paths) + 1]
  local body = nil
  if #bodies > 0 then
    -- Bodies advance once per full round of paths, so each path sees every body in turn.
    body = bodies[(math.floor(n / #paths) % #bodies) + 1]
  end
  return wrk.format(method, path, headers, body)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH_RESULT {"requests": %d, "duration_us": %d, "rps": %.2f, ' ..
    '"p50_ms": %.3f, "p90_ms": %.3f, "p99_ms": %.3f, "max_ms": %.3f, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}}\n',
    summary.requests, summary.duration, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000,
    e.connect, e.read, e.write, e.status, e.timeout))
end
