-- devkit: the :Dune and :OCaml commands hand one request to the Python remote plugin.
--
-- Completion is answered here (no Python host needed to press <Tab>). The request carries
-- everything the handler needs about the editor (buffer, file, cursor, cwd, attached ocamllsp),
-- so the handler does not wait on further round trips before starting work. The call is an
-- rpcnotify: Neovim never waits for the handler.
local M = {}

M.subcommands = {
  Dune = { "build", "test", "exec", "clean", "fmt", "watch", "stop", "promote", "log" },
  OCaml = { "type", "def", "switch", "intf", "holes", "nexthole", "prevhole", "construct", "lsp", "doctor" },
}

local arguments = {
  Dune = {
    build = { "@default", "@check", "@install", "@runtest", "@fmt", "@doc", "@all" },
    test = "dir",
    promote = "file",
  },
  OCaml = { lsp = { "start", "stop", "restart", "info" } },
}

--- Send `msg` to vim.notify with the [devkit] prefix.
function M.notify(msg, level)
  vim.notify("[devkit] " .. msg, level or vim.log.levels.INFO)
end

local function matching(items, lead)
  return vim.tbl_filter(function(item)
    return vim.startswith(item, lead)
  end, items)
end

--- Completion of `:Dune`/`:OCaml`: the subcommand, then what that subcommand takes.
function M.complete(name, arglead, cmdline, pos)
  local before = cmdline:sub(1, pos)
  local words = vim.split(before, "%s+", { trimempty = true })
  local typed = #words - (arglead == "" and 0 or 1) -- complete words before the one being typed
  if typed <= 1 then
    return matching(M.subcommands[name] or {}, arglead)
  end
  local takes = (arguments[name] or {})[words[2]]
  if type(takes) == "table" then
    return typed == 2 and matching(takes, arglead) or {}
  elseif takes == "dir" then
    return vim.fn.getcompletion(arglead, "dir")
  elseif takes == "file" then
    return vim.fn.getcompletion(arglead, "file")
  end
  return {}
end

local function ocamllsp_attached(buf)
  return #vim.lsp.get_clients({ bufnr = buf, name = "ocamllsp" }) > 0
end

--- What the handler gets: the command line and the editor state it acts on.
function M.request(name, opts)
  local buf = vim.api.nvim_get_current_buf()
  local cursor = vim.api.nvim_win_get_cursor(0)
  return {
    command = name,
    args = opts.fargs,
    bang = opts.bang,
    buf = buf,
    file = vim.api.nvim_buf_get_name(buf),
    buftype = vim.bo[buf].buftype,
    modified = vim.bo[buf].modified,
    filetype = vim.bo[buf].filetype,
    line = cursor[1],
    col = cursor[2],
    changedtick = vim.api.nvim_buf_get_changedtick(buf),
    cwd = vim.fn.getcwd(),
    lsp = ocamllsp_attached(buf),
  }
end

--- Run `:{name} {opts.fargs}` (a user command's opts) in the Python host; a host that is
--- missing or dead is one clear error.
function M.run(name, opts)
  local ok, err = pcall(vim.fn.DevkitRun, M.request(name, opts))
  if not ok then
    M.host_failed(err)
  end
end

--- `:{name}[!] {args}` with the arguments as a list: no command-line escaping in between.
function M.dispatch(name, args, bang)
  M.run(name, { fargs = args, bang = bang or false })
end

--- Whether `path` is `root` or inside it (following symbolic links of `path`).
function M.under(path, root)
  if not path or not root or path == "" then
    return false
  end
  for _, candidate in ipairs({ path, vim.fn.resolve(path) }) do
    if candidate == root or vim.startswith(candidate, root .. "/") then
      return true
    end
  end
  return false
end

--- A read-only scratch buffer called `name` holding `lines`, shown in a split (the buffer and
--- its window are reused); `q` closes it. The cursor moves there only with `opts.focus`;
--- `opts.bufhidden` "wipe" makes closing its window forget it (default "hide").
--- Returns the buffer and the window.
function M.scratch(name, lines, opts)
  opts = opts or {}
  local buf = -1
  for _, candidate in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_get_name(candidate) == name then
      buf = candidate
    end
  end
  if buf == -1 then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].bufhidden = opts.bufhidden or "hide"
    vim.keymap.set("n", "q", "<cmd>close<cr>", { buffer = buf, nowait = true, desc = "close" })
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].modified = false
  vim.bo[buf].filetype = opts.filetype or ""
  local previous = vim.api.nvim_get_current_win()
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("botright sbuffer " .. buf)
    win = vim.api.nvim_get_current_win()
  end
  vim.api.nvim_set_current_win(opts.focus and win or previous)
  return buf, win
end

--- Stop every dune process the plugin started (Neovim is exiting: a watch must not outlive it).
function M.shutdown()
  if vim.fn["remote#host#IsRunning"]("python3") == 1 then
    pcall(vim.fn.DevkitShutdown)
  end
end

--- The message for a Python host that cannot be reached.
function M.host_failed(err)
  local text = tostring(err)
  if text:find("Unknown function", 1, true) or text:find("E117", 1, true) then
    M.notify("the remote plugin is not registered: run `devkit nvim install` (or :UpdateRemotePlugins)", vim.log.levels.ERROR)
  elseif text:lower():find("channel", 1, true) then
    M.notify("the Python host stopped; restart Neovim (:checkhealth devkit reports on it)", vim.log.levels.ERROR)
  else
    M.notify("the Python host failed to start: " .. (text:match("[^\n]+") or text) .. " (:checkhealth devkit)", vim.log.levels.ERROR)
  end
end

return M
