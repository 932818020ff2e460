-- :checkhealth devkit — Neovim, the Python provider and the remote plugin are checked here; the
-- Python host reports on itself and on the OCaml toolchain of the project you are in
-- (DevkitHealth, nvim/rplugin/python3/devkit_nvim/health.py). Every warning and error comes
-- with advice.
local M = {}

--- Neovim's health API: vim.health's start/ok/… since 0.10; before that vim.health.report_*
--- (0.9), require("health").report_* (0.8 and older) or the Vimscript health#report_*. The old
--- ones are only used to say that devkit needs 0.10.
local function health_api()
  local modern = vim.health
  if modern and modern.start then
    return modern
  end
  local legacy = modern
  if not (legacy and legacy.report_start) then
    local ok, module = pcall(require, "health")
    legacy = ok and type(module) == "table" and module.report_start and module or nil
  end
  local api = {}
  for _, name in ipairs({ "start", "ok", "info", "warn", "error" }) do
    api[name] = legacy and legacy["report_" .. name] or function(...)
      vim.fn["health#report_" .. name](...)
    end
  end
  return api
end

local health = health_api()
local INSTALL = "run `devkit nvim install` in a shell, then restart Neovim"
local REPORT_VERSION = 1

--- A msgpack nil (vim.NIL) or a missing value is nil.
local function value(v)
  if v == vim.NIL then
    return nil
  end
  return v
end

--- The first line of an error message, without Vim's "Vim:" prefix noise.
local function first_line(err)
  local text = tostring(err)
  return (text:match("[^\n]+") or text)
end

--- The plugin's runtime folder (…/nvim), from where this file is.
local function runtime_dir()
  local source = debug.getinfo(1, "S").source:gsub("^@", "")
  return vim.fn.fnamemodify(source, ":p:h:h:h")
end

--- The buffer the user was in before :checkhealth opened its own (a tab, or this window).
local function user_buffer()
  local tab = vim.fn.tabpagenr("#")
  if tab > 0 then
    local buffers = vim.fn.tabpagebuflist(tab)
    local buf = type(buffers) == "table" and buffers[vim.fn.tabpagewinnr(tab)] or nil
    if buf and vim.bo[buf].buftype == "" then
      return buf
    end
  end
  local alternate = vim.fn.bufnr("#")
  if alternate > 0 and vim.bo[alternate].buftype == "" then
    return alternate
  end
  return nil
end

--- This Neovim's version, "X.Y.Z" (vim.version() is a plain table before 0.9).
local function neovim_version()
  local v = vim.version and vim.version() or {}
  return v.major and string.format("%d.%d.%d", v.major, v.minor, v.patch) or "unknown"
end

local function check_neovim()
  health.start("devkit: Neovim")
  if vim.fn.has("nvim-0.10") == 0 then
    health.error("devkit needs Neovim 0.10 or newer (this is " .. neovim_version() .. ")", {
      "install a newer Neovim: https://github.com/neovim/neovim/releases",
    })
    return false
  end
  health.ok("Neovim " .. tostring(vim.version()))
  if vim.fn.exists(":Dune") == 2 and vim.fn.exists(":OCaml") == 2 then
    health.ok(":Dune and :OCaml are defined (" .. runtime_dir() .. ")")
  else
    health.error(":Dune and :OCaml are not defined: plugin/devkit.lua did not run", {
      "put " .. runtime_dir() .. " on 'runtimepath' before plugins load (:help devkit-install)",
      "a `--noplugin` or `-u NONE` start skips plugin files",
    })
  end
  health.info("devkit's log (tracebacks of internal errors): " .. vim.fn.stdpath("log") .. "/devkit.log")
  return true
end

