-- devkit.dune: what a finished :Dune command shows. The Python side parses dune's output and
-- calls `publish` once with everything, then `done` to report.
local M = {}

M.namespace = vim.api.nvim_create_namespace("devkit.dune")
local by_root = {} -- project root -> { [absolute path] = vim.diagnostic items } of its last build

local function under(path, root)
  return path:sub(1, #root + 1) == root .. "/"
end

local function diagnostics_for(diagnostics, name)
  return diagnostics[name] or diagnostics[vim.uv.fs_realpath(name) or ""]
end

--- Set the quickfix list and the diagnostics of every loaded buffer of the project (clearing
--- the ones the build no longer reports), reload promoted files. `encoded` is JSON: decoding it
--- is much faster than receiving the same tables over msgpack.
function M.publish(encoded)
  local p = vim.json.decode(encoded, { luanil = { object = true, array = true } })
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
  M.reload(p.reload)
  if p.open_quickfix then
    local win = vim.api.nvim_get_current_win()
    vim.cmd("botright copen")
    vim.api.nvim_set_current_win(win)
  end
end

--- g:dune_last, the summary line, then `User DuneDone`.
function M.done(last, message, level)
  vim.g.dune_last = last
  require("devkit").notify(message, level)
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
        require("devkit").notify(vim.fn.fnamemodify(name, ":~:.") .. " changed on disk but has unsaved changes: not reloaded", vim.log.levels.WARN)
      else
        vim.api.nvim_buf_call(buf, function()
          vim.cmd("silent edit")
        end)
      end
    end
  end
end

local function scratch(name, lines, filetype)
  local buf = vim.fn.bufnr(name)
  if buf == -1 then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, name)
    vim.bo[buf].bufhidden = "hide"
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].modifiable = false
  vim.bo[buf].filetype = filetype
  return buf
end

local function show(buf)
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd("botright split")
    vim.api.nvim_win_set_buf(0, buf)
    win = vim.api.nvim_get_current_win()
  end
  return win
end

--- The last command's output in the `devkit://dune-output` buffer; shown in a window when
--- `focus` (`:Dune log`), or when not shown yet (after `:Dune exec`).
function M.show_output(output, focus)
  local buf = scratch("devkit://dune-output", vim.split(output, "\n", { plain = true }), "")
  local previous = vim.api.nvim_get_current_win()
  show(buf)
  if not focus then
    vim.api.nvim_set_current_win(previous)
  end
end

--- Show the diff of a promotion and ask before promoting (`vim.ui.select`, so a picker
--- plugin or a test can answer).
function M.confirm_promotion(diff, files)
  local buf = scratch("devkit://dune-promote", vim.split(diff, "\n", { plain = true, trimempty = true }), "diff")
  local previous = vim.api.nvim_get_current_win()
  local win = show(buf)
  vim.api.nvim_set_current_win(previous)
  local what = #files == 1 and vim.fn.fnamemodify(files[1], ":~:.") or (#files .. " files")
  vim.ui.select({ "Promote", "Cancel" }, { prompt = "Promote the correction of " .. what .. "?" }, function(choice)
    if vim.api.nvim_win_is_valid(win) and #vim.api.nvim_list_wins() > 1 then
      vim.api.nvim_win_close(win, true)
    end
    if choice == "Promote" then
      vim.cmd("Dune! promote " .. table.concat(vim.tbl_map(vim.fn.fnameescape, files), " "))
    else
      require("devkit").notify("promotion cancelled")
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
