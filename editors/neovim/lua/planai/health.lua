-- :checkhealth planai
local M = {}

function M.check()
  local health = vim.health
  health.start('planai-lsp')

  if vim.fn.has('nvim-0.11') == 1 then
    health.ok('Neovim ' .. tostring(vim.version()) .. ': vim.lsp.enable("planai") uses lsp/planai.lua')
  elseif vim.fn.has('nvim-0.8') == 1 then
    health.warn('Neovim ' .. tostring(vim.version()) .. ': use require("planai").setup() (vim.lsp.enable needs 0.11)')
  else
    health.error('Neovim 0.8 or later is required')
  end

  local files = vim.api.nvim_get_runtime_file('lsp/planai.lua', false)
  if #files == 0 then
    health.error('lsp/planai.lua is not on the runtimepath')
  end
  local config = (vim.lsp.config and vim.lsp.config.planai) or require('planai').config()
  local cmd = type(config.cmd) == 'table' and config.cmd or { 'planai-lsp' }
  local exe = vim.fn.exepath(cmd[1])
  if exe == '' then
    health.error(('server command %q not found'):format(cmd[1]), {
      'Put planai-lsp on PATH, or set cmd: vim.lsp.config("planai", { cmd = { "/path/to/planai-lsp" } })',
    })
  else
    local version = vim.fn.system({ exe, '--version' })
    if vim.v.shell_error == 0 then
      health.ok(('%s (%s)'):format(vim.trim(version), exe))
    else
      health.warn(('%s --version failed: %s'):format(exe, vim.trim(version)))
    end
  end

  local python = vim.tbl_get(config, 'settings', 'planai', 'python')
  if python ~= nil then
    health.info('settings.planai.python = ' .. vim.inspect(python))
  else
    health.info('settings.planai.python is unset: the server discovers the interpreter')
  end
  if vim.tbl_get(config, 'init_options', 'untrustedWorkspace') then
    health.info('untrustedWorkspace = true: no Python interpreter is started')
  end

  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  local clients = get({ name = 'planai' })
  if #clients == 0 then
    health.info('no planai client running (open a Python file)')
  end
  for _, client in ipairs(clients) do
    local commands = vim.tbl_get(client.server_capabilities or {}, 'executeCommandProvider', 'commands') or {}
    health.ok(('client %d: root %s, encoding %s, commands: %s'):format(client.id, client.config.root_dir or '?', client.offset_encoding, table.concat(commands, ', ')))
  end
end

return M
