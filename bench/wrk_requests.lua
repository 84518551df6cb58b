-- wrk script of bench/server_bench.py: sends BENCH_METHOD requests whose bearer token and JSON
-- body come, line by line in turn, from BENCH_REQUESTS_FILE ("token<TAB>body"; either part may
-- be empty), and stops each thread after BENCH_MAX_REQUESTS answers (bounded in count as
-- well as by wrk's -d in time).
local method = os.getenv("BENCH_METHOD") or "GET"
local max_requests = tonumber(os.getenv("BENCH_MAX_REQUESTS") or "0")
local path = os.getenv("BENCH_REQUESTS_FILE")
local lines = {}
if path and path ~= "" then
  for line in io.lines(path) do
    table.insert(lines, line)
  end
end
local sent = 0
local answered = 0

request = function()
  sent = sent + 1
  local headers = {}
  local body = nil
  if #lines > 0 then
    local line = lines[(sent - 1) % #lines + 1]
    local token, payload = line:match("^([^\t]*)\t(.*)$")
    if token and token ~= "" then
      headers["Authorization"] = "Bearer " .. token
    end
    if payload and payload ~= "" then
      body = payload
      headers["Content-Type"] = "application/json"
    end
  end
  return wrk.format(method, nil, headers, body)
end

response = function(status, headers, body)
  answered = answered + 1
  if max_requests > 0 and answered >= max_requests then
    wrk.thread:stop()
  end
end
