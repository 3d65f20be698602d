-- A Lua function: greets the caller, counts the invocations this environment served.
local greeting = require("greeting")

local served = 0

function handler(event, ctx)
  served = served + 1
  local name = event and event.name or "world"
  if type(name) ~= "string" or #name > 64 then
    return nil, {type = "BadRequest", message = "`name` must be a string of at most 64 bytes"}
  end
  ctx.log("greeting", name, "for", ctx.principal.id)
  return {
    statusCode = 200,
    headers = {["content-type"] = "application/json"},
    body = {
      message = greeting.format(name),
      request_id = ctx.request_id,
      served_by_this_environment = served,
    },
  }
end
