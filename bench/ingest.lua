-- wrk script of bench/ingest.py: every request a different body.
--
--   wrk ... -s bench/ingest.lua http://127.0.0.1:PORT/graphql -- CONFIG.lua
--
-- CONFIG.lua (written by bench/ingest.py) returns a table:
--   mode       "static" (the same body every time: the trivial query, Me), "event"
--              (RecordEvent) or "batch" (RecordEvents)
--   body       the body of "static"
--   document   the operations file's text, already a JSON string literal
--   token      the bearer token
--   prefix     of the idempotency keys: unique to the run and the round
--   members    global ids of the members events are for
--   split      true: thread n of N takes every N-th member, so writers never share one
--   threads    wrk's -t (for split)
--   batch      events per RecordEvents request
--   mix        {{type, weight}, ...}: the demo's activity mix
--
-- Each thread counts what the server did with what it sent: events recorded (a fresh
-- EventRecorded, or a batch's "recorded"), items that failed, responses that were not
-- 200, and keeps the first failure it saw; done() prints one "LAUREL ..." line for
-- bench/ingest.py to read, with wrk's own latency percentiles in microseconds.

local config, body_head, body_tail, members, kinds, cumulative, total_weight
local serial = 0
recorded, failed, bad_status, sample = 0, 0, 0, ""

local threads = {}

function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_no", #threads)
end

function init(args)
   config = dofile(args[1])
   math.randomseed(config.seed * 1000 + thread_no)
   members = {}
   for n, id in ipairs(config.members or {}) do
      if not config.split or (n - 1) % config.threads == thread_no - 1 then
         table.insert(members, id)
      end
   end
   kinds, cumulative, total_weight = {}, {}, 0
   for _, pair in ipairs(config.mix or {}) do
      total_weight = total_weight + pair[2]
      table.insert(kinds, pair[1])
      table.insert(cumulative, total_weight)
   end
   if config.mode == "static" then
      body_head = config.body
   elseif config.mode == "event" then
      body_head = '{"query":' .. config.document .. ',"operationName":"RecordEvent",'
         .. '"variables":{"input":'
      body_tail = '}}'
   else
      body_head = '{"query":' .. config.document .. ',"operationName":"RecordEvents",'
         .. '"variables":{"inputs":['
      body_tail = ']}}'
   end
   wrk.method = "POST"
   wrk.headers["Content-Type"] = "application/json"
   wrk.headers["Authorization"] = "Bearer " .. config.token
end

local function event_json(now)
   serial = serial + 1
   local pick, kind = math.random() * total_weight, kinds[#kinds]
   for n, edge in ipairs(cumulative) do
      if pick < edge then
         kind = kinds[n]
         break
      end
   end
   local amount = "0"
   if kind == "purchase" then
      amount = string.format("%.2f", 5 + math.random() * 395)
   end
   return '{"memberId":"' .. members[math.random(#members)] .. '","type":"' .. kind
      .. '","occurredAt":"' .. now .. '","amount":"' .. amount
      .. '","idempotencyKey":"' .. config.prefix .. "-" .. thread_no .. "-" .. serial .. '"}'
end

function request()
   if config.mode == "static" then
      return wrk.format(nil, nil, nil, body_head)
   end
   -- Whole seconds, rounded down: never ahead of the server's clock.
   local now = os.date("!%Y-%m-%dT%H:%M:%S+00:00")
   local body
   if config.mode == "event" then
      body = body_head .. event_json(now) .. body_tail
   else
      local items = {}
      for n = 1, config.batch do
         items[n] = event_json(now)
      end
      body = body_head .. table.concat(items, ",") .. body_tail
   end
   return wrk.format(nil, nil, nil, body)
end

local function remember(text)
   if sample == "" then
      sample = string.sub(string.gsub(text, "%s+", " "), 1, 400)
   end
end

function response(status, headers, body)
   if status ~= 200 then
      bad_status = bad_status + 1
      remember("HTTP " .. status .. ": " .. body)
   elseif config.mode == "static" then
      if string.find(body, '"errors"', 1, true) then
         failed = failed + 1
         remember(body)
      end
   elseif config.mode == "event" then
      -- A replayed key would answer duplicate: true; every key here is fresh.
      if string.find(body, '"__typename":%s*"EventRecorded"')
         and string.find(body, '"duplicate":%s*false') then
         recorded = recorded + 1
      else
         failed = failed + 1
         remember(body)
      end
   else
      local done = tonumber(string.match(body, '"recorded":%s*(%d+)'))
      local bad = tonumber(string.match(body, '"failed":%s*(%d+)'))
      local again = tonumber(string.match(body, '"duplicates":%s*(%d+)'))
      if done == nil then
         failed = failed + config.batch
         remember(body)
      else
         recorded = recorded + done
         failed = failed + bad + again
         if bad + again > 0 then
            remember(body)
         end
      end
   end
end

function done(summary, latency, requests)
   local totals = { recorded = 0, failed = 0, bad_status = 0 }
   local first = ""
   for _, thread in ipairs(threads) do
      for name, _ in pairs(totals) do
         totals[name] = totals[name] + thread:get(name)
      end
      if first == "" then
         first = thread:get("sample")
      end
   end
   local errors = summary.errors
   io.write(string.format(
      "LAUREL requests=%d duration_us=%d recorded=%d failed=%d bad_status=%d "
         .. "socket_errors=%d p50_us=%d p99_us=%d\n",
      summary.requests, summary.duration, totals.recorded, totals.failed, totals.bad_status,
      errors.connect + errors.read + errors.write + errors.timeout,
      latency:percentile(50), latency:percentile(99)))
   if first ~= "" then
      io.write("LAUREL-SAMPLE " .. first .. "\n")
   end
end
