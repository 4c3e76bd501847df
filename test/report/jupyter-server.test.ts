import { ChildProcess, spawn, spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import WebSocket from 'ws';
import { PLOTLY_MIME } from '../../lib/plot/show';
import type { Notebook } from '../../lib/report/html';
import { joinText } from '../../lib/report/html';

/**
 * The smoke notebook through a real Jupyter server with the project's kernelspec (.jupyter/, as `npm run lab` uses it):
 * REST to start a session, the kernel's websocket to run every cell, as JupyterLab and Notebook 7 do. Skipped where no
 * Jupyter server is installed (apt-get install python3-jupyter-server, or JupyterLab from pip).
 */
const ROOT = path.resolve(__dirname, '..', '..');
const KERNELSPEC = path.join(ROOT, '.jupyter', 'kernels', 'tslab', 'kernel.json');
const hasServer = spawnSync('jupyter', ['server', '--version'], { stdio: 'ignore' }).status === 0 && fs.existsSync(KERNELSPEC);

interface Message {
  header: { msg_id: string; msg_type: string };
  parent_header: { msg_id?: string };
  channel: string;
  content: Record<string, unknown>;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

(hasServer ? describe : describe.skip)('the smoke notebook in a Jupyter server with the project kernelspec', () => {
  let server: ChildProcess;
  let base: string;
  let out: string;
  let jupyterDirs: string;
  const token = crypto.randomBytes(12).toString('hex');
  const api = async (method: string, route: string, body?: unknown) => {
    const r = await fetch(`${base}${route}`, {
      method,
      headers: { Authorization: `token ${token}`, 'Content-Type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!r.ok) throw new Error(`${method} ${route}: ${r.status} ${await r.text()}`);
    return r.status === 204 ? null : r.json();
  };

  beforeAll(async () => {
    const port = await freePort();
    base = `http://127.0.0.1:${port}`;
    out = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-jupyter-out-'));
    jupyterDirs = fs.mkdtempSync(path.join(os.tmpdir(), 'tessera-jupyter-'));
    const args = [
      'server',
      `--ServerApp.port=${port}`,
      '--ServerApp.ip=127.0.0.1',
      `--ServerApp.token=${token}`,
      '--ServerApp.open_browser=False',
    ];
    if (process.getuid?.() === 0) args.push('--allow-root');
    server = spawn('jupyter', args, {
      cwd: ROOT,
      stdio: 'ignore',
      env: {
        ...process.env,
        JUPYTER_PATH: path.join(ROOT, '.jupyter'),
        JUPYTER_CONFIG_DIR: path.join(jupyterDirs, 'config'),
        JUPYTER_RUNTIME_DIR: path.join(jupyterDirs, 'runtime'),
        // the kernel inherits these: the notebook saves into a temporary folder, not into figures/
        TESSERA_OUT: out,
        TESSERA_PROGRESS_FILE: '',
      },
    });
    for (let i = 0; ; i++) {
      try {
        await api('GET', '/api/status');
        break;
      } catch (err) {
        if (i > 120) throw err;
        await new Promise((r) => setTimeout(r, 500));
      }
    }
  }, 120_000);

  afterAll(() => {
    server?.kill('SIGTERM');
    fs.rmSync(out, { recursive: true, force: true });
    fs.rmSync(jupyterDirs, { recursive: true, force: true });
  });

  it('lists the kernel, runs every cell: engine on stdout, live progress, figures without the inlined bundle, claims', async () => {
    const specs = (await api('GET', '/api/kernelspecs')) as { kernelspecs: Record<string, unknown> };
    expect(Object.keys(specs.kernelspecs)).toContain('tslab');
    const nbPath = 'notebooks/smoke.ipynb';
    const nb = JSON.parse(fs.readFileSync(path.join(ROOT, nbPath), 'utf8')) as Notebook;
    const session = (await api('POST', '/api/sessions', {
      path: nbPath,
      type: 'notebook',
      name: 'smoke.ipynb',
      kernel: { name: 'tslab' },
    })) as {
      id: string;
      kernel: { id: string };
    };
    const ws = new WebSocket(`${base.replace('http', 'ws')}/api/kernels/${session.kernel.id}/channels?token=${token}`);
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const replies = new Map<string, (m: Message) => void>();
    const iopub: Message[] = [];
    ws.on('message', (data) => {
      const m = JSON.parse(data.toString()) as Message;
      if (m.channel === 'iopub') iopub.push(m);
      const id = m.parent_header?.msg_id;
      if (id && m.channel === 'iopub' && m.header.msg_type === 'status' && m.content.execution_state === 'idle') replies.get(id)?.(m);
      if (id && m.channel === 'shell') replies.get(`${id}:reply`)?.(m);
    });
    const request = async (msg_type: string, content: Record<string, unknown>) => {
      const msg_id = crypto.randomUUID();
      const idle = new Promise<Message>((r) => replies.set(msg_id, r));
      const reply = new Promise<Message>((r) => replies.set(`${msg_id}:reply`, r));
      ws.send(
        JSON.stringify({
          header: { msg_id, msg_type, username: 'test', session: session.id, version: '5.3', date: new Date().toISOString() },
          parent_header: {},
          metadata: {},
          content,
          channel: 'shell',
        }),
      );
      const [r] = await Promise.all([reply, idle]);
      return { reply: r, outputs: iopub.filter((m) => m.parent_header.msg_id === msg_id) };
    };
    try {
      // The notebook's metadata is what the kernel reports, so opening it in JupyterLab does not mark it modified.
      const info = await request('kernel_info_request', {});
      expect(nb.metadata.language_info).toEqual(info.reply.content.language_info);

      const streams: Record<string, string> = { stdout: '', stderr: '' };
      const displays: Array<Record<string, unknown>> = [];
      for (const cell of nb.cells.filter((c) => c.cell_type === 'code')) {
        const { reply, outputs } = await request('execute_request', {
          code: joinText(cell.source),
          silent: false,
          store_history: true,
          allow_stdin: false,
        });
        expect([reply.content.status, joinText(cell.source).slice(0, 60)]).toEqual(['ok', joinText(cell.source).slice(0, 60)]);
        for (const m of outputs) {
          if (m.header.msg_type === 'stream') streams[m.content.name as string] += m.content.text as string;
          if (m.header.msg_type === 'display_data') displays.push(m.content.data as Record<string, unknown>);
        }
      }
      expect(streams.stdout).toMatch(/engine: backend \w+/);
      expect(streams.stderr).toBe(''); // nothing in a red box
      expect(streams.stdout).toMatch(/\rsmoke: training \[#{24}\] 60\/60/);
      const figures = displays.filter((d) => d[PLOTLY_MIME]);
      expect(figures.length).toBeGreaterThan(0);
      for (const f of figures) expect((f['text/html'] as string).length).toBeLessThan(200_000); // no 4.6 MB bundle inlined
      expect(figures[0]['text/html']).toContain('src="../node_modules/plotly.js-dist-min/plotly.min.js"'); // relative to notebooks/
      expect(fs.existsSync(path.join(out, 'smoke', 'claims.json'))).toBe(true);
    } finally {
      ws.close();
      await api('DELETE', `/api/sessions/${session.id}`);
    }
  }, 600_000);
});
