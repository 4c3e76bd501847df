import type { FastifyInstance } from 'fastify';
import * as fs from 'fs';
import * as path from 'path';
import { adminToken, buildApp, taskOrder } from '../../lib/userstudy/server';
import { ResponseStore } from '../../lib/userstudy/store';
import type { TaskSet } from '../../lib/userstudy/tasks';
import { demoOut, tmpDir, validAnswer } from './helpers';

/** The HTTP contract of issue 12, through fastify's inject (no socket): every route and every error case. */

let app: FastifyInstance;
let store: ResponseStore;
let set: TaskSet;
let out: string;
const TOKEN = 'admin-token-for-tests-0123456789';

beforeAll(async () => {
  ({ out, set } = await demoOut());
  store = new ResponseStore(path.join(out, 'user-study', 'responses.sqlite'));
  app = buildApp({ taskSets: [set], store, adminToken: TOKEN });
  await app.ready();
});
afterAll(async () => {
  await app.close();
  store.close();
});

async function participant(): Promise<string> {
  const r = await app.inject({ method: 'POST', url: '/api/participants' });
  expect(r.statusCode).toBe(201);
  return r.json().participant;
}

function respond(body: unknown) {
  return app.inject({ method: 'POST', url: '/api/responses', payload: body as Record<string, unknown> });
}

describe('participants and tasks', () => {
  it('POST /api/participants gives a fresh random token (128 bits, URL-safe) each time', async () => {
    const tokens = await Promise.all([participant(), participant(), participant()]);
    expect(new Set(tokens).size).toBe(3);
    for (const t of tokens) expect(t).toMatch(/^[A-Za-z0-9_-]{22}$/);
  });

  it('GET /api/tasks: every task with the contract fields, image URLs, a per-participant order stable across reloads', async () => {
    const p = await participant();
    const r = await app.inject({ url: `/api/tasks?participant=${p}` });
    expect(r.statusCode).toBe(200);
    const tasks = r.json().tasks as Array<Record<string, unknown>>;
    expect(tasks.map((t) => t.id).sort()).toEqual(['ab-1', 'ab-2', 'summary-1', 'summary-2']);
    const ab1 = tasks.find((t) => t.id === 'ab-1')!;
    expect(ab1).toEqual({
      id: 'ab-1',
      study: 'smoke',
      kind: 'ab',
      prompt: 'Which image shows its stripes more clearly?',
      images: ['/images/smoke/ab-1-a.png', '/images/smoke/ab-1-b.png'],
      fields: { preferred: { type: 'enum', values: ['A', 'B', 'same'], label: 'Clearer stripes' } },
      answered: false,
    });
    expect(JSON.stringify(tasks)).not.toContain('meta'); // which arm is which never reaches participants
    const again = (await app.inject({ url: `/api/tasks?participant=${p}` })).json().tasks as Array<{ id: string }>;
    expect(again.map((t) => t.id)).toEqual(tasks.map((t) => t.id));
    // Orders differ between participants: of 24 permutations, 20 tokens do not all draw the same one.
    const ids = ['a', 'b', 'c', 'd'];
    const orders = new Set(Array.from({ length: 20 }, (_, i) => taskOrder(ids, `participant-${i}`).join('')));
    expect(orders.size).toBeGreaterThan(5);
  });

  it('GET /api/tasks refuses a missing or unknown participant with 400', async () => {
    const missing = await app.inject({ url: '/api/tasks' });
    expect(missing.statusCode).toBe(400);
    expect(missing.json().error).toMatch(/^participant: missing/);
    const unknown = await app.inject({ url: '/api/tasks?participant=nobody' });
    expect(unknown.statusCode).toBe(400);
    expect(unknown.json().error).toMatch(/^participant: unknown participant/);
  });
});

