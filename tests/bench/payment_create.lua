-- wrk script: POST /api/v1/payments with a unique Idempotency-Key per request.
-- Env: BENCH_API_KEY (required), BENCH_CARD (default: a fresh random Visa number per request,
-- so the fraud rule "more than 100 payments per card per hour" does not hold them for review).
local api_key = os.getenv("BENCH_API_KEY")
local fixed_card = os.getenv("BENCH_CARD")
local threads = {}
local counter = 0
-- `prefix` is set per thread by setup() (a global in each thread's Lua state).

function setup(thread)
  thread:set("prefix", string.format("bench-%d-%d-", os.time(), #threads))
  table.insert(threads, thread)
end

-- "4" + 14 random digits + the Luhn check digit.
local function random_visa()
  local digits = {4}
  for i = 2, 15 do digits[i] = math.random(0, 9) end
  local sum = 0
  for i = 15, 1, -1 do
    local d = digits[i]
    if (15 - i) % 2 == 0 then
      d = d * 2
      if d > 9 then d = d - 9 end
    end
    sum = sum + d
  end
  digits[16] = (10 - sum % 10) % 10
  return table.concat(digits)
end

function init(args)
  math.randomseed(os.time() + #prefix)
  headers = {
    ["Authorization"] = "Bearer " .. api_key,
    ["Content-Type"] = "application/json",
  }
end

function request()
  counter = counter + 1
  headers["Idempotency-Key"] = prefix .. counter
  local body = string.format(
    '{"amount": 1999, "currency": "usd", "payment_method_data": {"type": "card", "card": ' ..
    '{"number": "%s", "exp_month": 12, "exp_year": 2030, "cvc": "123"}}}',
    fixed_card or random_visa())
  return wrk.format("POST", "/api/v1/payments", headers, body)
end

-- done(): the RESULT line the bench scripts read.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_result.lua")
