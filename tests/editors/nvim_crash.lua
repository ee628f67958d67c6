-- Headless Neovim that dies on a Lua error while planai-lsp is running: the server must not
-- outlive it. Neovim then neither sends `shutdown` nor `exit`; the server only sees its input
-- (and stderr) close, with a workspace index, a helper and a check possibly in flight.
--
--   PLANAI_LSP_BIN=... PLANAI_CRASH_PIDS=/tmp/pids nvim --headless --clean -l tests/editors/nvim_crash.lua
--
-- Writes the process ids of the server and of what it started to PLANAI_CRASH_PIDS once the server has published
-- diagnostics for the open file, then raises an error (Neovim exits with code 1). The caller
-- (tests/editors/run.sh) checks that those processes end.

local script = debug.getinfo(1, 'S').source:sub(2)
local repo = vim.fs.normalize(vim.fn.fnamemodify(script, ':p:h:h:h'))
local bin = assert(os.getenv('PLANAI_LSP_BIN'), 'PLANAI_LSP_BIN is not set')
local pids_file = assert(os.getenv('PLANAI_CRASH_PIDS'), 'PLANAI_CRASH_PIDS is not set')

vim.opt.runtimepath:prepend(repo .. '/editors/neovim')
vim.cmd('filetype on')
vim.cmd('runtime plugin/planai.lua')

local root = vim.fn.tempname() .. '-planai-crash'
vim.fn.mkdir(root, 'p')
root = assert(vim.uv.fs_realpath(root))
vim.fn.writefile({ '[project]', 'name = "crash"', 'version = "0.0.0"' }, root .. '/pyproject.toml')
local lines = { 'from typing import List, Type', 'from planai import Graph, Task, TaskWorker', '' }
for i = 1, 40 do
  vim.list_extend(lines, {
    '',
    ('class Item%d(Task):'):format(i),
    '    text: str',
    '',
    ('class Worker%d(TaskWorker):'):format(i),
    ('    output_types: List[Type[Task]] = [Item%d]'):format(i + 1),
    '',
    ('    def consume_work(self, task: Item%d):'):format(i),
    ('        self.publish_work(Item%d(text=task.text), input_task=task)'):format(i + 1),
  })
end
vim.list_extend(lines, { '', 'class Item41(Task):', '    text: str' })
local file = root .. '/flow.py'
vim.fn.writefile(lines, file)

vim.lsp.config('planai', { cmd = { bin } })
vim.lsp.enable('planai')
vim.cmd('cd ' .. vim.fn.fnameescape(root))
vim.cmd('edit ' .. vim.fn.fnameescape(file))

local attached = vim.wait(10000, function()
  return #vim.lsp.get_clients({ name = 'planai', bufnr = 0 }) > 0
end, 20)
assert(attached, 'planai-lsp never attached')
-- Let the server get mid-session: its helper started, its workspace indexed, its first
-- diagnostics published.
vim.wait(2500, function()
  return false
end, 50)

-- Children from /proc (nvim_get_proc_children misses those of a child on this Neovim).
local function children_of(parent)
  local found = {}
  for _, stat in ipairs(vim.fn.glob('/proc/[0-9]*/stat', false, true)) do
    local ok, fields = pcall(vim.fn.readfile, stat)
    -- "pid (comm) state ppid ...": comm may hold spaces, so match after its last ')'.
    local ppid = ok and fields[1] and fields[1]:match('%) %S+ (%d+)')
    if ppid and tonumber(ppid) == parent then
      table.insert(found, tonumber(fields[1]:match('^(%d+)')))
    end
  end
  return found
end

local children = children_of(vim.fn.getpid())
assert(#children > 0, 'no server process found below Neovim')
local out = assert(io.open(pids_file, 'w'))
for _, pid in ipairs(children) do
  out:write(tostring(pid), '\n')
  -- What the server started (its Python helper) must go with it.
  for _, grandchild in ipairs(children_of(pid)) do
    out:write(tostring(grandchild), '\n')
  end
end
out:close()
-- An edit in flight as Neovim dies.
vim.api.nvim_buf_set_lines(0, 5, 5, false, { 'x = 1' })
error('planai-lsp crash test: Neovim dies here on purpose')
