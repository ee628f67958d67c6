-- planai-lsp helpers: commands over workspace/executeCommand, and setup() for Neovim < 0.11.
local M = {}

M.name = 'planai'

local has_011 = vim.fn.has('nvim-0.11') == 1

local function notify(message, level)
  vim.notify('PlanAI: ' .. message, level or vim.log.levels.INFO, { title = 'PlanAI' })
end

--- The planai client attached to `bufnr` (default: current buffer), or any planai client.
---@param bufnr integer?
---@return vim.lsp.Client?
function M.get_client(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local get = vim.lsp.get_clients or vim.lsp.get_active_clients
  local clients = get({ name = M.name, bufnr = bufnr })
  if #clients == 0 then
    clients = get({ name = M.name })
  end
  return clients[1]
end

--- True when the server advertised `command` in executeCommandProvider.commands.
---@param client vim.lsp.Client
---@param command string
function M.supports_command(client, command)
  local provider = (client.server_capabilities or {}).executeCommandProvider
  return type(provider) == 'table' and vim.tbl_contains(provider.commands or {}, command)
end

--- Sends workspace/executeCommand to the planai client and calls `on_result(result)` on
--- success. Missing clients, commands the server does not advertise and errors are reported
--- with vim.notify instead of raising.
---@param command string
---@param arguments any[]?
---@param on_result fun(result: any)?
---@param bufnr integer?
function M.execute(command, arguments, on_result, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local client = M.get_client(bufnr)
  if not client then
    notify('planai-lsp is not running for this buffer (see :checkhealth vim.lsp)', vim.log.levels.WARN)
    return
  end
  if not M.supports_command(client, command) then
    notify(('this planai-lsp does not support %s yet; update planai-lsp'):format(command), vim.log.levels.WARN)
    return
  end
  local params = { command = command, arguments = arguments or {} }
  local function handler(err, result)
    if err then
      notify(('%s failed: %s'):format(command, err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    if on_result then
      on_result(result)
    end
  end
  if has_011 then
    client:request('workspace/executeCommand', params, handler, bufnr)
  else
    client.request('workspace/executeCommand', params, handler, bufnr)
  end
end

local function nonempty(value)
  return type(value) == 'string' and value ~= '' and value or nil
end

--- "Python 3.11.7 (venv) .venv/bin/python — planai 0.7.1, via .venv"
function M.format_environment(env)
  local parts = { 'Python' }
  if nonempty(env.python_version) then
    parts[1] = 'Python ' .. env.python_version
  end
  if nonempty(env.kind) then
    table.insert(parts, '(' .. env.kind .. ')')
  end
  local path = nonempty(env.path) or table.concat(env.interpreter or {}, ' ')
  table.insert(parts, vim.fn.fnamemodify(path, ':~:.'))
  local extra = { nonempty(env.planai) and ('planai ' .. env.planai) or 'planai not installed' }
  if env.exists == false then
    extra[1] = 'interpreter not found'
  end
  if nonempty(env.source) then
    table.insert(extra, 'via ' .. env.source)
  end
  local line = table.concat(parts, ' ') .. ' — ' .. table.concat(extra, ', ')
  if env.selected then
    line = '* ' .. line
  end
  return line
end

--- The argument for planai.selectEnvironment: the argv list for commands such as
--- `uv run python`, else the path.
function M.selection_argument(env)
  local argv = env.interpreter
  if type(argv) == 'table' and (#argv > 1 or (argv[1] and argv[1] ~= env.path)) then
    return argv
  end
  return env.path or (type(argv) == 'table' and argv[1]) or argv
end

--- Selects an interpreter (a path, or an argv list) on the server.
---@param interpreter string|string[]
function M.select_environment(interpreter, bufnr)
  if type(interpreter) == 'string' then
    interpreter = vim.fn.expand(interpreter)
  end
  M.execute('planai.selectEnvironment', { interpreter }, function(env)
    if type(env) == 'table' and (env.path or env.interpreter) then
      notify('now validating with ' .. M.format_environment(env):gsub('^%* ', ''))
    else
      notify('selected ' .. (type(interpreter) == 'table' and table.concat(interpreter, ' ') or interpreter))
    end
  end, bufnr)
end

--- :PlanaiEnvs — vim.ui.select over planai.listEnvironments, then planai.selectEnvironment.
function M.pick_environment(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  M.execute('planai.listEnvironments', {}, function(result)
    local envs = type(result) == 'table' and (result.environments or result) or {}
    if vim.tbl_isempty(envs) then
      notify('planai-lsp found no Python environment; use :PlanaiEnvs /path/to/python', vim.log.levels.WARN)
      return
    end
    -- Selected first, then environments with PlanAI installed, keeping the server's order.
    local ordered = {}
    for index, env in ipairs(envs) do
      table.insert(ordered, { env = env, index = index })
    end
    local function rank(env)
      return env.selected and 0 or (nonempty(env.planai) and 1 or 2)
    end
    table.sort(ordered, function(a, b)
      if rank(a.env) ~= rank(b.env) then
        return rank(a.env) < rank(b.env)
      end
      return a.index < b.index
    end)
    local items = vim.tbl_map(function(entry)
      return entry.env
    end, ordered)
    vim.ui.select(items, {
      prompt = 'PlanAI environment',
      format_item = M.format_environment,
    }, function(choice)
      if choice then
        M.select_environment(M.selection_argument(choice), bufnr)
      end
    end)
  end, bufnr)
end

--- :PlanaiRestartHelper
function M.restart_helper(bufnr)
  M.execute('planai.restartHelper', {}, function()
    notify('Python helper restarted')
  end, bufnr)
end

--- :PlanaiGraph — the Mermaid text of the current file's graph in a scratch buffer.
function M.show_graph(bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  local uri = vim.uri_from_bufnr(bufnr)
  local source_name = vim.fn.fnamemodify(vim.api.nvim_buf_get_name(bufnr), ':t')
  M.execute('planai.showGraph', { uri }, function(result)
    local mermaid = type(result) == 'table' and result.mermaid or result
    if type(mermaid) ~= 'string' or mermaid == '' then
      notify('no graph found in this file')
      return
    end
    M.open_scratch('planai://graph/' .. source_name, vim.split(mermaid, '\n', { plain = true }), 'mermaid')
  end, bufnr)
end

--- Opens (or reuses) a scratch buffer named `name` in a vertical split with `lines`.
function M.open_scratch(name, lines, filetype)
  local buf = vim.fn.bufnr(name)
  if buf == -1 or not vim.api.nvim_buf_is_valid(buf) then
    buf = vim.api.nvim_create_buf(false, true)
    vim.api.nvim_buf_set_name(buf, name)
  end
  vim.bo[buf].modifiable = true
  vim.api.nvim_buf_set_lines(buf, 0, -1, false, lines)
  vim.bo[buf].buftype = 'nofile'
  vim.bo[buf].bufhidden = 'hide'
  vim.bo[buf].swapfile = false
  vim.bo[buf].modifiable = false
  if filetype then
    vim.bo[buf].filetype = filetype
  end
  local win = vim.fn.bufwinid(buf)
  if win == -1 then
    vim.cmd('vertical sbuffer ' .. buf)
  else
    vim.api.nvim_set_current_win(win)
  end
  return buf
end

--- Workflow runs (`planai.run` / `planai.debug`, see docs/protocol.md). The server reports
--- progress with `$/progress` (shown by Neovim's LspProgress / vim.lsp.status()) and its
--- events in batches, as `planai/runEvents` notifications (`{runId, uri, events}`), which go
--- to the scratch buffer `planai://runs`.
M.runs = { last = nil, ended = {} }
M.runs_buffer = 'planai://runs'

--- One readable line for a run event.
function M.format_run_event(event)
  local kind = event.event
  local function json(value)
    local ok, text = pcall(vim.json.encode, value)
    return ok and text or vim.inspect(value)
  end
  if kind == 'started' then
    return ('started   Python %s, planai %s (pid %s)'):format(event.python or '?', event.planai or '?', event.pid or '?')
  elseif kind == 'graphStarted' then
    return ('graph     %s: %d workers, %d initial task(s)'):format(event.graph or '?', #(event.workers or {}), #(event.initialTasks or {}))
  elseif kind == 'taskStarted' then
    return ('start     %s <- %s'):format(event.worker, event.taskType)
  elseif kind == 'taskCompleted' then
    return ('done      %s <- %s in %.1f ms'):format(event.worker, event.taskType, tonumber(event.durationMs) or 0)
  elseif kind == 'taskFailed' then
    local where = type(event.location) == 'table' and (' at %s:%s'):format(event.location.path, event.location.line) or ''
    return ('FAILED    %s <- %s: %s: %s%s'):format(event.worker, event.taskType, event.exception, event.message, where)
  elseif kind == 'sinkOutput' then
    return ('output    %s %s'):format(event.taskType, json(event.task))
  elseif kind == 'log' then
    return ('log       %s %s: %s'):format(event.level, event.logger or '', event.message)
  elseif kind == 'output' then
    return ('%s    %s'):format(event.stream, event.text)
  elseif kind == 'debugTaskInput' or kind == 'debugTaskOutput' then
    return ('%s %s %s %s'):format(kind == 'debugTaskInput' and 'in       ' or 'out      ', event.worker, event.taskType, json(event.task))
  elseif kind == 'llmCall' then
    return ('llm       %s -> %s'):format(tostring(event.worker), json(event.response))
  elseif kind == 'runnerError' then
    return ('ERROR     (%s) %s: %s'):format(event.kind, event.exception or '', event.message or '')
  elseif kind == 'finished' then
    return ('finished  %s task(s) completed, %s failed'):format(event.completed or 0, event.failed or 0)
  elseif kind == 'ended' then
    return ('ended     %s%s'):format(event.outcome, event.message ~= vim.NIL and event.message and (': ' .. event.message) or '')
  end
  return nil -- taskQueued, stats: only in the progress
end

--- Appends lines to the runs buffer (created on first use, shown in a split).
function M.append_run_lines(lines)
  local buf = vim.fn.bufnr(M.runs_buffer)
  if buf == -1 or not vim.api.nvim_buf_is_valid(buf) or vim.fn.bufwinid(buf) == -1 then
    -- Show it without taking the cursor away from the code.
    local win = vim.api.nvim_get_current_win()
    buf = M.open_scratch(M.runs_buffer, buf ~= -1 and vim.api.nvim_buf_get_lines(buf, 0, -1, false) or {})
    vim.api.nvim_set_current_win(win)
  end
  vim.bo[buf].modifiable = true
  local empty = vim.api.nvim_buf_line_count(buf) == 1 and vim.api.nvim_buf_get_lines(buf, 0, 1, false)[1] == ''
  vim.api.nvim_buf_set_lines(buf, empty and 0 or -1, -1, false, lines)
  vim.bo[buf].modifiable = false
  local win = vim.fn.bufwinid(buf)
  if win ~= -1 then
    vim.api.nvim_win_set_cursor(win, { vim.api.nvim_buf_line_count(buf), 0 })
  end
end

--- Handler of `planai/runEvents`: a batch of a run's events, in order, written to the runs
--- buffer in one go.
function M.on_run_events(_, params)
  if type(params) ~= 'table' or type(params.events) ~= 'table' then
    return
  end
  local lines, outcome = {}, nil
  for _, event in ipairs(params.events) do
    if type(event) == 'table' then
      local line = M.format_run_event(event)
      if line then
        vim.list_extend(lines, vim.split(('[%s] %s'):format(params.runId, line), '\n', { plain = true }))
      end
      if event.event == 'ended' then
        outcome = event.outcome
        M.runs.ended[params.runId] = outcome
      end
    end
  end
  if #lines > 0 then
    vim.schedule(function()
      M.append_run_lines(lines)
    end)
  end
  if outcome then
    vim.schedule(function()
      notify(('run %s %s'):format(params.runId, outcome),
        outcome == 'succeeded' and vim.log.levels.INFO or vim.log.levels.WARN)
    end)
  end
end

--- Starts a run of the current buffer. `opts`: { graph, inputs, mockLlm, debug, timeout }.
function M.run(opts, bufnr)
  opts = opts or {}
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  vim.lsp.handlers['planai/runEvents'] = M.on_run_events
  local argument = {
    uri = vim.uri_from_bufnr(bufnr),
    graph = opts.graph or vim.NIL,
    inputs = opts.inputs or vim.NIL,
    timeout = opts.timeout or vim.NIL,
    mockLlm = opts.mockLlm or false,
  }
  local command = opts.debug and 'planai.debug' or 'planai.run'
  M.execute(command, { argument }, function(result)
    if type(result) == 'table' and result.runId then
      M.runs.last = result.runId
      M.append_run_lines({ ('[%s] %s %s'):format(result.runId, command, vim.api.nvim_buf_get_name(bufnr)) })
    end
  end, bufnr)
end

--- `:PlanaiRun[!] [graph] [json]`: the optional graph builder name ('-' for none) and initial
--- tasks as JSON (an object or an array of objects); `!` turns on mockLlm.
function M.parse_run_args(args)
  local graph, rest = args:match('^%s*(%S+)%s*(.-)%s*$')
  local opts = {}
  if graph and graph ~= '-' and not graph:match('^[%[{]') then
    opts.graph = graph
  else
    rest = args
  end
  rest = rest and vim.trim(rest) or ''
  if rest ~= '' then
    local ok, decoded = pcall(vim.json.decode, rest)
    if not ok then
      return nil, 'inputs are not JSON: ' .. tostring(decoded)
    end
    opts.inputs = (vim.islist or vim.tbl_islist)(decoded) and decoded or { decoded }
  end
  return opts
end

--- `:PlanaiCancel [runId]`: cancels the given run, or the last one started.
function M.cancel_run(run_id, bufnr)
  run_id = (run_id and run_id ~= '') and run_id or M.runs.last
  if not run_id then
    notify('no run to cancel', vim.log.levels.WARN)
    return
  end
  M.execute('planai.cancelRun', { run_id }, function(result)
    notify(('run %s: %s'):format(run_id, result and result.cancelled and 'cancelled' or 'not running'))
  end, bufnr)
end

--- The shipped configuration (lsp/planai.lua on 'runtimepath'), merged with `overrides`.
---@param overrides table?
function M.config(overrides)
  local files = vim.api.nvim_get_runtime_file('lsp/planai.lua', false)
  local base = #files > 0 and dofile(files[1]) or {}
  return vim.tbl_deep_extend('force', base, overrides or {})
end

--- Starts planai-lsp for Python buffers.
---
--- Neovim 0.11+: equivalent to `vim.lsp.config('planai', opts)` + `vim.lsp.enable('planai')`.
--- Neovim 0.8–0.10: starts the server with vim.lsp.start() from a FileType autocmd, using
--- the same configuration (cmd, filetypes, root_markers, settings, init_options).
---@param opts table?
function M.setup(opts)
  opts = opts or {}
  if has_011 and vim.lsp.config and vim.lsp.enable then
    if not vim.tbl_isempty(opts) then
      vim.lsp.config(M.name, opts)
    end
    vim.lsp.enable(M.name)
    return
  end

  M.start_on_filetype(opts)
end

--- The Neovim < 0.11 path of setup(): vim.lsp.start() from a FileType autocmd with the
--- shipped configuration merged with `opts` (works on 0.11 too; setup() prefers
--- vim.lsp.enable there).
---@param opts table?
function M.start_on_filetype(opts)
  local config = M.config(opts)
  local group = vim.api.nvim_create_augroup('planai_lsp', { clear = true })
  local function start(bufnr)
    if vim.bo[bufnr].buftype ~= '' then
      return
    end
    local path = vim.api.nvim_buf_get_name(bufnr)
    local root
    if vim.fs.root then
      root = vim.fs.root(bufnr, config.root_markers)
    else
      local found = vim.fs.find(config.root_markers, { path = vim.fs.dirname(path), upward = true })[1]
      root = found and vim.fs.dirname(found) or nil
    end
    root = root or vim.fs.dirname(path) or (vim.uv or vim.loop).cwd()
    local settings = config.settings or {}
    local init_options = vim.tbl_deep_extend('keep', config.init_options or {}, { settings = settings })
    vim.lsp.start({
      name = M.name,
      cmd = config.cmd,
      root_dir = root,
      settings = settings,
      init_options = init_options,
      capabilities = config.capabilities,
      handlers = config.handlers,
      on_attach = config.on_attach,
    }, { bufnr = bufnr })
  end
  vim.api.nvim_create_autocmd('FileType', {
    group = group,
    pattern = config.filetypes or { 'python' },
    callback = function(args)
      start(args.buf)
    end,
  })
  -- Buffers that were already open when setup() ran.
  for _, bufnr in ipairs(vim.api.nvim_list_bufs()) do
    if vim.api.nvim_buf_is_loaded(bufnr) and vim.tbl_contains(config.filetypes or { 'python' }, vim.bo[bufnr].filetype) then
      start(bufnr)
    end
  end
end

return M
