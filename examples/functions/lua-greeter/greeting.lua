-- A module of the hello function, loaded with require("greeting") from the same folder.
local M = {}

function M.format(name)
  return "hello, " .. name .. "!"
end

return M
