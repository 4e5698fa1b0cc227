-- wrk script: GET /api/v1/identities/{id} for ids picked at random from IDS_FILE.
local ids = {}
local token = os.getenv("CUSTODY_TOKEN")

init = function()
  for line in io.lines(os.getenv("IDS_FILE")) do ids[#ids + 1] = line end
  math.randomseed(os.time() + math.floor(os.clock() * 1e6))
end

request = function()
  local id = ids[math.random(#ids)]
  return wrk.format("GET", "/api/v1/identities/" .. id, {["Authorization"] = "Bearer " .. token})
end

local bad = 0
response = function(status)
  if status ~= 200 then bad = bad + 1 end
end
