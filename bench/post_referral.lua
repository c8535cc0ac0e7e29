-- wrk -s bench/post_referral.lua: POST one JSON body (a referral, or the baseline's record)
-- with a bearer token, over and over. The body, path and token come from the environment
-- (bench/measure.py sets them): BENCH_BODY, BENCH_PATH, BENCH_TOKEN.
-- The hub runs in production mode behind what would be its TLS proxy; ProxyFix trusts one
-- hop, so the proxy's X-Forwarded-Proto header is sent as the proxy would.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = "POST"
wrk.path = os.getenv("BENCH_PATH") or "/api/v1/referrals"
wrk.body = os.getenv("BENCH_BODY")
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Accept"] = "application/json"
wrk.headers["X-Forwarded-Proto"] = "https"
local token = os.getenv("BENCH_TOKEN")
if token and token ~= "" then
   wrk.headers["Authorization"] = "Bearer " .. token
end
