-- devkit: :Dune and :OCaml. Only the commands and two autocommands are defined at start-up;
-- the Lua modules load on first use and the Python host starts on the first command.
if vim.g.loaded_devkit then
  return
end
vim.g.loaded_devkit = true

if vim.fn.has("nvim-0.10") == 0 then
  local v = vim.version and vim.version() or {}
  local this = v.major and string.format("%d.%d.%d", v.major, v.minor, v.patch) or "older"
  vim.api.nvim_echo({ { "[devkit] needs Neovim 0.10 or newer; this is " .. this .. ": :Dune and :OCaml are not defined", "ErrorMsg" } }, true, {})
  return
end

local function command(name, desc)
  vim.api.nvim_create_user_command(name, function(opts)
    require("devkit").run(name, opts)
  end, {
    nargs = "*",
    bang = true,
    desc = desc,
    complete = function(arglead, cmdline, pos)
      return require("devkit").complete(name, arglead, cmdline, pos)
    end,
  })
end

command("Dune", "devkit: run dune (build, test, exec, clean, fmt, watch, stop, promote, log)")
command("OCaml", "devkit: OCaml (type, def, switch, intf, holes, construct, lsp, doctor)")

-- <Plug> mappings for users to map to keys (devkit maps none itself): :help devkit-mappings
for name, cmd in pairs({
  ["dune-build"] = "Dune build",
  ["dune-test"] = "Dune test",
  ["dune-watch"] = "Dune watch",
  ["dune-stop"] = "Dune stop",
  ["dune-promote"] = "Dune promote",
  ["dune-fmt"] = "Dune fmt",
  ["dune-log"] = "Dune log",
  ["ocaml-type"] = "OCaml type",
  ["ocaml-def"] = "OCaml def",
  ["ocaml-switch"] = "OCaml switch",
  ["ocaml-nexthole"] = "OCaml nexthole",
  ["ocaml-prevhole"] = "OCaml prevhole",
  ["ocaml-construct"] = "OCaml construct",
}) do
  vim.api.nvim_set_keymap("n", "<Plug>(devkit-" .. name .. ")", "<Cmd>" .. cmd .. "<CR>",
    { noremap = true, desc = "devkit: :" .. cmd })
end

local group = vim.api.nvim_create_augroup("devkit", { clear = true })
vim.api.nvim_create_autocmd("FileType", {
  group = group,
  pattern = { "ocaml", "ocamlinterface", "ocamllex", "menhir", "dune" },
  callback = function(args)
    if vim.g.devkit_ocaml_autostart and vim.g.devkit_ocaml_autostart ~= 0 then
      require("devkit.lsp").autostart(args.buf)
    end
  end,
})
vim.api.nvim_create_autocmd("VimLeavePre", {
  group = group,
  callback = function()
    if package.loaded["devkit"] then -- a command ran: stop the dune processes it started
      require("devkit").shutdown()
    end
  end,
})
vim.api.nvim_create_autocmd("BufReadPost", {
  group = group,
  callback = function(args)
    if package.loaded["devkit.dune"] then
      require("devkit.dune").show_stored(args.buf)
    end
  end,
})
