-- bench/wrk/payment.lua — PUT /shm/v1/admin/user/payment with a unique uniq_key per request
-- (thread number + counter + BENCH_RUN), spread over users 2 .. BENCH_USERS+1. The admin
-- session comes as a -H header from bench/bench.py.
dofile(os.getenv("BENCH_LUA_DIR") .. "/report.lua")

local threads = {}
local next_id = 0

setup = function(thread)
    next_id = next_id + 1
    thread:set("tid", next_id)
    table.insert(threads, thread)
end

local counter = 0
local users = tonumber(os.getenv("BENCH_USERS") or "1000")
local run = os.getenv("BENCH_RUN") or "r"

-- wrk.format() replaces wrk.headers (the -H session header) when given a table: copy them
local headers = nil

request = function()
    if not headers then
        headers = { ["Content-Type"] = "application/json" }
        for k, v in pairs(wrk.headers) do headers[k] = v end
    end
    counter = counter + 1
    local uid = 2 + (counter * 7919 + (tid or 0) * 104729) % users
    local body = string.format(
        '{"user_id":%d,"money":"1.00","pay_system_id":"bench","uniq_key":"wrk-%s-%d-%d"}',
        uid, run, tid or 0, counter)
    return wrk.format("PUT", "/shm/v1/admin/user/payment", headers, body)
end
