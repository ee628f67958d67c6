-- Client-side handlers for the commands the server's code lenses carry that Neovim must
-- handle itself (vim.lsp.commands), and code lens refreshing for planai buffers.
local M = {}

--- planai.showReferences {uri, position, locations}: the producers and consumers of a Task,
--- in the quickfix list.
function M.show_references(command, ctx)
  local argument = (command.arguments or {})[1] or {}
  local client = vim.lsp.get_client_by_id(ctx.client_id)
  local encoding = client and client.offset_encoding or 'utf-16'
  local items = vim.lsp.util.locations_to_items(argument.locations or {}, encoding)
  vim.fn.setqflist({}, ' ', { title = 'PlanAI: producers and consumers', items = items })
  if #items > 0 then
    vim.cmd('botright copen')
  else
    vim.notify('PlanAI: no producers or consumers', vim.log.levels.INFO)
  end
end

--- planai.showGraph {uri}: the graph of that document (as :PlanaiGraph does).
function M.show_graph(command, ctx)
  local argument = (command.arguments or {})[1]
  local uri = type(argument) == 'table' and argument.uri or argument
  local bufnr = type(uri) == 'string' and vim.uri_to_bufnr(uri) or ctx.bufnr
  require('planai').show_graph(bufnr)
end

--- Registers the handlers (once) and, unless `vim.g.planai_codelens == false`, keeps the
--- code lenses of planai buffers fresh (Neovim shows lenses only after a refresh).
function M.setup()
  vim.lsp.commands['planai.showReferences'] = M.show_references
  vim.lsp.commands['planai.showGraph'] = M.show_graph
  local group = vim.api.nvim_create_augroup('planai_codelens', { clear = true })
  vim.api.nvim_create_autocmd('LspAttach', {
    group = group,
    callback = function(args)
      local client = vim.lsp.get_client_by_id(args.data.client_id)
      if not client or client.name ~= 'planai' or vim.g.planai_codelens == false then
        return
      end
      if not (client.server_capabilities or {}).codeLensProvider then
        return
      end
      local function refresh()
        pcall(vim.lsp.codelens.refresh, { bufnr = args.buf })
      end
      refresh()
      vim.api.nvim_create_autocmd({ 'BufEnter', 'InsertLeave', 'BufWritePost', 'CursorHold' }, {
        group = group,
        buffer = args.buf,
        callback = refresh,
      })
    end,
  })
end

return M
