-- wrk script: POST /api/v1/payments with a unique Idempotency-Key per request.
-- Env: BENCH_API_KEY (required), BENCH_CARD (default 4242424242424242).
local api_key = os.getenv("BENCH_API_KEY")
local card = os.getenv("BENCH_CARD") or "4242424242424242"
local threads = {}
local counter = 0
-- `prefix` is set per thread by setup() (a global in each thread's Lua state).

function setup(thread)
  thread:set("prefix", string.format("bench-%d-%d-", os.time(), #threads))
  table.insert(threads, thread)
end

function init(args)
  body = string.format(
    '{"amount": 1999, "currency": "usd", "payment_method_data": {"type": "card", "card": ' ..
    '{"number": "%s", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}}', card)
  headers = {
    ["Authorization"] = "Bearer " .. api_key,
    ["Content-Type"] = "application/json",
  }
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = prefix .. counter
  return wrk.format("POST", "/api/v1/payments", headers, body)
end

function done(summary, latency, requests)
  local seconds = summary.duration / 1e6
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write
    + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT requests=%d seconds=%.1f rps=%.1f p50_ms=%.1f p90_ms=%.1f p99_ms=%.1f max_ms=%.1f errors=%d non2xx=%d\n",
    summary.requests, seconds, summary.requests / seconds,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, errors, summary.errors.status))
end
