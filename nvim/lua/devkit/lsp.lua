-- devkit.lsp: Neovim's built-in LSP client named "ocamllsp", one per project root.
--
-- Python (devkit_nvim/lsp_client.py) finds the project, its toolchain environment and the
-- ocamllsp executable; this module starts, attaches, stops and reports the client, and carries
-- requests: `request` sends one on the buffer's client and hands the answer back to Python with
-- `DevkitLspReply(token, err, result)`. Nothing here waits for the server.
local M = {}

M.filetypes = { "ocaml", "ocamlinterface", "ocamllex", "menhir", "dune" }
M.configs = {} -- project root -> the vim.lsp.start config started there
M.stopped = {} -- project root -> true after :OCaml lsp stop (autostart leaves it alone)
M.unavailable = {} -- project root -> true when autostart found no ocamllsp there

local NAME = "ocamllsp"
local has_011 = vim.fn.has("nvim-0.11") == 1

-- client:method(...) on 0.11+, client.method(...) on 0.10 (where methods are closures).
local function call(client, method, ...)
  if has_011 then
    return client[method](client, ...)
  end
  return client[method](...)
end

local function gone(client)
  return vim.lsp.get_client_by_id(client.id) == nil
end

local function stopped(client)
  return gone(client) or call(client, "is_stopped")
end

local function buffer_file(buf)
  if not vim.api.nvim_buf_is_valid(buf) or vim.bo[buf].buftype ~= "" then
    return nil
  end
  local name = vim.api.nvim_buf_get_name(buf)
  if name == "" then
    return nil
  end
  return vim.fs.normalize(vim.fn.fnamemodify(name, ":p"))
end

local function under(root, file)
  return require("devkit").under(file, root)
end

local function reply(token, err, result)
  local function send()
    pcall(vim.fn.DevkitLspReply, token, err or vim.NIL, result == nil and vim.NIL or result)
  end
  if vim.in_fast_event() then
    vim.schedule(send)
  else
    send()
  end
end

--- The ocamllsp clients of `root` (every ocamllsp client when root is nil), and those
--- attached to `buf`.
local function clients(root, buf)
  local found, seen = {}, {}
  for _, client in ipairs(vim.lsp.get_clients({ name = NAME })) do
    local attached = buf and client.attached_buffers and client.attached_buffers[buf]
    if (root == nil and buf == nil) or (root and client.config.root_dir == root) or attached then
      if not seen[client.id] then
        seen[client.id] = true
        table.insert(found, client)
      end
    end
  end
  return found
end

local function attached_client(buf)
  return vim.lsp.get_clients({ bufnr = buf, name = NAME })[1]
end

--- The known root whose folder holds `buf`'s file.
local function root_of(buf)
  local file = buffer_file(buf)
  for root in pairs(M.configs) do
    if under(root, file) then
      return root
    end
  end
end

local function is_ocaml(buf)
  return vim.tbl_contains(M.filetypes, vim.bo[buf].filetype)
end

local function ensure_autocmd()
  if M.group then
    return
  end
  M.group = vim.api.nvim_create_augroup("devkit_lsp", { clear = true })
  vim.api.nvim_create_autocmd("FileType", {
    group = M.group,
    pattern = M.filetypes,
    callback = function(args)
      local root = root_of(args.buf)
      if root then
        vim.lsp.start(M.configs[root], { bufnr = args.buf })
      end
    end,
  })
end

local function start_detached(config)
  if has_011 then
    return vim.lsp.start(config, { attach = false })
  end
  return vim.lsp.start_client(config)
end

--- Start (or reuse) the client of `root` with `cmd` in `env`; attach every loaded OCaml/dune
--- buffer under root, and later ones through a FileType autocommand.
--- Returns { id = client id or nil, buffers = attached count, reused = bool }.
function M.start(root, cmd, env)
  local config = { name = NAME, cmd = cmd, cmd_env = env, root_dir = root }
  local reused = #vim.tbl_filter(function(client)
    return not stopped(client)
  end, clients(root)) > 0
  M.configs[root] = config
  M.stopped[root] = nil
  M.unavailable[root] = nil
  ensure_autocmd()
  local id, count = nil, 0
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and is_ocaml(buf) and under(root, buffer_file(buf)) then
      local attached = vim.lsp.start(config, { bufnr = buf })
      if attached then
        id, count = attached, count + 1
      end
    end
  end
  if not id then
    id = start_detached(config)
  end
  return { id = id, buffers = count, reused = reused }
end

--- Stop the clients of `root` (or, without a root, those attached to `buf`); the root's later
--- buffers are not attached again until :OCaml lsp start. Returns how many were stopped.
function M.stop(root, buf)
  local found = clients(root, buf)
  for _, client in ipairs(found) do
    local client_root = client.config.root_dir
    if client_root then
      M.configs[client_root] = nil
      M.stopped[client_root] = true
    end
    call(client, "stop")
  end
  if root then
    M.configs[root] = nil
    M.stopped[root] = true
  end
  return #found
