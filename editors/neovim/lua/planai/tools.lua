-- :PlanaiTasks, :PlanaiModels and :PlanaiValidateTask: the environment tools the server
-- already offers (planai.introspectTasks, planai.listModels, planai/validateTaskData).
local planai = require('planai')

local M = {}

--- The providers llm_from_config(provider=...) accepts in planai 0.7.1.
M.providers = { 'ollama', 'remote_ollama', 'openai', 'anthropic', 'gemini', 'openrouter' }

local function notify(message, level)
  vim.notify('PlanAI: ' .. message, level or vim.log.levels.INFO)
end

--- The dotted module name of a file under `root` (pkg/flow.py -> pkg.flow), or nil.
---@param path string
---@param root string?
---@return string?
function M.module_name(path, root)
  if path == '' then
    return nil
  end
  local relative = path
  if root and root ~= '' then
    local prefix = vim.fs.normalize(root) .. '/'
    local normalized = vim.fs.normalize(path)
    if normalized:sub(1, #prefix) == prefix then
      relative = normalized:sub(#prefix + 1)
    else
      relative = vim.fn.fnamemodify(path, ':t')
    end
  end
  relative = relative:gsub('%.pyi?$', '')
  local parts = vim.split(relative, '/', { plain = true, trimempty = true })
  if parts[#parts] == '__init__' then
    table.remove(parts)
  end
  if #parts == 0 then
    return nil
  end
  for _, part in ipairs(parts) do
    if not part:match('^[%a_][%w_]*$') then
      return nil
    end
  end
  return table.concat(parts, '.')
end

local function current_module(bufnr)
  local client = planai.get_client(bufnr)
  return M.module_name(vim.api.nvim_buf_get_name(bufnr), client and client.config.root_dir)
end

local function escape_cell(text)
  return (tostring(text or ''):gsub('|', '\\|'):gsub('\n', ' '))
end

--- Markdown lines describing an introspection result.
function M.tasks_markdown(module_name, result)
  local lines = { ('# Tasks in `%s`'):format(module_name), '' }
  local tasks = type(result) == 'table' and result.tasks or {}
  local problems = type(result) == 'table' and result.problems or {}
  if type(problems) == 'table' and #problems > 0 then
    table.insert(lines, 'Loading the module failed:')
    table.insert(lines, '')
    for _, problem in ipairs(problems) do
      table.insert(lines, '- ' .. tostring(type(problem) == 'table' and problem.message or problem))
    end
    table.insert(lines, '')
  end
  if (type(tasks) ~= 'table' or #tasks == 0) and #lines == 2 then
    table.insert(lines, 'The module defines no planai `Task` subclasses.')
  end
  for _, task in ipairs(type(tasks) == 'table' and tasks or {}) do
    table.insert(lines, '## ' .. tostring(task.name))
    table.insert(lines, '')
    if type(task.path) == 'string' then
      table.insert(lines, ('Defined in `%s%s`.'):format(task.path, type(task.line) == 'number' and (':' .. task.line) or ''))
      table.insert(lines, '')
    end
    if type(task.doc) == 'string' and task.doc ~= '' then
      vim.list_extend(lines, vim.split(vim.trim(task.doc), '\n', { plain = true }))
      table.insert(lines, '')
    end
    local fields = type(task.fields) == 'table' and task.fields or {}
    if #fields == 0 then
      table.insert(lines, 'No fields of its own.')
    else
      table.insert(lines, '| field | type | required | default | description |')
      table.insert(lines, '|---|---|---|---|---|')
      for _, field in ipairs(fields) do
        local default = type(field.default) == 'string' and ('`' .. escape_cell(field.default) .. '`') or ''
        local description = type(field.description) == 'string' and escape_cell(field.description) or ''
        table.insert(lines, ('| `%s` | `%s` | %s | %s | %s |'):format(escape_cell(field.name), escape_cell(field.annotation), field.required and 'yes' or 'no', default, description))
      end
    end
    table.insert(lines, '')
  end
  return lines
end

--- :PlanaiTasks [module] — a module's Tasks as the selected environment imports them.
function M.introspect_tasks(module_name, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  module_name = (module_name and module_name ~= '') and module_name or current_module(bufnr)
  if not module_name then
    notify('give a module name: :PlanaiTasks pkg.module', vim.log.levels.WARN)
    return
  end
  planai.execute('planai.introspectTasks', { module_name }, function(result)
    planai.open_scratch('planai://tasks/' .. module_name, M.tasks_markdown(module_name, result), 'markdown')
  end, bufnr)
end

--- :PlanaiModels {provider} — pick one of the provider's models; its name goes to the
--- unnamed register (and the clipboard register when there is a clipboard).
function M.list_models(provider, bufnr)
  if not provider or provider == '' then
    notify('give a provider: :PlanaiModels ' .. table.concat(M.providers, '|'), vim.log.levels.WARN)
    return
  end
  planai.execute('planai.listModels', { provider }, function(result)
    local models = type(result) == 'table' and result.models or {}
    if type(models) ~= 'table' or #models == 0 then
      notify(provider .. ' lists no models here (is it configured in the selected environment?)', vim.log.levels.WARN)
      return
    end
    vim.ui.select(models, { prompt = provider .. ' models' }, function(choice)
      if choice then
        vim.fn.setreg('"', choice)
        if vim.fn.has('clipboard') == 1 then
          pcall(vim.fn.setreg, '+', choice)
        end
        notify(('copied "%s"'):format(choice))
      end
    end)
  end, bufnr)
end

--- Reads a planai/validateTaskData result into (ok, lines).
function M.summarize_validation(result)
  local lines = {}
  for _, error in ipairs(type(result) == 'table' and type(result.errors) == 'table' and result.errors or {}) do
    local loc = type(error.loc) == 'table' and #error.loc > 0 and (table.concat(vim.tbl_map(tostring, error.loc), '.') .. ': ') or ''
    local kind = type(error.type) == 'string' and error.type ~= '' and (' (' .. error.type .. ')') or ''
    table.insert(lines, loc .. tostring(error.message or '') .. kind)
  end
  return type(result) == 'table' and result.ok == true, lines
end

--- :[range]PlanaiValidateTask {Class} [json] — validates JSON (the argument, else the range's
--- lines) against a Task of the current file with pydantic in the selected environment.
function M.validate_task_data(class_name, json_text, bufnr)
  bufnr = bufnr or vim.api.nvim_get_current_buf()
  if not class_name or class_name == '' then
    notify('give a Task class: :PlanaiValidateTask Question {"text": "hi"}', vim.log.levels.WARN)
    return
  end
  local ok, data = pcall(vim.json.decode, json_text or '')
  if not ok then
    notify('that is not JSON: ' .. tostring(data), vim.log.levels.ERROR)
    return
  end
  local client = planai.get_client(bufnr)
  if not client then
    notify('planai-lsp is not running for this buffer', vim.log.levels.WARN)
    return
  end
  local params = { uri = vim.uri_from_bufnr(bufnr), className = class_name, data = data }
  client:request('planai/validateTaskData', params, function(err, result)
    if err then
      notify('planai/validateTaskData failed: ' .. tostring(err.message or vim.inspect(err)), vim.log.levels.ERROR)
      return
    end
    local valid, lines = M.summarize_validation(result)
    if valid then
      notify(('the data is a valid %s'):format(class_name))
    else
      notify(('not a valid %s: %s'):format(class_name, table.concat(lines, '; ')), vim.log.levels.ERROR)
    end
  end, bufnr)
end

return M
