-- Answers with the event it was given and the context it ran in.
function handler(event, ctx)
  return {
    event = event,
    request_id = ctx.request_id,
    function_name = ctx.function_name,
    principal = ctx.principal.id,
  }
end
