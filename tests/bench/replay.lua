-- wrk script: replay the requests written by tests/bench/requests.rs, in order.
local requests, n, i = {}, 0, 0

init = function(args)
  local file = assert(io.open(args[1], "rb"))
  local data = file:read("*a")
  file:close()
  for request in data:gmatch("([^%z]+)") do
    n = n + 1
    requests[n] = request
  end
end

request = function()
  i = i + 1
  if i > n then
    io.stderr:write("replay.lua: ran out of distinct requests; make the runs shorter or the files longer\n")
    i = 1
  end
  return requests[i]
end

response = function(status)
  if status ~= 200 then
    io.stderr:write("replay.lua: status " .. status .. "\n")
  end
end
