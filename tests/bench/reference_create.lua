-- wrk script for the reference view (tests/bench/reference): POST /payments, the same amount
-- and currency as payment_create.lua, no key, no card.
local body = '{"amount": 1999, "currency": "usd"}'
local headers = {["Content-Type"] = "application/json"}

function request()
  return wrk.format("POST", "/payments", headers, body)
end

-- done(): the RESULT line the bench scripts read.
dofile((debug.getinfo(1, "S").source:match("^@(.*/)") or "./") .. "wrk_result.lua")
