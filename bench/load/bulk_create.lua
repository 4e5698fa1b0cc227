-- wrk script (use -t1): POST BULK_COUNT identities (humans), then exit. Counts non-201 answers.
local sent, done, failed = 0, 0, 0
local limit = tonumber(os.getenv("BULK_COUNT") or "100000")
local token = os.getenv("CUSTODY_TOKEN")
local thread_id = 0

setup = function(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

request = function()
  sent = sent + 1
  local body = string.format('{"kind":"human","display_name":"bench user %d-%d","labels":{"bench":"load"}}',
                             thread_id, sent)
  return wrk.format("POST", "/api/v1/identities",
                    {["Content-Type"] = "application/json", ["Authorization"] = "Bearer " .. token},
                    body)
end

response = function(status)
  done = done + 1
  if status ~= 201 then failed = failed + 1 end
  if done >= limit then
    -- wrk would otherwise idle until -d runs out; the caller times the whole run.
    io.stderr:write(string.format("bulk: %d answered, %d not 201\n", done, failed))
    os.exit(failed == 0 and 0 or 1)
  end
end

