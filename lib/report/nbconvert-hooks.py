# nbconvert configuration used by Tessera's notebook runner (lib/report/notebook-runner.ts).
# tslab's error replies carry no message and no execution count, and tslab drops requests for 200 ms after an
# error. This hook copies the execution count into the cell, turns a failed cell's stderr into a real error output
# (so the report and the runner can show the message), and pauses after an error. It also announces every code cell
# on the progress side channel (TESSERA_PROGRESS_FILE, one JSON line per event, see lib/util/progress.ts), so the
# runner can show which cell runs and time each one.
import json
import os
import sys
import time

from nbformat.v4 import new_output

_code_cells = {}


def _on_notebook_start(notebook=None, **kwargs):
    cells = notebook.cells if notebook is not None else []
    code = [i for i, c in enumerate(cells) if c.get('cell_type') == 'code']
    _code_cells.clear()
    _code_cells.update({index: k + 1 for k, index in enumerate(code)})
    _code_cells['of'] = len(code)


def _on_cell_start(cell=None, cell_index=None, **kwargs):
    channel = os.environ.get('TESSERA_PROGRESS_FILE')
    if not channel or cell is None or cell.get('cell_type') != 'code':
        return
    source = cell.get('source', '')
    first = next((line for line in source.split('\n') if line.strip()), '')
    event = {'kind': 'cell', 'index': _code_cells.get(cell_index, 0), 'of': _code_cells.get('of', 0),
             'source': first[:100], 'at': int(time.time() * 1000)}
    try:
        with open(channel, 'a') as f:
            f.write(json.dumps(event) + '\n')
    except OSError:
        pass  # progress is not worth failing a run for


def _on_cell_executed(cell=None, cell_index=None, execute_reply=None, **kwargs):
    if cell is None or execute_reply is None:
        return
    content = execute_reply.get('content', {})
    if content.get('execution_count') is not None:
        cell['execution_count'] = content['execution_count']
    if content.get('status') == 'error':
        has_error = any(o.get('output_type') == 'error' for o in cell.get('outputs', []))
        stderr = ''.join(o.get('text', '') for o in cell.get('outputs', [])
                         if o.get('output_type') == 'stream' and o.get('name') == 'stderr').strip()
        if not has_error:
            cell['outputs'].append(new_output('error', ename='CellError', evalue=stderr or 'the cell failed', traceback=[]))
        sys.stderr.write('[notebook] cell %s failed:\n%s\n' % (cell_index, stderr or '(no message)'))
        time.sleep(0.5)


c = get_config()  # noqa: F821 (provided by traitlets when nbconvert loads this file)
c.ExecutePreprocessor.on_notebook_start = _on_notebook_start
c.ExecutePreprocessor.on_cell_start = _on_cell_start
c.ExecutePreprocessor.on_cell_executed = _on_cell_executed
c.ExecutePreprocessor.allow_errors = True
