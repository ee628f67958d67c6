-- :checkhealth planai
local M = {}

local function config_of(client)
  return client.config or {}
end

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
    M.check_environment(client)
  end
end

--- Reports the environment the server validates with, and what to do when it cannot.
function M.check_environment(client)
  local health = vim.health
  if vim.tbl_get(config_of(client), 'init_options', 'untrustedWorkspace') then
    return
  end
  local response, err = client:request_sync('workspace/executeCommand', { command = 'planai.listEnvironments', arguments = {} }, 10000)
  if not response or response.err then
    health.warn(('client %d: planai.listEnvironments failed: %s'):format(client.id, vim.inspect(err or (response and response.err))))
    return
  end
  local listed = response.result
  if type(listed) == 'table' and type(listed.environments) == 'table' then
    listed = listed.environments
  end
  local selected
  for _, env in ipairs(type(listed) == 'table' and listed or {}) do
    if env.selected then
      selected = env
    end
  end
  local choose = 'Choose one with :PlanaiEnvs, or set settings.planai.python'
  if not selected then
    health.warn('no Python environment selected: only syntax and static PlanAI checks run', { choose })
  elseif selected.exists == false then
    health.error(('the selected interpreter %s does not exist'):format(selected.path), { choose })
  elseif selected.planai == nil or selected.planai == vim.NIL or selected.planai == false then
    health.warn(('planai is not installed in the selected environment %s: venv validation reports only that'):format(selected.path), {
      ('Install it: %s -m pip install planai'):format(selected.path),
      choose,
    })
  else
    health.ok(('validating with %s (planai %s)'):format(selected.path, tostring(selected.planai)))
  end
end

return M
