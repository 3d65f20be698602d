-- The quick start's `hello` function (Lua). Greets the event's `name` and says who called:
-- ctx.principal is the principal the gateway authenticated and the policies allowed.
function handler(event, ctx)
  local name = "world"
  if type(event) == "table" and type(event.name) == "string" and event.name ~= "" then
    name = event.name
  end
  ctx.log("greeting " .. name .. " for " .. ctx.principal.id)
  return {
    greeting = "Hello, " .. name .. "!",
    principal = ctx.principal.id,
    request_id = ctx.request_id,
  }
end
