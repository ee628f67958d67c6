-- Headless Neovim 0.11 end-to-end test of the shipped Neovim integration (editors/neovim)
-- against the real planai-lsp binary.
--
--   PLANAI_LSP_BIN=target/debug/planai-lsp nvim --headless --clean -l tests/editors/nvim_e2e.lua
--
-- Prints one JSON summary line (prefixed "E2E_SUMMARY ") and exits 0 only if every check
-- passed. PLANAI_E2E_STRICT_ANALYSIS=0 skips (instead of failing) the PlanAI-diagnostic check
-- when the server publishes no `planai` diagnostics at all (for server builds without the
-- static analysis). PLANAI_TEST_PYTHON (a venv python with planai) enables the venv check.

local script = debug.getinfo(1, 'S').source:sub(2)
local repo = vim.fs.normalize(vim.fn.fnamemodify(script, ':p:h:h:h'))
local bin = os.getenv('PLANAI_LSP_BIN') or (repo .. '/target/debug/planai-lsp')
if not bin:match('^/') then
  bin = repo .. '/' .. bin
end
local strict_analysis = os.getenv('PLANAI_E2E_STRICT_ANALYSIS') ~= '0'
local timeout_ms = tonumber(os.getenv('PLANAI_E2E_TIMEOUT_MS') or '') or 10000

-- A one-worker workflow (Word -> Shout -> Upper, sunk) used by the run and language-feature steps.
local SHOUT_FLOW = {
  'from typing import List, Type',
  'from planai import Graph, Task, TaskWorker',
  '',
  '',
  'class Word(Task):',
  '    text: str',
  '',
  '',
  'class Upper(Task):',
  '    text: str',
  '',
  '',
  'class Shout(TaskWorker):',
  '    output_types: List[Type[Task]] = [Upper]',
  '',
  '    def consume_work(self, task: Word):',
  '        self.publish_work(Upper(text=task.text.upper()), input_task=task)',
  '',
  '',
  'def build_graph() -> Graph:',
  '    graph = Graph(name="Shouting")',
  '    shout = Shout()',
  '    graph.add_workers(shout)',
  '    graph.set_sink(shout, Upper)',
  '    return graph',
}

local summary = {
  nvim = tostring(vim.version()),
  server = bin,
  checks = {},
  passed = 0,
  failed = 0,
  skipped = 0,
}

-- Passed as `ok` to record a skipped check; any other falsy value (nil included) fails.
local SKIP = setmetatable({}, { __tostring = function() return 'SKIP' end })

local function check(name, ok, detail)
  local status = ok == SKIP and 'skip' or (ok and 'pass' or 'fail')
  table.insert(summary.checks, { name = name, status = status, detail = detail })
  if status == 'pass' then
    summary.passed = summary.passed + 1
  elseif status == 'fail' then
    summary.failed = summary.failed + 1
  else
    summary.skipped = summary.skipped + 1
  end
  local text = detail ~= nil and tostring(detail):gsub('%s*\n%s*', ' ') or nil
  io.stderr:write(('[nvim-e2e] %-4s %s%s\n'):format(status, name, text and (': ' .. text) or ''))
end

local function finish()
  io.stdout:write('\nE2E_SUMMARY ' .. vim.json.encode(summary) .. '\n')
  io.stdout:flush()
  for _, client in ipairs(vim.lsp.get_clients()) do
    client:stop(true)
  end
  vim.wait(500, function()
    return #vim.lsp.get_clients() == 0
  end, 20)
  if summary.failed == 0 and summary.workspace then
    vim.fn.delete(summary.workspace, 'rf') -- kept on failure, for a look
  end
  vim.cmd((summary.failed == 0 and summary.passed > 0) and 'qa!' or 'cquit! 1')
end

