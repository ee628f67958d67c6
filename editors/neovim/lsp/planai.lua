-- planai-lsp for Neovim 0.11+ (`:h lsp-config`).
--
-- Found on 'runtimepath' as lsp/planai.lua, so with this directory (or the plugin that ships
-- it) on the runtimepath all that is needed is:
--
--   vim.lsp.enable('planai')
--
-- and, to change anything, before or after that:
--
--   vim.lsp.config('planai', { settings = { planai = { python = '.venv/bin/python' } } })
--
-- Settings reach the server twice, as planai-lsp expects: in initializationOptions (see
-- before_init below) so the first check already uses them, and as the answer to
-- `workspace/configuration` (section "planai"), which Neovim serves from `settings`.

---@type vim.lsp.Config
return {
  cmd = { 'planai-lsp' },
  filetypes = { 'python' },
  root_markers = { 'pyproject.toml', 'planai.toml', 'setup.py', '.git' },
  settings = {
    planai = {
      -- Interpreter used to validate PlanAI code in your environment: a path (or venv
      -- directory), or an argv list such as { 'uv', 'run', 'python' }. Unset: the server
      -- discovers one (VIRTUAL_ENV, CONDA_PREFIX, <root>/.venv, python3 on PATH).
      -- python = '.venv/bin/python',
      validation = {
        -- 'onSave' | 'onType' | 'off': when the Python environment is used.
        run = 'onSave',
        -- Delay after the last change before 'onType' validation runs.
        debounceMs = 300,
      },
      -- 'error' | 'warn' | 'info' | 'debug' | 'trace' (window/logMessage goes to :LspLog's
      -- file; Neovim itself only keeps WARN and above unless vim.lsp.set_log_level('info')).
      logLevel = 'info',
    },
  },
  -- Set `init_options = { untrustedWorkspace = true }` to keep planai-lsp from ever starting
  -- a Python interpreter (importing project code runs it): syntax and static checks only.
  init_options = {},
  ---@param params lsp.InitializeParams
  ---@param config vim.lsp.ClientConfig
  before_init = function(params, config)
    local options = params.initializationOptions
    if type(options) ~= 'table' then
      options = {}
    end
    params.initializationOptions = vim.tbl_deep_extend('keep', options, { settings = config.settings or {} })
  end,
}
