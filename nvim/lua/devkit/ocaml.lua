-- devkit.ocaml: what :OCaml shows and edits. Python decides; these functions display a type,
-- jump, open or fill a buffer, fill the location list, apply a construction, show a report.
--
-- Positions: `line` 1-based, `col` a 0-based byte column (as nvim_win_get_cursor), spans
-- end-exclusive.
--
-- After :OCaml type, b:devkit_type holds what was shown:
--   { type = "int -> int", source = "cmt"|"ocamllsp", index = 0, count = 3,
--     start = { line, col }, ["end"] = { line, col }, float = true|false }
-- `index` counts from the innermost expression (0) to the outermost (count - 1).
local M = {}

M.namespace = vim.api.nvim_create_namespace("devkit_type")
vim.api.nvim_set_hl(0, "DevkitTypeSpan", { link = "Visual", default = true })

local function notify(msg, level)
  require("devkit").notify(msg, level)
end

local function same_file(a, b)
  return vim.fs.normalize(vim.fn.fnamemodify(a, ":p")) == vim.fs.normalize(vim.fn.fnamemodify(b, ":p"))
end

--- The loaded buffer of `path`, or nil.
local function loaded_buffer(path)
  for _, buf in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(buf) and vim.bo[buf].buftype == "" then
      local name = vim.api.nvim_buf_get_name(buf)
      if name ~= "" and same_file(name, path) then
        return buf
      end
    end
  end
end

--- Lines [first, last) of the loaded buffer of `path` (last = -1: to the end); nil when the
--- file is not loaded in a buffer.
function M.buffer_lines(path, first, last)
  local buf = loaded_buffer(path)
  if not buf then
    return nil
  end
  return vim.api.nvim_buf_get_lines(buf, first, last, false)
end

--- Whether `path` is loaded in a buffer with unsaved changes.
function M.is_modified(path)
  local buf = loaded_buffer(path)
  return buf ~= nil and vim.bo[buf].modified
end

function M.clear_type(buf)
  if vim.api.nvim_buf_is_valid(buf) then
    vim.api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
  end
end

--- Show a type: highlight its span (until the cursor moves), echo it when it fits on one
--- line, else show it in a float; remember it in b:devkit_type.
function M.show_type(buf, shown)
  if not vim.api.nvim_buf_is_valid(buf) then
    return
  end
  M.clear_type(buf)
  local start, finish = shown.start, shown["end"]
  pcall(vim.api.nvim_buf_set_extmark, buf, M.namespace, start[1] - 1, start[2], {
    end_row = finish[1] - 1,
    end_col = finish[2],
    hl_group = "DevkitTypeSpan",
    strict = false,
  })
  local cursor = shown.cursor
  vim.api.nvim_create_autocmd({ "CursorMoved", "BufLeave", "InsertEnter" }, {
    buffer = buf,
    callback = function(args)
      if args.event == "CursorMoved" and vim.api.nvim_get_current_buf() == buf then
        local now = vim.api.nvim_win_get_cursor(0)
        if now[1] == cursor[1] and now[2] == cursor[2] then
          return false -- not moved since the request: keep waiting
        end
      end
      M.clear_type(buf)
      return true -- delete this autocommand
    end,
  })
  local text = shown.type
  local lines = vim.split(text, "\n", { plain = true })
  local fits = #lines == 1 and vim.fn.strdisplaywidth(text) < math.max(vim.v.echospace, 20)
  shown.float = not fits
  shown.cursor = nil
  vim.b[buf].devkit_type = shown
  if fits then
    vim.api.nvim_echo({ { text, "Type" } }, true, {})
  elseif vim.api.nvim_get_current_buf() == buf then
    vim.lsp.util.open_floating_preview(lines, "ocaml", { focus_id = "devkit_type", border = "rounded" })
  end
end