describe('POST /api/responses', () => {
  it('201 { id } for a valid answer, marks the task answered, 409 for a second answer to the same task', async () => {
    const p = await participant();
    const r = await respond({ participant: p, study: 'smoke', task: 'summary-1', answer: validAnswer('summary-1') });
    expect(r.statusCode).toBe(201);
    expect(r.json()).toEqual({ id: expect.any(Number) });
    const stored = store.responses().find((s) => s.id === r.json().id)!;
    expect(stored).toMatchObject({ participant: p, study: 'smoke', task: 'summary-1', answer: validAnswer('summary-1') });
    const tasks = (await app.inject({ url: `/api/tasks?participant=${p}` })).json().tasks as Array<{ id: string; answered: boolean }>;
    expect(tasks.filter((t) => t.answered).map((t) => t.id)).toEqual(['summary-1']);
    const again = await respond({
      participant: p,
      study: 'smoke',
      task: 'summary-1',
      answer: { ...validAnswer('summary-1'), name: 'other' },
    });
    expect(again.statusCode).toBe(409);
    expect(again.json().error).toContain('already answered task summary-1');
  });

  it.each([
    ['an unknown study', { study: 'nope' }, 'study: unknown study "nope"; known: smoke'],
    ['an unknown task', { task: 'ab-99' }, 'task: unknown task "ab-99" in study smoke'],
    ['an unknown participant', { participant: 'someone' }, 'participant: unknown participant'],
    ['a missing participant', { participant: undefined }, 'body: missing field "participant"'],
    ['a missing answer', { answer: undefined }, 'body: missing field "answer"'],
    ['an answer that is not an object', { answer: 'A' }, 'body.answer: must be object'],
    ['an extra envelope field', { extra: 1 }, 'body: unknown field "extra"'],
    ['a task id that is not a string', { task: 7 }, 'body.task: must be string (found 7)'],
    [
      'an enum value not in the list',
      { answer: { same: 'maybe', name: 'x', confidence: 3 } },
      'answer.same: must be one of "yes", "no" (found "maybe")',
    ],
    ['an integer above its max', { answer: { same: 'yes', name: 'x', confidence: 6 } }, 'answer.confidence: must be <= 5 (found 6)'],
    ['an integer below its min', { answer: { same: 'yes', name: 'x', confidence: 0 } }, 'answer.confidence: must be >= 1 (found 0)'],
    ['a non-integer', { answer: { same: 'yes', name: 'x', confidence: 2.5 } }, 'answer.confidence: must be integer (found 2.5)'],
    ['a number as a string', { answer: { same: 'yes', name: 'x', confidence: '3' } }, 'answer.confidence: must be integer (found "3")'],
    [
      'a string over its maxLength',
      { answer: { same: 'yes', name: 'x'.repeat(41), confidence: 3 } },
      'answer.name: must NOT have more than 40 characters',
    ],
    ['a missing answer field', { answer: { same: 'yes', confidence: 3 } }, 'answer: missing field "name"'],
    ['an unknown answer field', { answer: { same: 'yes', name: 'x', confidence: 3, mood: 'ok' } }, 'answer: unknown field "mood"'],
  ])('400 naming the bad field for %s', async (_what, change, message) => {
    const p = await participant();
    const body: Record<string, unknown> = {
      participant: p,
      study: 'smoke',
      task: 'summary-2',
      answer: validAnswer('summary-2'),
      ...change,
    };
    for (const k of Object.keys(body)) if (body[k] === undefined) delete body[k];
    const before = store.responses().length;
    const r = await respond(body);
    expect(r.statusCode).toBe(400);
    expect(r.json()).toEqual({ error: expect.stringContaining(message) });
    expect(store.responses().length).toBe(before);
  });

  it('400 for malformed JSON, 400 for plain text, 415 for other types, 413 for a body over the cap', async () => {
    const raw = (type: string, payload: string) =>
      app.inject({ method: 'POST', url: '/api/responses', headers: { 'content-type': type }, payload });
    const bad = await raw('application/json', '{"participant":');
    expect(bad.statusCode).toBe(400);
    expect(bad.json().error).toMatch(/not valid JSON/);
    const text = await raw('text/plain', 'hello');
    expect(text.statusCode).toBe(400);
    expect(text.json().error).toBe('body: must be object (found "hello")');
    const xml = await raw('application/xml', '<a/>');
    expect(xml.statusCode).toBe(415);
    expect(xml.json()).toHaveProperty('error');
    const p = await participant();
    const big = await respond({
      participant: p,
      study: 'smoke',
      task: 'summary-2',
      answer: { same: 'yes', name: 'x'.repeat(20000), confidence: 1 },
    });
    expect(big.statusCode).toBe(413);
    expect(big.json()).toHaveProperty('error');
  });
});

