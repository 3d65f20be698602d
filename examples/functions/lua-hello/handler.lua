-- Says hello to `event.name`, or to the calling principal.
function handler(event, ctx)
  local name = ctx.principal.id
  if type(event) == "table" and type(event.name) == "string" and event.name ~= "" then
    name = event.name
  end
  ctx.log("greeting " .. name)
  return { message = "hello, " .. name .. "!" }
end
