-- User commands for planai-lsp. They act on the planai client attached to the current buffer
-- and load lua/planai only when used.
if vim.g.loaded_planai then
  return
end
vim.g.loaded_planai = true

local function planai()
  return require('planai')
end

vim.api.nvim_create_user_command('PlanaiEnvs', function(opts)
  if opts.args ~= '' then
    planai().select_environment(opts.args)
  else
    planai().pick_environment()
  end
end, {
  nargs = '?',
  complete = 'file',
  desc = 'PlanAI: pick the Python environment (or select the given interpreter path)',
})

vim.api.nvim_create_user_command('PlanaiRestartHelper', function()
  planai().restart_helper()
end, { desc = 'PlanAI: restart the Python helper process' })

vim.api.nvim_create_user_command('PlanaiGraph', function()
  planai().show_graph()
end, { desc = 'PlanAI: show the Mermaid graph of the current file in a scratch buffer' })

vim.api.nvim_create_user_command('PlanaiLog', function()
  vim.cmd.tabnew(vim.fn.fnameescape(vim.lsp.get_log_path()))
end, { desc = 'PlanAI: open the LSP log file' })

local function tools()
  return require('planai.tools')
end

vim.api.nvim_create_user_command('PlanaiTasks', function(opts)
  tools().introspect_tasks(opts.args)
end, { nargs = '?', desc = "PlanAI: a module's Tasks and fields as the selected environment imports them (default: this file)" })

vim.api.nvim_create_user_command('PlanaiModels', function(opts)
  tools().list_models(opts.args)
end, {
  nargs = 1,
  complete = function()
    return tools().providers
  end,
  desc = "PlanAI: a provider's models in the selected environment; the chosen name is yanked",
})

vim.api.nvim_create_user_command('PlanaiValidateTask', function(opts)
  local class_name, json_text = opts.args:match('^%s*(%S+)%s*(.*)$')
  if (json_text == nil or json_text == '') and opts.range > 0 then
    json_text = table.concat(vim.api.nvim_buf_get_lines(0, opts.line1 - 1, opts.line2, false), '\n')
  end
  tools().validate_task_data(class_name, json_text)
end, {
  nargs = '+',
  range = true,
  desc = 'PlanAI: validate JSON (the argument, else the range) against a Task of this file, with pydantic',
})

-- Code lenses: the commands they carry that Neovim handles itself, and refreshing them.
require('planai.lens').setup()
local function run_command(debug)
  return function(opts)
    local parsed, problem = planai().parse_run_args(opts.args)
    if not parsed then
      vim.notify('planai-lsp: ' .. problem, vim.log.levels.ERROR)
      return
    end
    parsed.debug = debug
    parsed.mockLlm = opts.bang
    planai().run(parsed)
  end
end

vim.api.nvim_create_user_command('PlanaiRun', run_command(false), {
  nargs = '*',
  bang = true,
  desc = 'PlanAI: run the workflow of this buffer ([graph builder] [JSON inputs]; ! = mock LLMs)',
})

vim.api.nvim_create_user_command('PlanaiDebug', run_command(true), {
  nargs = '*',
  bang = true,
  desc = 'PlanAI: run with per-task detail (task JSON in/out, LLM prompts and responses)',
})

vim.api.nvim_create_user_command('PlanaiCancel', function(opts)
  planai().cancel_run(opts.args)
end, { nargs = '?', desc = 'PlanAI: cancel a run (default: the last one started)' })