end

--- Stop the clients of `root`, wait (without blocking) until they are gone, start again.
function M.restart(root, cmd, env)
  local old = clients(root)
  for _, client in ipairs(old) do
    call(client, "stop")
  end
  local deadline = vim.uv.now() + 5000
  local timer = vim.uv.new_timer()
  timer:start(0, 50, vim.schedule_wrap(function()
    local alive = vim.tbl_filter(function(client)
      return not gone(client)
    end, old)
    if #alive > 0 and vim.uv.now() < deadline then
      return
    end
    timer:stop()
    timer:close()
    for _, client in ipairs(alive) do
      call(client, "stop", true)
    end
    local started = M.start(root, cmd, env)
    require("devkit").notify(
      ("ocamllsp restarted for %s (client %s; %d buffer(s) attached)"):format(root, tostring(started.id), started.buffers)
    )
  end))
end

--- What :OCaml lsp info shows about the clients of `root` (or attached to `buf`).
function M.info(root, buf)
  local result = {}
  for _, client in ipairs(clients(root, buf)) do
    local buffers = {}
    for attached in pairs(client.attached_buffers or {}) do
      local name = vim.api.nvim_buf_get_name(attached)
      table.insert(buffers, name ~= "" and vim.fn.fnamemodify(name, ":~:.") or ("#" .. attached))
    end
    table.sort(buffers)
    local server = client.server_info or {}
    local cmd = client.config.cmd
    table.insert(result, {
      id = client.id,
      root = client.config.root_dir,
      cmd = type(cmd) == "table" and table.concat(cmd, " ") or tostring(cmd),
      initialized = client.initialized and true or false,
      stopped = call(client, "is_stopped") and true or false,
      server = server.name and (server.name .. " " .. (server.version or "")) or nil,
      encoding = client.offset_encoding,
      buffers = buffers,
    })
  end
  return result
end

--- The ocamllsp client attached to `buf`: id, position encoding, server capabilities (nil
--- until initialized) and root; nil when none is attached.
function M.client(buf)
  local client = attached_client(buf)
  if not client then
    return nil
  end
  return {
    id = client.id,
    encoding = client.offset_encoding,
    capabilities = client.initialized and client.server_capabilities or nil,
    root = client.config.root_dir,
  }
end

--- Send `method` with `params` on the ocamllsp client of `buf`; the answer goes to
--- DevkitLspReply(token, err, result). Waits (on a timer) for the server to be initialized,
--- so the buffer's didOpen goes first. Returns false when no client is attached.
function M.request(buf, method, params, token)
  local client = attached_client(buf)
  if not client then
    return false
  end
  local function send()
    if stopped(client) then
      reply(token, { message = "the ocamllsp client stopped" })
      return
    end
    local ok = call(client, "request", method, params, function(err, result)
      reply(token, err, result)
    end, buf)
    if not ok then
      reply(token, { message = "the ocamllsp client has shut down" })
    end
  end
  if client.initialized then
    send()
    return true
  end
  local deadline = vim.uv.now() + 10000
  local timer = vim.uv.new_timer()
  timer:start(50, 50, vim.schedule_wrap(function()
    if client.initialized or stopped(client) or vim.uv.now() > deadline then
      timer:stop()
      timer:close()
      if client.initialized then
        send()
      else
        reply(token, { message = "the server did not finish initializing within 10 s" })
      end
    end
  end))
  return true
end

--- Load `path` into a buffer and attach the ocamllsp client of `buf` to it (a server answers
--- only about documents it has been sent); returns the new buffer.
function M.open(buf, path)
  local target = vim.fn.bufadd(path)
  vim.fn.bufload(target)
  local client = attached_client(buf)
  if client and not (client.attached_buffers or {})[target] then
    vim.lsp.buf_attach_client(target, client.id)
  end
  return target
end

--- With vim.g.devkit_ocaml_autostart: attach `buf` to its root's client, or ask Python to
--- start one (quietly; it says once per session when ocamllsp is missing).
function M.autostart(buf)
  local file = buffer_file(buf)
  if not file or attached_client(buf) then
    return
  end
  for root in pairs(M.stopped) do
    if under(root, file) then
      return
    end
  end
  for root in pairs(M.unavailable) do
    if under(root, file) then
      return
    end
  end
  local root = root_of(buf)
  if root then
    vim.lsp.start(M.configs[root], { bufnr = buf })
    return
  end
  local devkit = require("devkit")
  local ok, err = pcall(vim.api.nvim_buf_call, buf, function()
    return vim.fn.DevkitRun(devkit.request("OCaml", { fargs = { "lsp", "autostart" }, bang = false }))
  end)
  if not ok and not M.host_failed then
    M.host_failed = true -- said once: every OCaml buffer would say it again
    devkit.host_failed(err)
  end
end

--- Autostart found no ocamllsp for `root`: do not ask again for its buffers this session
--- (:OCaml lsp start still looks again).
function M.unavailable_at(root)
  M.unavailable[root] = true
end

return M
