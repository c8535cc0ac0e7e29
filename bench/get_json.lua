-- wrk -s bench/get_json.lua: GET one API path (BENCH_PATH) with a bearer token (BENCH_TOKEN),
-- as through the TLS proxy (X-Forwarded-Proto: https); see post_referral.lua.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

wrk.method = "GET"
wrk.path = os.getenv("BENCH_PATH")
wrk.headers["Accept"] = "application/json"
wrk.headers["X-Forwarded-Proto"] = "https"
wrk.headers["Authorization"] = "Bearer " .. os.getenv("BENCH_TOKEN")
