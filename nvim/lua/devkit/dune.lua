-- devkit.dune: what a finished :Dune command shows. The Python side parses dune's output and
-- calls `publish` once with everything, then `done` to report.
local M = {}

M.namespace = vim.api.nvim_create_namespace("devkit.dune")
local by_root = {} -- project root -> { [absolute path] = vim.diagnostic items } of its last build
local devkit = require("devkit")
local under = devkit.under

local function diagnostics_for(diagnostics, name)
  return diagnostics[name] or diagnostics[vim.uv.fs_realpath(name) or ""]
end

--- Reload the files dune promoted and forget what was reported about them; then, when the
--- command shows diagnostics (`p.items`), set the quickfix list and the diagnostics of every
--- loaded buffer of the project (clearing the ones it no longer reports). `encoded` is JSON:
--- decoding it is much faster than receiving the same tables over msgpack.
function M.publish(encoded)
  local p = vim.json.decode(encoded, { luanil = { object = true, array = true } })
  M.reload(p.promoted)
  M.forget(p.root, p.promoted)
  if p.items then
    M.show_diagnostics(p)
  end
end

--- Drop the quickfix entries and diagnostics of `paths` (corrections dune promoted).
function M.forget(root, paths)
  if #paths == 0 then
    return
  end
  local gone = {}
  for _, path in ipairs(paths) do
    gone[path] = true
    local buf = vim.fn.bufnr(path)
    if buf ~= -1 then
      vim.diagnostic.reset(M.namespace, buf)
    end
    if by_root[root] then
      by_root[root][path] = nil
    end
  end
  local list = vim.fn.getqflist({ title = 0, items = 0 })
  if vim.startswith(list.title, "dune ") then
    local kept = vim.tbl_filter(function(item)
      return not gone[vim.api.nvim_buf_get_name(item.bufnr)]
    end, list.items)
    vim.fn.setqflist({}, "r", { items = kept })
  end
end

function M.show_diagnostics(p)
  -- setqflist() resolves an item's filename every time; a buffer number once per file is
  -- three times faster for a thousand items.
  local buffers = {}
  for _, item in ipairs(p.items) do
    local buf = buffers[item.filename]
    if not buf then
      buf = vim.fn.bufadd(item.filename)
      buffers[item.filename] = buf
    end
    item.bufnr, item.filename = buf, nil
  end
  local current = vim.fn.getqflist({ title = 0 }).title
  local action = vim.startswith(current, "dune ") and "r" or " " -- reuse our own list
  vim.fn.setqflist({}, action, { title = p.title, items = p.items })
  by_root[p.root] = p.diagnostics
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) then
      local name = vim.api.nvim_buf_get_name(buf)
      if name ~= "" and under(name, p.root) then
        local items = diagnostics_for(p.diagnostics, name)
        if items then
          vim.diagnostic.set(M.namespace, buf, items)
        else
          vim.diagnostic.reset(M.namespace, buf)
        end
      end
    end
  end
  if p.open_quickfix then
    local win = vim.api.nvim_get_current_win()
    vim.cmd("botright copen")
    vim.api.nvim_set_current_win(win)
  end
end

--- g:dune_last, the summary line, then `User DuneDone`.
function M.done(last, message, level)
  vim.g.dune_last = last
  devkit.notify(message, level)
  vim.api.nvim_exec_autocmds("User", { pattern = "DuneDone", modeline = false, data = last })
end

--- A buffer read after a build gets that build's diagnostics.
function M.show_stored(buf)
  local name = vim.api.nvim_buf_get_name(buf)
  for root, diagnostics in pairs(by_root) do
    if under(name, root) then
      local items = diagnostics_for(diagnostics, name)
      if items then
        vim.diagnostic.set(M.namespace, buf, items)
      end
    end
  end
end

--- Re-read the loaded buffers of `paths` (files dune changed); a buffer with unsaved changes
--- is left alone, and said so.
function M.reload(paths)
  local wanted = {}
  for _, path in ipairs(paths or {}) do
    wanted[path] = true
  end
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local name = vim.api.nvim_buf_get_name(buf)
    if vim.api.nvim_buf_is_loaded(buf) and (wanted[name] or wanted[vim.uv.fs_realpath(name) or ""]) then
      if vim.bo[buf].modified then
        devkit.notify(vim.fn.fnamemodify(name, ":~:.") .. " changed on disk but has unsaved changes: not reloaded", vim.log.levels.WARN)
      else
        vim.api.nvim_buf_call(buf, function()
          vim.cmd("silent edit")
        end)
      end
    end
  end
end

--- The last command's output in the `devkit://dune-output` buffer, shown in a window; the
--- cursor goes there with `focus` (`:Dune log`), not after `:Dune exec`.
function M.show_output(output, focus)
  devkit.scratch("devkit://dune-output", vim.split(output, "\n", { plain = true }), { focus = focus })
end

--- Show the diff of a promotion and ask before promoting (`vim.ui.select`, so a picker
--- plugin or a test can answer).
function M.confirm_promotion(diff, files)
  local lines = vim.split(diff, "\n", { plain = true, trimempty = true })
  local _, win = devkit.scratch("devkit://dune-promote", lines, { filetype = "diff" })
  local what = #files == 1 and vim.fn.fnamemodify(files[1], ":~:.") or (#files .. " files")
  vim.ui.select({ "Promote", "Cancel" }, { prompt = "Promote the correction of " .. what .. "?" }, function(choice)
    if vim.api.nvim_win_is_valid(win) and #vim.api.nvim_list_wins() > 1 then
      vim.api.nvim_win_close(win, true)
    end
    if choice == "Promote" then
      devkit.dispatch("Dune", vim.list_extend({ "promote" }, files), true)
    else
      devkit.notify("promotion cancelled")
    end
  end)
end

--- Names of the loaded buffers of a project with unsaved changes.
function M.unsaved(root)
  local names = {}
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    local name = vim.api.nvim_buf_get_name(buf)
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].modified and under(name, root) then
      table.insert(names, vim.fn.fnamemodify(name, ":t"))
    end
  end
  return names
end

return M