local function run()
  check('nvim is 0.11+', vim.fn.has('nvim-0.11') == 1, summary.nvim)
  check('server binary is executable', vim.fn.executable(bin) == 1, bin)
  if vim.fn.executable(bin) ~= 1 then
    return
  end

  -- The shipped integration, exactly as a user's runtimepath would carry it.
  vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
  vim.cmd('filetype on')
  vim.cmd('runtime plugin/planai.lua')
  check('user commands defined', vim.fn.exists(':PlanaiEnvs') == 2 and vim.fn.exists(':PlanaiRestartHelper') == 2 and vim.fn.exists(':PlanaiGraph') == 2)

  -- A temporary workspace.
  local root = vim.fn.tempname() .. '-planai-e2e'
  vim.fn.mkdir(root, 'p')
  root = vim.uv.fs_realpath(root)
  summary.workspace = root
  vim.fn.writefile({ '[project]', 'name = "e2e"', 'version = "0.0.0"' }, root .. '/pyproject.toml')
  local syntax_file = root .. '/syntax_error.py'
  -- Two syntax errors: a stray ")" after multi-byte characters (utf-8 byte column 20,
  -- utf-16 column 14) and an unclosed parameter list.
  local price_line = 'price = "€€€" )'
  local paren_byte_col = assert(price_line:find(')', 1, true)) - 1
  vim.fn.writefile({
    'greeting = "héllo wörld €"',
    price_line,
    '',
    '',
    'def broken(:',
    '    return greeting',
  }, syntax_file)
  local planai_file = root .. '/flow.py'
  local planai_lines = {
    'from typing import List, Type',
    '',
    'from planai import Graph, Task, TaskWorker',
    '',
    '',
    'class Query(Task):',
    '    text: str',
    '',
    '',
    'class Result(Task):',
    '    hits: int',
    '',
    '',
    'class Parser(TaskWorker):',
    '    output_types: List[Type[Task]] = [Query]',
    '',
    '    def consume_work(self, task: Query):',
    '        self.publish_work(Query(text=task.text.strip()), input_task=task)',
    '',
    '',
    'class Searcher(TaskWorker):',
    '    output_types: List[Type[Task]] = [Result]',
    '',
    '    def consume_work(self, task):',
    '        self.publish_work(Result(hits=0), input_task=task)',
    '',
    '',
    'graph = Graph(name="search")',
    'parser = Parser()',
    'searcher = Searcher()',
    'graph.add_workers(parser, searcher)',
    'graph.set_dependency(parser, searcher)',
  }
  local gc5_line = #planai_lines - 1 -- 0-based line of set_dependency: PlanAI raises GC5 there
  vim.fn.writefile(planai_lines, planai_file)

  -- Record every publishDiagnostics (including empty ones), then hand it to the default handler.
  local publishes = {}
  local function publish_count(uri)
    return publishes[uri] and #publishes[uri] or 0
  end
  -- Wrap (and still run) the shipped before_init to see the initializationOptions it builds.
  local shipped = vim.lsp.config.planai
  check('lsp/planai.lua found on runtimepath', shipped ~= nil and vim.deep_equal(shipped.cmd, { 'planai-lsp' }) and vim.deep_equal(shipped.filetypes, { 'python' }))
  local shipped_before_init = shipped and shipped.before_init
  local init_options_sent
  local configuration_answers = {}
  vim.lsp.config('planai', {
    cmd = { bin },
    on_exit = function(code, signal)
      summary.server_exit = { code = code, signal = signal }
    end,
    before_init = function(params, config)
      if shipped_before_init then
        shipped_before_init(params, config)
      end
      init_options_sent = vim.deepcopy(params.initializationOptions)
    end,
    handlers = {
      ['workspace/configuration'] = function(err, params, ctx)
        local answer = vim.lsp.handlers['workspace/configuration'](err, params, ctx)
        table.insert(configuration_answers, { items = params and params.items, answer = answer })
        return answer
      end,
      ['textDocument/publishDiagnostics'] = function(err, result, ctx)
        if result and result.uri then
          publishes[result.uri] = publishes[result.uri] or {}
          table.insert(publishes[result.uri], { version = result.version, count = #(result.diagnostics or {}), raw = result.diagnostics })
        end
        return vim.lsp.diagnostic.on_publish_diagnostics(err, result, ctx)
      end,
    },
  })
  vim.lsp.enable('planai')

  -- 1. Syntax error.
  vim.cmd('cd ' .. vim.fn.fnameescape(root))
  vim.cmd('edit ' .. vim.fn.fnameescape(syntax_file))
  local syntax_buf = vim.api.nvim_get_current_buf()
  local syntax_uri = vim.uri_from_bufnr(syntax_buf)
  local attached = vim.wait(timeout_ms, function()
    return #vim.lsp.get_clients({ name = 'planai', bufnr = syntax_buf }) > 0
  end, 20)
  check('client attaches to a Python buffer', attached, not attached and ('server exit: %s'):format(vim.inspect(summary.server_exit)) or nil)
  if not attached then
    return
  end
  local client = vim.lsp.get_clients({ name = 'planai', bufnr = syntax_buf })[1]
  summary.position_encoding = client.offset_encoding
  check('offset_encoding == "utf-8"', client.offset_encoding == 'utf-8', client.offset_encoding)
  check('root_dir from root_markers', client.config.root_dir == root, client.config.root_dir)
  summary.initialization_options = init_options_sent
  check(
    'settings sent in initializationOptions',
    vim.tbl_get(init_options_sent or {}, 'settings', 'planai', 'validation', 'run') == 'onSave',
    vim.json.encode(init_options_sent or vim.NIL)
  )

  local function syntax_diags(buf)
    return vim.tbl_filter(function(d)
      return d.source == 'planai-syntax'
    end, vim.diagnostic.get(buf))
  end
  local got_syntax = vim.wait(timeout_ms, function()
    return #syntax_diags(syntax_buf) > 0
  end, 20)
  local diags = syntax_diags(syntax_buf)
  summary.syntax_diagnostics = vim.tbl_map(function(d)
    return { lnum = d.lnum, col = d.col, end_lnum = d.end_lnum, end_col = d.end_col, code = d.code, source = d.source, message = d.message }
  end, diags)
  check('syntax error reported (source planai-syntax)', got_syntax, #diags .. ' diagnostic(s)')
  if got_syntax then
    local lnums, codes_ok, errors_ok = {}, true, true
    for _, d in ipairs(diags) do
      lnums[d.lnum] = true
      codes_ok = codes_ok and d.code == 'syntax'
      errors_ok = errors_ok and d.severity == vim.diagnostic.severity.ERROR
    end
    check('syntax diagnostic code is "syntax"', codes_ok, vim.inspect(vim.tbl_map(function(d) return d.code end, diags)))
    check('syntax errors reported on lines 2 and 5, as errors', errors_ok and lnums[1] and lnums[4] and vim.tbl_count(lnums) == 2, vim.inspect(vim.tbl_keys(lnums)))
    -- The raw positions the server sent must be utf-8 (byte) columns: the range on line 2
    -- must cover the ")" at byte column 20, which in utf-16 would be column 14.
    local covers = false
    local raw_list = (publishes[syntax_uri] or {})[publish_count(syntax_uri)]
    for _, raw in ipairs(raw_list and raw_list.raw or {}) do
      local r = raw.range
      if r.start.line <= 1 and r['end'].line >= 1 then
        local start_col = r.start.line == 1 and r.start.character or 0
        local end_col = r['end'].line == 1 and r['end'].character or #price_line
        covers = covers or (start_col <= paren_byte_col and end_col >= paren_byte_col and end_col <= #price_line)
      end
    end
    check('server positions are utf-8 byte columns', covers, vim.json.encode(raw_list and raw_list.raw or vim.NIL))
    -- utf-8 columns are byte columns; Neovim reports byte columns too, so every column must be
    -- a character boundary inside its line.
    local lines = vim.api.nvim_buf_get_lines(syntax_buf, 0, -1, false)
    local boundaries_ok = true
    for _, x in ipairs(diags) do
      for _, pos in ipairs({ { x.lnum, x.col }, { x.end_lnum or x.lnum, x.end_col or x.col } }) do
        local line = lines[pos[1] + 1] or ''
        if pos[2] > #line or (pos[2] < #line and vim.str_utf_start(line, pos[2] + 1) ~= 0) then
          boundaries_ok = false
        end
      end
    end
    check('syntax diagnostic columns are utf-8 byte boundaries', boundaries_ok)
  end

  -- 2. Fix the syntax error; the diagnostic must clear with a publish for the new text.
  local before = publish_count(syntax_uri)
  vim.api.nvim_buf_set_lines(syntax_buf, 1, 2, false, { 'price = "€€€"' })
  vim.api.nvim_buf_set_lines(syntax_buf, 4, 5, false, { 'def broken():' })
  local cleared = vim.wait(timeout_ms, function()
    return publish_count(syntax_uri) > before and #syntax_diags(syntax_buf) == 0
  end, 20)
  check('syntax diagnostic clears after the fix', cleared, ('%d publish(es) after the edit, %d syntax diagnostic(s) left'):format(publish_count(syntax_uri) - before, #syntax_diags(syntax_buf)))
  local last = (publishes[syntax_uri] or {})[publish_count(syntax_uri)]
  if last and last.version ~= nil then
    check('last publish carries the buffer version', last.version == vim.lsp.util.buf_versions[syntax_buf], ('%s vs %s'):format(last.version, vim.lsp.util.buf_versions[syntax_buf]))
  end

  -- 3. PlanAI mistake (GC5: consume_work without a type hint, raised at set_dependency).
  vim.cmd('edit ' .. vim.fn.fnameescape(planai_file))
  local planai_buf = vim.api.nvim_get_current_buf()
  local planai_uri = vim.uri_from_bufnr(planai_buf)
  local function planai_diags()
    return vim.tbl_filter(function(d)
      return d.source == 'planai'
    end, vim.diagnostic.get(planai_buf))
  end
  local function gc5_at_edge()
    for _, d in ipairs(planai_diags()) do
      if d.code == 'GC5' and d.lnum == gc5_line then
        return d
      end
    end
  end
  local published = vim.wait(timeout_ms, function()
    return publish_count(planai_uri) > 0
  end, 20)
  check('PlanAI file gets a publishDiagnostics', published)
  -- Give the analysis time to report after the first (possibly syntax-only) publish.
  vim.wait(timeout_ms, function()
    return gc5_at_edge() ~= nil
  end, 20)
  summary.planai_diagnostics = vim.tbl_map(function(d)
    return { lnum = d.lnum, col = d.col, code = d.code, source = d.source, severity = d.severity, message = d.message }
  end, vim.diagnostic.get(planai_buf))
  check('PlanAI file has no syntax diagnostics', #syntax_diags(planai_buf) == 0)
  if #planai_diags() == 0 and published and not strict_analysis then
    check('PlanAI mistake reported (source planai, code GC5 at set_dependency)', SKIP, 'server published no "planai" diagnostics yet')
  else
    local d = gc5_at_edge()
    check(
      'PlanAI mistake reported (source planai, code GC5 at set_dependency)',
      d ~= nil and d.severity == vim.diagnostic.severity.ERROR,
      d and d.message or vim.inspect(summary.planai_diagnostics)
    )
  end

  -- 4. workspace/executeCommand planai.listEnvironments.
  local advertised = vim.tbl_get(client.server_capabilities, 'executeCommandProvider', 'commands') or {}
  summary.commands = advertised
  check('server advertises planai.listEnvironments', vim.tbl_contains(advertised, 'planai.listEnvironments'))
  local response
  client:request('workspace/executeCommand', { command = 'planai.listEnvironments', arguments = {} }, function(err, result)
    response = { err = err, result = result }
  end, planai_buf)
  local answered = vim.wait(timeout_ms, function()
    return response ~= nil
  end, 20)
  local result = response and response.result
  local is_list = type(result) == 'table' and (vim.islist or vim.tbl_islist)(result)
  summary.environments = result
  check('planai.listEnvironments returns a list', answered and response.err == nil and is_list, answered and (response.err and vim.inspect(response.err) or ('%d environment(s)'):format(is_list and #result or -1)) or 'no answer')
  if is_list and #result > 0 then
    local ok = true
    for _, env in ipairs(result) do
      ok = ok and type(env.path) == 'string' and type(env.interpreter) == 'table' and type(env.selected) == 'boolean'
    end
    check('environments have path, interpreter and selected', ok)
  end

  -- The server pulls section "planai" after initialized; Neovim answers from `settings`.
  summary.configuration_answers = configuration_answers
  local pulled
  for _, exchange in ipairs(configuration_answers) do
    for i, item in ipairs(exchange.items or {}) do
      if item.section == 'planai' and type(exchange.answer) == 'table' then
        pulled = exchange.answer[i]
      end
    end
  end
  check('workspace/configuration "planai" answered from settings', type(pulled) == 'table' and vim.tbl_get(pulled, 'validation', 'run') == 'onSave', vim.json.encode(pulled or vim.NIL))

  -- 5. An unknown command fails with an error instead of hanging or crashing the server.
  local unknown
  client:request('workspace/executeCommand', { command = 'planai.noSuchCommand', arguments = {} }, function(err)
    unknown = { err = err }
  end, planai_buf)
  check('unknown command answers with an error', vim.wait(timeout_ms, function()
    return unknown ~= nil
  end, 20) and unknown.err ~= nil)
  check('server still running', not client:is_stopped(), summary.server_exit and vim.inspect(summary.server_exit) or nil)

  -- 6. The user commands of plugin/planai.lua, with vim.notify and vim.ui.select recorded.
  local notes = {}
  local real_notify, real_select = vim.notify, vim.ui.select
  vim.notify = function(message, level)
    table.insert(notes, { message = message, level = level })
  end
  local function wait_note(pattern)
    local found
    vim.wait(timeout_ms, function()
      for _, note in ipairs(notes) do
        if note.message:find(pattern) then
          found = note
          return true
        end
      end
      return false
    end, 20)
    return found
  end
  local function supports(command)
    return vim.tbl_contains(advertised, command)
  end

  notes = {}
  local select_items
  vim.ui.select = function(items, opts, on_choice)
    select_items = vim.tbl_map(opts.format_item or tostring, items)
    on_choice(items[1], 1)
  end
  vim.cmd('PlanaiEnvs')
  if is_list and #result == 0 then
    check(':PlanaiEnvs with no environment says so', wait_note('found no Python environment') ~= nil, vim.inspect(notes))
  else
    local selected_note = wait_note('now validating with') or wait_note('selected ')
    check(':PlanaiEnvs lists environments and selects the first', select_items ~= nil and #select_items == #(result or {}) and selected_note ~= nil, vim.inspect({ items = select_items, notes = notes }))
  end
  summary.env_picker_items = select_items

  notes = {}
  -- scripts/test.sh exports PLANAI_TEST_PYTHON (a venv with planai); else any python3.
  local python = os.getenv('PLANAI_TEST_PYTHON') or ''
  if python == '' then
    python = vim.fn.exepath('python3') ~= '' and vim.fn.exepath('python3') or '/usr/bin/python3'
  end
  summary.selected_python = python
  vim.cmd('PlanaiEnvs ' .. vim.fn.fnameescape(python))
  local direct = wait_note('now validating with') or wait_note('selected ') or wait_note('failed')
  check(':PlanaiEnvs {path} calls planai.selectEnvironment', direct ~= nil and not direct.message:find('failed'), vim.inspect(notes))

  -- With a venv that has planai selected, saving validates in it (validation.run = onSave):
  -- a module that raises at import time gets a `planai (venv)` diagnostic.
  if os.getenv('PLANAI_TEST_PYTHON') and direct and not direct.message:find('failed') then
    local boom_file = root .. '/boom.py'
    vim.fn.writefile({
      'from planai import Task',
      '',
      '',
      'class Query(Task):',
      '    text: str',
      '',
      '',
      'raise RuntimeError("planai-e2e: raised at import time")',
    }, boom_file)
    vim.cmd('edit ' .. vim.fn.fnameescape(boom_file))
    local boom_buf = vim.api.nvim_get_current_buf()
    vim.cmd('silent write')
    local function venv_diags()
      return vim.tbl_filter(function(d)
        return d.source == 'planai (venv)' and d.code == 'RuntimeError'
      end, vim.diagnostic.get(boom_buf))
    end
    vim.wait(3 * timeout_ms, function()
      return #venv_diags() > 0
    end, 50)
    summary.venv_diagnostics = vim.tbl_map(function(d)
      return { lnum = d.lnum, col = d.col, code = d.code, source = d.source, severity = d.severity, message = d.message }
    end, vim.diagnostic.get(boom_buf))
    check('saving validates in the selected venv (planai (venv) RuntimeError)', #venv_diags() > 0, vim.json.encode(summary.venv_diagnostics))

    -- The environment tools, on a module the venv can import.
    local tasks_file = root .. '/tasks_mod.py'
    vim.fn.writefile({
      'from planai import Task',
      'from pydantic import Field',
      '',
      '',
      'class Query(Task):',
      '    """A search query."""',
      '',
      '    text: str = Field(description="what to look for")',
      '    limit: int = 10',
    }, tasks_file)
    vim.cmd('edit ' .. vim.fn.fnameescape(tasks_file))
    local tasks_buf = vim.api.nvim_get_current_buf()
    vim.wait(timeout_ms, function()
      return #vim.lsp.get_clients({ name = 'planai', bufnr = tasks_buf }) > 0
    end, 20)
    notes = {}
    vim.cmd('PlanaiTasks')
    local tasks_scratch
    vim.wait(3 * timeout_ms, function()
      tasks_scratch = vim.fn.bufnr('planai://tasks/tasks_mod')
      return tasks_scratch ~= -1
    end, 50)
    local tasks_text = tasks_scratch ~= -1 and table.concat(vim.api.nvim_buf_get_lines(tasks_scratch, 0, -1, false), '\n') or vim.inspect(notes)
    check(':PlanaiTasks shows the current module\'s Tasks and fields', tasks_text:find('## Query', 1, true) ~= nil and tasks_text:find('| `text` | `str` | yes |  | what to look for |', 1, true) ~= nil and tasks_text:find('| `limit` | `int` | no | `10` |', 1, true) ~= nil, tasks_text)

    vim.cmd('buffer ' .. tasks_buf)
    notes = {}
    vim.cmd('PlanaiValidateTask Query {"text": 5}')
    local invalid = wait_note('not a valid Query') or wait_note('failed')
    check(':PlanaiValidateTask reports pydantic errors', invalid ~= nil and invalid.message:find('text: ') ~= nil, vim.inspect(notes))
    notes = {}
    vim.cmd('PlanaiValidateTask Query {"text": "hi", "limit": 3}')
    check(':PlanaiValidateTask accepts valid data', wait_note('is a valid Query') ~= nil, vim.inspect(notes))
    -- :PlanaiRun runs the buffer's workflow: progress through LspProgress up to its end, and
    -- the events (the sink output, the end) in the planai://runs scratch buffer.
    if supports('planai.run') then
      local run_file = root .. '/runflow.py'
      vim.fn.writefile(SHOUT_FLOW, run_file)
      vim.cmd('edit ' .. vim.fn.fnameescape(run_file))
      local progress_kinds = {}
      local progress_group = vim.api.nvim_create_augroup('planai_e2e_progress', { clear = true })
      vim.api.nvim_create_autocmd('LspProgress', {
        group = progress_group,
        callback = function(args)
          local value = vim.tbl_get(args, 'data', 'params', 'value') or {}
          if type(value.title) == 'string' and value.title:find('PlanAI run') then
            progress_kinds.begin = true
          end
          if value.kind == 'end' and type(value.message) == 'string' then
            progress_kinds['end'] = value.message
          end
        end,
      })
      vim.cmd('PlanaiRun build_graph {"text": "hey"}')
      local function runs_text()
        local buf = vim.fn.bufnr('planai://runs')
        return buf ~= -1 and table.concat(vim.api.nvim_buf_get_lines(buf, 0, -1, false), '\n') or ''
      end
      vim.wait(6 * timeout_ms, function()
        return runs_text():find('ended     succeeded') ~= nil and progress_kinds['end'] ~= nil
      end, 50)
      summary.run_events = runs_text()
      summary.run_progress = progress_kinds
      check(':PlanaiRun streams events into planai://runs (the sink output, then the end)', runs_text():find('output    Upper {"text":"HEY"}', 1, true) ~= nil and runs_text():find('ended     succeeded') ~= nil, summary.run_events)
      check(':PlanaiRun progress ends through LspProgress', progress_kinds.begin == true and type(progress_kinds['end']) == 'string' and progress_kinds['end']:find('^succeeded') ~= nil, vim.inspect(progress_kinds))
      vim.api.nvim_del_augroup_by_id(progress_group)
    else
      check(':PlanaiRun streams events into planai://runs (the sink output, then the end)', SKIP, 'the server lacks planai.run')
    end
  else
    check('saving validates in the selected venv (planai (venv) RuntimeError)', SKIP, 'PLANAI_TEST_PYTHON (a venv with planai) is not set')
  end

  notes = {}
  vim.cmd('PlanaiRestartHelper')
  check(':PlanaiRestartHelper', wait_note(supports('planai.restartHelper') and 'helper restarted' or 'does not support') ~= nil, vim.inspect(notes))

  notes = {}
  vim.cmd('buffer ' .. planai_buf)
  vim.cmd('PlanaiGraph')
  if supports('planai.showGraph') then
    local graph_buf
    vim.wait(timeout_ms, function()
      graph_buf = vim.fn.bufnr('planai://graph/flow.py')
      return graph_buf ~= -1
    end, 20)
    local text = graph_buf ~= -1 and table.concat(vim.api.nvim_buf_get_lines(graph_buf, 0, -1, false), '\n') or ''
    summary.graph = text
    check(':PlanaiGraph opens the Mermaid text in a scratch buffer', graph_buf ~= -1 and vim.bo[graph_buf].buftype == 'nofile' and vim.bo[graph_buf].filetype == 'mermaid' and text:find('Parser') ~= nil, text ~= '' and text or vim.inspect(notes))
  else
    check(':PlanaiGraph fails gracefully while the server lacks planai.showGraph', wait_note('does not support planai.showGraph') ~= nil, vim.inspect(notes))
  end
  vim.notify, vim.ui.select = real_notify, real_select

  -- :checkhealth planai, with the client running.
  vim.cmd('silent checkhealth planai')
  local health_text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
  vim.cmd('bwipeout!')
  check(':checkhealth planai finds the server and the client', health_text:find('planai%-lsp %d') ~= nil and health_text:find('encoding utf%-8') ~= nil and not health_text:find('ERROR'), health_text)
  check(':checkhealth planai names the environment it validates with', health_text:find('validating with ' .. vim.pesc(python)) ~= nil or health_text:find('planai is not installed in the selected environment ' .. vim.pesc(python)) ~= nil, health_text)

  local function health_now()
    vim.cmd('silent checkhealth planai')
    local text = table.concat(vim.api.nvim_buf_get_lines(0, 0, -1, false), '\n')
    vim.cmd('bwipeout!')
    return text
  end

  -- An environment without planai (a bare venv): the advice says how to install it.
  local bare_venv = root .. '/bare-venv'
  vim.fn.system({ vim.fn.exepath('python3') ~= '' and vim.fn.exepath('python3') or 'python3', '-m', 'venv', '--without-pip', bare_venv })
  local health_client = vim.lsp.get_clients({ name = 'planai' })[1]
  if vim.v.shell_error == 0 and health_client then
    health_client:request_sync('workspace/executeCommand', { command = 'planai.selectEnvironment', arguments = { bare_venv .. '/bin/python' } }, timeout_ms)
    local bare_text = health_now()
    check(':checkhealth planai advises installing planai into a venv without it', bare_text:find('planai is not installed in the selected environment') ~= nil and bare_text:find('%-m pip install planai') ~= nil and bare_text:find(':PlanaiEnvs') ~= nil, bare_text)
    health_client:request_sync('workspace/executeCommand', { command = 'planai.selectEnvironment', arguments = { python } }, timeout_ms)
  else
    check(':checkhealth planai advises installing planai into a venv without it', false, 'could not create a bare venv or no client: ' .. tostring(vim.v.shell_error))
  end

  -- A server command that does not exist: an error, and how to fix it.
  vim.lsp.config('planai', { cmd = { root .. '/no-such/planai-lsp' } })
  local missing_text = health_now()
  vim.lsp.config('planai', { cmd = { bin } })
  check(':checkhealth planai reports a missing server binary and the fix', missing_text:find('ERROR') ~= nil and missing_text:find('not found') ~= nil and missing_text:find('Put planai%-lsp on PATH') ~= nil, missing_text)

  -- Language features: code lenses (kept fresh by the plugin), the Task lens's command handled
  -- in Neovim (quickfix list), hover on a Task.
  local lens_file = root .. '/lens_flow.py'
  vim.fn.writefile(SHOUT_FLOW, lens_file)
  vim.cmd('edit ' .. vim.fn.fnameescape(lens_file))
  local lens_buf = vim.api.nvim_get_current_buf()
  local lens_client
  vim.wait(timeout_ms, function()
    lens_client = vim.lsp.get_clients({ name = 'planai', bufnr = lens_buf })[1]
    return lens_client ~= nil
  end, 20)
  local lenses = {}
  vim.wait(3 * timeout_ms, function()
    pcall(vim.lsp.codelens.refresh, { bufnr = lens_buf })
    lenses = vim.lsp.codelens.get(lens_buf) or {}
    return #lenses >= 5
  end, 200)
  local titles = vim.tbl_map(function(lens)
    return lens.command and lens.command.title or '?'
  end, lenses)
  table.sort(titles)
  check('code lenses: Task producer and consumer counts; Show/Run/Debug graph on the builder', vim.tbl_contains(titles, 'produced by 0 · consumed by 1') and vim.tbl_contains(titles, 'produced by 1 · consumed by 0') and vim.tbl_contains(titles, 'Run graph') and vim.tbl_contains(titles, 'Show graph'), vim.inspect(titles))
  local word_lens
  for _, lens in ipairs(lenses) do
    if lens.command and lens.command.title == 'produced by 0 · consumed by 1' then
      word_lens = lens
    end
  end
  if word_lens and lens_client then
    vim.fn.setqflist({}, 'r')
    vim.lsp.commands['planai.showReferences'](word_lens.command, { client_id = lens_client.id, bufnr = lens_buf })
    local items = vim.fn.getqflist()
    check('the Task lens lists its consumers in the quickfix list', #items == 1 and items[1].lnum == 13, vim.inspect(items))
    vim.cmd('cclose')
    vim.cmd('buffer ' .. lens_buf)
    local hover = lens_client:request_sync('textDocument/hover', {
      textDocument = { uri = vim.uri_from_bufnr(lens_buf) },
      position = { line = 4, character = 7 },
    }, timeout_ms, lens_buf)
    local value = vim.tbl_get(hover or {}, 'result', 'contents', 'value') or vim.inspect(hover)
    check('hover on a Task shows its fields', type(value) == 'string' and value:find('text: str', 1, true) ~= nil, value)
  else
    check('the Task lens lists its consumers in the quickfix list', false, 'no lens for Word: ' .. vim.inspect(titles))
  end

  -- 7. setup() for Neovim < 0.11: vim.lsp.start() from a FileType autocmd (run here on 0.11).
  vim.lsp.enable('planai', false)
  for _, c in ipairs(vim.lsp.get_clients({ name = 'planai' })) do
    c:stop(true)
  end
  vim.wait(timeout_ms, function()
    return #vim.lsp.get_clients({ name = 'planai' }) == 0
  end, 20)
  require('planai').start_on_filetype({ cmd = { bin } })
  local legacy_file = root .. '/pkg/legacy.py'
  vim.fn.mkdir(root .. '/pkg', 'p')
  vim.fn.writefile({ 'def f(:', '    pass' }, legacy_file)
  vim.cmd('edit ' .. vim.fn.fnameescape(legacy_file))
  local legacy_buf = vim.api.nvim_get_current_buf()
  local legacy_client
  vim.wait(timeout_ms, function()
    legacy_client = vim.lsp.get_clients({ name = 'planai', bufnr = legacy_buf })[1]
    return legacy_client ~= nil
  end, 20)
  check('setup() fallback (vim.lsp.start) attaches', legacy_client ~= nil)
  if legacy_client then
    check('setup() fallback finds the root and sends settings', legacy_client.config.root_dir == root and vim.tbl_get(legacy_client.config, 'init_options', 'settings', 'planai', 'validation', 'run') == 'onSave', legacy_client.config.root_dir)
    check('setup() fallback gets syntax diagnostics', vim.wait(timeout_ms, function()
      return #syntax_diags(legacy_buf) > 0
    end, 20))
  end
end

local ok, err = xpcall(run, debug.traceback)
if not ok then
  check('test script ran without a Lua error', false, err)
end
finish()
