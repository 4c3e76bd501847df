import { type ChildProcess, spawn, spawnSync } from 'child_process';
import * as fs from 'fs';
import * as net from 'net';
import * as os from 'os';
import * as path from 'path';
import { demoOut, ROOT, tmpDir, validAnswer } from './helpers';

/**
 * `tessera serve` as a process: the loopback default, --host, and durability (a server killed with SIGKILL while
 * answers stream in keeps every answer it acknowledged, and a restart serves on); `tessera user-study analyze` on the
 * stored answers; the commands' errors.
 */

interface Child {
  proc: ChildProcess;
  url: string;
  token: string;
  stdout: string;
}

const TESSERA = path.join(ROOT, 'bin', 'tessera.js');
const children: ChildProcess[] = [];
afterAll(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

/** Starts `tessera serve` and resolves once it printed its URL and token (the last line is the database). */
function serve(args: string[]): Promise<Child> {
  const proc = spawn(process.execPath, [TESSERA, 'serve', '--port', '0', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(proc);
  return new Promise((resolve, reject) => {
    let stdout = '';
    let stderr = '';
    proc.stderr!.on('data', (d) => (stderr += d));
    proc.stdout!.on('data', (d) => {
      stdout += d;
      if (/database: .*\n/.test(stdout)) {
        resolve({ proc, url: /participants: (\S+)/.exec(stdout)![1], token: /admin token: +(\S+)/.exec(stdout)![1], stdout });
      }
    });
    proc.on('exit', (code) => reject(new Error(`tessera serve exited with ${code}: ${stderr}`)));
  });
}

async function post(url: string, body?: unknown): Promise<{ status: number; json: Record<string, unknown> }> {
  const r = await fetch(
    url,
    body === undefined
      ? { method: 'POST' }
      : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
  );
  return { status: r.status, json: (await r.json()) as Record<string, unknown> };
}

function tessera(...args: string[]) {
  return spawnSync(process.execPath, [TESSERA, ...args], { encoding: 'utf8', cwd: ROOT });
}

function exited(proc: ChildProcess): Promise<void> {
  return proc.exitCode !== null || proc.signalCode !== null ? Promise.resolve() : new Promise((r) => proc.once('exit', () => r()));
}

/** Whether a TCP connection to host:port is accepted. */
function accepts(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    s.setTimeout(2000);
    s.once('connect', () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
    s.once('timeout', () => (s.destroy(), resolve(false)));
  });
}

describe('tessera serve', () => {
  it('binds to 127.0.0.1 by default: no other interface of this machine accepts; --host is honoured', async () => {
    const { out } = await demoOut();
    const child = await serve(['--out', out]);
    const url = new URL(child.url);
    expect(url.hostname).toBe('127.0.0.1');
    expect(child.stdout).not.toContain('warning');
    expect(await accepts('127.0.0.1', Number(url.port))).toBe(true);
    const others = Object.values(os.networkInterfaces())
      .flat()
      .filter((a) => a && a.family === 'IPv4' && !a.internal)
      .map((a) => a!.address);
    for (const address of [...others, '127.0.0.2']) expect([address, await accepts(address, Number(url.port))]).toEqual([address, false]);
    child.proc.kill('SIGTERM');
    await exited(child.proc);
    expect(child.proc.exitCode).toBe(0);
    const db = path.join(out, 'user-study', 'responses.sqlite');
    expect(fs.existsSync(db)).toBe(true);
    expect(fs.statSync(path.join(out, 'user-study', 'admin-token')).mode & 0o777).toBe(0o600);

    // --host: another loopback address quietly, a network interface (when this machine has one) with a warning.
    const host = others[0] ?? '127.0.0.2';
    const other = await serve(['--out', out, '--host', host]);
    expect(new URL(other.url).hostname).toBe(host);
    if (others.length) expect(other.stdout).toContain(`warning: listening on ${host}, not loopback`);
    else expect(other.stdout).not.toContain('warning');
    expect(other.token).toBe(child.token); // the token file is reused
    other.proc.kill('SIGTERM');
    await exited(other.proc);
  });

  it('keeps every acknowledged answer when killed with SIGKILL mid-stream, and serves on after a restart', async () => {
    const { out, set } = await demoOut();
    const db = path.join(tmpDir(), 'answers.sqlite');
    const first = await serve(['--out', out, '--db', db]);
    const participants: string[] = [];
    for (let i = 0; i < 25; i++) participants.push((await post(`${first.url}api/participants`)).json.participant as string);
    const jobs = participants.flatMap((p) => set.tasks.map((t) => ({ p, t: t.id })));
    const total = jobs.length;
    const acked: { id: number; p: string; t: string }[] = [];
    let failed = 0;
    const KILL_AFTER = 40;
    // Eight clients send answers concurrently; the server is killed the moment the 40th acknowledgement arrives,
    // with other requests in flight.
    const worker = async () => {
      for (let job = jobs.shift(); job; job = jobs.shift()) {
        try {
          const r = await post(`${first.url}api/responses`, {
            participant: job.p,
            study: 'smoke',
            task: job.t,
            answer: validAnswer(job.t),
          });
          if (r.status !== 201) throw new Error(`HTTP ${r.status} ${JSON.stringify(r.json)}`);
          acked.push({ id: r.json.id as number, ...job });
          if (acked.length === KILL_AFTER) first.proc.kill('SIGKILL');
        } catch (err) {
          if (!String(err).includes('fetch failed')) throw err;
          failed++;
        }
      }
    };
    await Promise.all(Array.from({ length: 8 }, worker));
    await exited(first.proc);
    expect(first.proc.signalCode).toBe('SIGKILL');
    expect(acked.length).toBeGreaterThanOrEqual(KILL_AFTER);
    expect(acked.length).toBeLessThan(total); // it really died mid-stream
    expect(failed).toBeGreaterThan(0);

    const second = await serve(['--out', out, '--db', db]);
    expect(second.token).toBe(first.token);
    const csv = await fetch(`${second.url}api/responses.csv`, { headers: { authorization: `Bearer ${second.token}` } });
    expect(csv.status).toBe(200);
    const rows = (await csv.text())
      .trim()
      .split('\n')
      .slice(1)
      .map((line) => line.split(','));
    const stored = new Map(rows.map((r) => [Number(r[0]), `${r[2]}/${r[4]}`]));
    for (const a of acked) expect([a.id, stored.get(a.id)]).toEqual([a.id, `${a.p}/${a.t}`]);
    // Serves on: a new answer is taken, an acknowledged one is a conflict.
    const pending = participants
      .flatMap((p) => set.tasks.map((t) => ({ p, t: t.id })))
      .find((j) => ![...stored.values()].includes(`${j.p}/${j.t}`))!;
    expect(
      (
        await post(`${second.url}api/responses`, {
          participant: pending.p,
          study: 'smoke',
          task: pending.t,
          answer: validAnswer(pending.t),
        })
      ).status,
    ).toBe(201);
    const again = acked[0];
    expect(
      (await post(`${second.url}api/responses`, { participant: again.p, study: 'smoke', task: again.t, answer: validAnswer(again.t) }))
        .status,
    ).toBe(409);
    second.proc.kill('SIGTERM');
    await exited(second.proc);

    // The stored answers feed the analysis: tables as CSV and a report page.
    const r = tessera('user-study', 'analyze', '--out', out, '--db', db);
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(r.stdout).toContain(`smoke: ${stored.size + 1} answers from`);
    const tables = path.join(out, 'smoke', 'user-study', 'tables');
    expect(fs.readdirSync(tables).sort()).toEqual([
      'ab-per-task.csv',
      'ab-preference.csv',
      'overview.csv',
      'summary-overall.csv',
      'summary-per-task.csv',
    ]);
    const overview = fs.readFileSync(path.join(tables, 'overview.csv'), 'utf8');
    const answered = (kind: string) => [...stored.values(), `${pending.p}/${pending.t}`].filter((k) => k.includes(`/${kind}-`)).length;
    expect(overview).toContain(`ab,2,${answered('ab')},`);
    expect(overview).toContain(`summary,2,${answered('summary')},`);
  });

  it('says what is wrong: no task sets, bad port, unknown flag; analyze without a database or a verb', async () => {
    const empty = tmpDir();
    const none = tessera('serve', '--out', empty, '--port', '0');
    expect(none.status).toBe(2);
    expect(none.stderr).toContain(`no task sets under ${empty} (expected <out>/<study>/user-study/tasks.json)`);
    expect(tessera('serve', '--port', '70000').stderr).toContain('--port must be at most 65535');
    expect(tessera('serve', '--hots', 'x').stderr).toContain('unknown option --hots; accepted: --out, --port, --host, --db');
    const { out } = await demoOut();
    const noDb = tessera('user-study', 'analyze', '--out', out);
    expect(noDb.status).toBe(2);
    expect(noDb.stderr).toContain('no answers database at');
    expect(tessera('user-study', 'analyse', '--out', out).stderr).toContain('expected the verb "analyze", found "analyse"');
    // A port already taken: a clear message, not a stack.
    const busy = net.createServer().listen(0, '127.0.0.1');
    await new Promise((r) => busy.once('listening', r));
    const port = (busy.address() as net.AddressInfo).port;
    const taken = tessera('serve', '--out', out, '--port', String(port));
    busy.close();
    expect(taken.status).toBe(2);
    expect(taken.stderr).toContain(`cannot listen on 127.0.0.1:${port}`);
  });
});