--- Jump to `line`, `col` of `path` (opening it if needed), keeping the jumplist.
function M.jump(path, line, col)
  vim.cmd("normal! m'")
  if not same_file(vim.api.nvim_buf_get_name(0), path) then
    local ok, err = pcall(vim.cmd.edit, vim.fn.fnameescape(path))
    if not ok then
      notify(("cannot open %s: %s"):format(path, tostring(err):gsub("^Vim[^:]*:", "")), vim.log.levels.ERROR)
      return
    end
  end
  local count = vim.api.nvim_buf_line_count(0)
  line = math.max(1, math.min(line, count))
  pcall(vim.api.nvim_win_set_cursor, 0, { line, col })
end

--- :edit `path` (a new buffer when the file does not exist yet); returns its buffer.
function M.edit(path)
  if not same_file(vim.api.nvim_buf_get_name(0), path) then
    local ok, err = pcall(vim.cmd.edit, vim.fn.fnameescape(path))
    if not ok then
      notify(("cannot open %s: %s"):format(path, tostring(err):gsub("^Vim[^:]*:", "")), vim.log.levels.ERROR)
      return nil
    end
  end
  return vim.api.nvim_get_current_buf()
end

--- Replace the whole text of `path`'s buffer (opened in the current window) with `lines`;
--- the buffer is left modified: the user saves it.
function M.fill(path, lines)
  local buf = M.edit(path)
  if not buf then
    return
  end
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.api.nvim_win_set_cursor(0, { 1, 0 })
  notify(("%s: inferred interface, %d line(s); :write to keep it"):format(vim.fn.fnamemodify(path, ":t"), #lines))
end

--- Typed holes into the current window's location list (opened, the cursor stays here).
function M.show_holes(items, title)
  local win = vim.api.nvim_get_current_win()
  vim.fn.setloclist(win, {}, " ", { title = title, items = items })
  if #items == 0 then
    notify((title:gsub("^Typed holes of ", "no typed holes in ")))
    vim.cmd("lclose")
    return
  end
  vim.cmd("lwindow")
  if vim.api.nvim_win_is_valid(win) then
    vim.api.nvim_set_current_win(win)
  end
  notify(("%d typed hole(s): :lnext/:lprev, or :OCaml nexthole"):format(#items))
end

--- Replace the hole at start..finish of `buf` with one of `candidates` (vim.ui.select when
--- there are several); refused when the buffer changed since the request.
function M.construct(buf, changedtick, start, finish, candidates)
  local function apply(choice)
    if not choice then
      return
    end
    if not vim.api.nvim_buf_is_valid(buf) or vim.api.nvim_buf_get_changedtick(buf) ~= changedtick then
      notify("the buffer changed while ocamllsp was constructing: :OCaml construct again", vim.log.levels.WARN)
      return
    end
    vim.api.nvim_buf_set_text(buf, start[1] - 1, start[2], finish[1] - 1, finish[2], vim.split(choice, "\n", { plain = true }))
    if vim.api.nvim_get_current_buf() == buf then
      pcall(vim.api.nvim_win_set_cursor, 0, { start[1], start[2] })
    end
  end
  if #candidates == 1 then
    apply(candidates[1])
  else
    vim.ui.select(candidates, { prompt = "Construct:", kind = "devkit.construct" }, apply)
  end
end

local marks = { ["MISSING"] = "DiagnosticError", ["warning"] = "DiagnosticWarn", ["ok"] = "DiagnosticOk" }

--- A report (`:OCaml doctor`) in a read-only scratch buffer called `name`, its marks
--- highlighted.
function M.show_report(name, lines)
  local buf = require("devkit").scratch(name, lines, { focus = true, bufhidden = "wipe" })
  vim.api.nvim_buf_clear_namespace(buf, M.namespace, 0, -1)
  for index, line in ipairs(lines) do
    local _, last, word = line:find("^%s*(%S+)")
    if word and marks[word] and index > 2 then
      vim.api.nvim_buf_set_extmark(buf, M.namespace, index - 1, last - #word, { end_col = last, hl_group = marks[word] })
    end
  end
  return buf
end

return M