describe('admin CSV', () => {
  it('401 without the token or with a wrong one; every stored answer with it', async () => {
    expect((await app.inject({ url: '/api/responses.csv' })).statusCode).toBe(401);
    const wrong = await app.inject({ url: '/api/responses.csv', headers: { authorization: `Bearer ${TOKEN}x` } });
    expect(wrong.statusCode).toBe(401);
    expect(wrong.headers['www-authenticate']).toBe('Bearer');
    expect((await app.inject({ url: '/api/responses.csv', headers: { authorization: TOKEN } })).statusCode).toBe(401);
    const p = await participant();
    await respond({
      participant: p,
      study: 'smoke',
      task: 'summary-2',
      answer: { same: 'no', name: '=HYPERLINK("x"), "quoted"', confidence: 2 },
    });
    const ok = await app.inject({ url: '/api/responses.csv', headers: { authorization: `Bearer ${TOKEN}` } });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toMatch(/^text\/csv/);
    const lines = ok.body.trim().split('\n');
    expect(lines[0]).toBe('id,received,participant,study,task,kind,answer');
    expect(lines.length).toBe(store.responses().length + 1);
    // The answer column is JSON, CSV-quoted: a formula-looking answer stays inside a cell that starts with '{'.
    expect(ok.body).toContain(
      `${p},smoke,summary-2,summary,"{""same"":""no"",""name"":""=HYPERLINK(\\""x\\""), \\""quoted\\"""",""confidence"":2}"`,
    );
  });

  it('keeps the admin token in <db folder>/admin-token with mode 600, and reuses it', () => {
    const dir = tmpDir();
    const db = path.join(dir, 'sub', 'r.sqlite');
    const first = adminToken(db);
    expect(first.file).toBe(path.join(dir, 'sub', 'admin-token'));
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    expect(first.token.length).toBeGreaterThanOrEqual(40);
    fs.chmodSync(first.file, 0o644);
    expect(adminToken(db).token).toBe(first.token);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
  });
});

describe('files served', () => {
  it('the pages, with a content-security policy that forbids inline script', async () => {
    for (const url of ['/', '/admin', '/static/app.js', '/static/admin.js', '/static/style.css']) {
      const r = await app.inject({ url });
      expect(r.statusCode).toBe(200);
      expect(r.headers['content-security-policy']).toContain("script-src 'self'");
      expect(r.headers['x-content-type-options']).toBe('nosniff');
    }
    expect((await app.inject({ url: '/static/server.ts' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/static/..%2Fserver.ts' })).statusCode).toBe(404);
  });

  it('a listed image; nothing else: .., encoded .., absolute, unlisted, other studies, swapped-in symlinks', async () => {
    const ok = await app.inject({ url: '/images/smoke/ab-1-a.png' });
    expect(ok.statusCode).toBe(200);
    expect(ok.headers['content-type']).toBe('image/png');
    expect(ok.rawPayload).toEqual(fs.readFileSync(path.join(set.dir, 'ab-1-a.png')));
    fs.writeFileSync(path.join(set.dir, 'unlisted.png'), 'x');
    for (const url of [
      '/images/smoke/../../../../../../etc/passwd',
      '/images/smoke/..%2F..%2F..%2Fpackage.json',
      '/images/smoke/%2e%2e/%2e%2e/tasks.json',
      '/images/smoke//etc/passwd',
      '/images/smoke/%2Fetc%2Fpasswd',
      '/images/smoke/tasks.json',
      '/images/smoke/unlisted.png',
      '/images/other/ab-1-a.png',
      '/images/..%2Fsmoke/ab-1-a.png',
    ]) {
      const r = await app.inject({ url });
      expect([url, r.statusCode]).toEqual([url, 404]);
      expect(r.body).not.toContain('root:');
    }
    // A listed image replaced by a symlink to a file outside the folder after loading: refused at request time.
    const outside = path.join(tmpDir(), 'secret.png');
    fs.writeFileSync(outside, 'secret');
    const image = path.join(set.dir, 'ab-2-b.png');
    const saved = fs.readFileSync(image);
    fs.rmSync(image);
    fs.symlinkSync(outside, image);
    try {
      const r = await app.inject({ url: '/images/smoke/ab-2-b.png' });
      expect(r.statusCode).toBe(404);
      expect(r.body).not.toContain('secret');
    } finally {
      fs.rmSync(image);
      fs.writeFileSync(image, saved);
    }
  });
});