--- Python provider and registration; true when the host can be asked for its report.
local function check_provider()
  health.start("devkit: Python provider and remote plugin")
  local ready = true
  local prog = value(vim.g.python3_host_prog)
  if vim.g.loaded_python3_provider == 0 then
    health.error("the Python 3 provider is disabled (g:loaded_python3_provider = 0)", {
      "remove `vim.g.loaded_python3_provider = 0` from your configuration: devkit runs in it",
    })
    return false
  end
  if prog and prog ~= "" then
    if vim.fn.executable(vim.fn.expand(prog)) == 1 then
      health.ok("g:python3_host_prog = " .. prog)
    else
      health.error("g:python3_host_prog = " .. prog .. " is not an executable", {
        "set it to the Python devkit is installed in (`devkit nvim install` prints the line)",
      })
      ready = false
    end
  else
    health.warn("g:python3_host_prog is not set: Neovim uses the first python3 on PATH", {
      "set it to the Python devkit is installed in; `devkit nvim install` prints the line to add",
    })
  end
  if ready then
    if vim.fn.has("python3") == 1 then
      health.ok("has('python3'): the Python host starts and imports pynvim")
    else
      health.error("has('python3') is 0: the Python host cannot start or cannot import pynvim", {
        "install devkit (which brings pynvim) into that Python, or point g:python3_host_prog at devkit's",
        ":checkhealth vim.provider says why",
      })
      ready = false
    end
  end
  -- The manifest defines the remote functions on first call (FuncUndefined), so ask the host
  -- registry what it read from the manifest rather than exists('*DevkitRun').
  local expected = runtime_dir() .. "/rplugin/python3/devkit_nvim"
  local registered = nil
  for _, plugin in ipairs(vim.fn["remote#host#PluginsForHost"]("python3")) do
    if vim.fs.basename(plugin.path) == "devkit_nvim" then
      registered = plugin.path
    end
  end
  local manifest = value(vim.g.loaded_remote_plugins) or "the manifest"
  if registered == nil then
    health.error("the remote plugin is not registered in " .. manifest, {
      INSTALL,
      "or run :UpdateRemotePlugins with devkit on 'runtimepath' and restart",
    })
    ready = false
  elseif vim.fn.resolve(registered) ~= vim.fn.resolve(expected) then
    health.warn("the remote plugin registered in " .. manifest .. " is " .. registered
      .. ", not this plugin's " .. expected, { INSTALL .. " (it registers this copy)" })
  else
    health.ok("the remote plugin is registered (" .. manifest .. ")")
  end
  return ready
end

local function report_check(check)
  local name, detail = value(check.name) or "?", value(check.detail) or ""
  local message = name .. ": " .. detail
  local advice = value(check.advice)
  if check.ok == true then
    health.ok(message)
  elseif value(check.required) then
    health.error(message, { advice or INSTALL })
  else
    health.warn(message, { advice or INSTALL })
  end
end

local function check_host()
  local buf = user_buffer()
  local request = {
    cwd = vim.fn.getcwd(),
    file = buf and vim.api.nvim_buf_get_name(buf) or "",
  }
  local ok, report = pcall(vim.fn.DevkitHealth, request)
  if not ok then
    health.start("devkit: Python host")
    health.error("the Python host did not answer: " .. first_line(report), {
      INSTALL,
      "start Neovim with NVIM_PYTHON_LOG_FILE=/tmp/pynvim.log set and read that log",
      "internal errors are logged in " .. vim.fn.stdpath("log") .. "/devkit.log",
    })
    return
  end
  if type(report) ~= "table" or type(report.sections) ~= "table" then
    health.start("devkit: Python host")
    health.error("the Python host answered with no report", { INSTALL })
    return
  end
  if report.version ~= REPORT_VERSION then
    health.start("devkit: Python host")
    health.warn(("the Python host's report is version %s, this health check reads %d"):format(
      tostring(value(report.version)), REPORT_VERSION), {
      "the host's devkit and these plugin files differ: " .. INSTALL,
    })
  end
  for _, section in ipairs(report.sections) do
    health.start("devkit: " .. (value(section.title) or "Python host"))
    for _, check in ipairs(value(section.checks) or {}) do
      report_check(check)
    end
  end
end

function M.check()
  if not check_neovim() then
    return
  end
  if check_provider() then
    check_host()
  end
end

return M
