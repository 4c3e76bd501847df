import Ajv from 'ajv';
import { randomBytes, timingSafeEqual } from 'crypto';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import * as fs from 'fs';
import type { AddressInfo } from 'net';
import * as path from 'path';
import { tableCsv } from '../plot/table';
import { Rng } from '../util/rng';
import { DuplicateAnswer, ResponseStore } from './store';
import { type Answer, describeAjvError, resolveInside, type TaskSet } from './tasks';

/**
 * The user-study web app (`tessera serve`): participant pages and a JSON API over the task sets and the response
 * store. Routes (the contract of issue 12):
 *   POST /api/participants                 -> 201 { participant }
 *   GET  /api/tasks?participant=<token>    -> 200 { tasks: [{ id, study, kind, prompt, images, fields, answered }] }
 *   POST /api/responses { participant, study, task, answer } -> 201 { id } once durable; 400 { error }; 409 { error }
 *   GET  /api/responses.csv  (Authorization: Bearer <admin token>) -> text/csv; 401 without the token
 * plus the pages (/, /admin, /static/<file>) and the task images (/images/<study>/<path>).
 */

export interface ServerOptions {
  taskSets: TaskSet[];
  store: ResponseStore;
  adminToken: string;
  /** Largest request body in bytes (default 16 KiB: an answer is a few short fields). */
  bodyLimit?: number;
}

/** The participant and admin pages: file name -> content type. Nothing else under public/ is served. */
const PUBLIC_FILES: Record<string, string> = {
  'index.html': 'text/html; charset=utf-8',
  'admin.html': 'text/html; charset=utf-8',
  'app.js': 'text/javascript; charset=utf-8',
  'admin.js': 'text/javascript; charset=utf-8',
  'style.css': 'text/css; charset=utf-8',
};
export const PUBLIC_DIR = path.join(__dirname, 'public');

/** Scripts and styles from this origin only, no inline script: a stored answer can never run as code. */
const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self'",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; '),
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
};

const ENVELOPE_SCHEMA = {
  type: 'object',
  required: ['participant', 'study', 'task', 'answer'],
  additionalProperties: false,
  properties: {
    participant: { type: 'string', maxLength: 100 },
    study: { type: 'string', maxLength: 100 },
    task: { type: 'string', maxLength: 100 },
    answer: { type: 'object' },
  },
};

/** An HTTP error with a status and the `{ error }` message the API returns. */
class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    message: string,
  ) {
    super(message);
  }
}

/** A random, unguessable token (128 bits for participants, 256 for the admin), URL-safe. */
export function newToken(bytes = 16): string {
  return randomBytes(bytes).toString('base64url');
}

/** The task order a participant sees: a permutation seeded by their token, so a reload shows the same order. */
export function taskOrder<T>(items: readonly T[], participant: string): T[] {
  return new Rng(`task-order:${participant}`).shuffle([...items]);
}

function sameToken(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

/** Builds the fastify app (not listening yet: call `app.listen`). */
export function buildApp(opts: ServerOptions): FastifyInstance {
  const { store, adminToken } = opts;
  const sets = new Map(opts.taskSets.map((s) => [s.study, s]));
  const images = new Map(opts.taskSets.map((s) => [s.study, new Set(s.tasks.flatMap((t) => t.images))]));
  const validateEnvelope = new Ajv({ allErrors: false, verbose: true }).compile(ENVELOPE_SCHEMA);
  const app = Fastify({ logger: false, bodyLimit: opts.bodyLimit ?? 16 * 1024 });

  app.addHook('onSend', async (_req, reply, payload) => {
    for (const [k, v] of Object.entries(SECURITY_HEADERS)) reply.header(k, v);
    return payload;
  });
  // Every error, ours or fastify's (bad JSON 400, body too large 413, unsupported type 415), as { error }.
  app.setErrorHandler((err: Error & { statusCode?: number }, _req, reply) => {
    const status = err.statusCode && err.statusCode >= 400 && err.statusCode < 600 ? err.statusCode : 500;
    void reply.code(status).send({ error: status === 500 ? 'internal error' : err.message });
    if (status === 500) console.error(err);
  });
  app.setNotFoundHandler((req, reply) => {
    void reply.code(404).send({ error: `no such resource: ${req.method} ${req.url.split('?')[0]}` });
  });

  const servePublic = (name: string) => async (_req: FastifyRequest, reply: FastifyReply) => {
    reply.type(PUBLIC_FILES[name]);
    return fs.readFileSync(path.join(PUBLIC_DIR, name));
  };
  app.get('/', servePublic('index.html'));
  app.get('/admin', servePublic('admin.html'));
  app.get<{ Params: { file: string } }>('/static/:file', async (req, reply) => {
    if (!Object.hasOwn(PUBLIC_FILES, req.params.file)) throw new HttpError(404, `no such file: ${req.params.file}`);
    return servePublic(req.params.file)(req, reply);
  });

  // Only images that a loaded task lists, and only when they still resolve to a file inside the set's folder.
  app.get<{ Params: { study: string; '*': string } }>('/images/:study/*', async (req, reply) => {
    const set = sets.get(req.params.study);
    const rel = req.params['*'];
    if (!set || !images.get(set.study)!.has(rel)) throw new HttpError(404, 'no such image');
    const r = resolveInside(set.dir, rel);
    if ('refused' in r) throw new HttpError(404, 'no such image');
    reply.type('image/png').header('cache-control', 'no-cache');
    return fs.readFileSync(r.file);
  });

  const requireParticipant = (token: unknown, field: string): string => {
    if (typeof token !== 'string' || !token) throw new HttpError(400, `${field}: missing; create one with POST /api/participants`);
    if (!store.isParticipant(token)) throw new HttpError(400, `${field}: unknown participant; create one with POST /api/participants`);
    return token;
  };

  app.post('/api/participants', async (_req, reply) => {
    const participant = newToken();
    store.addParticipant(participant);
    return reply.code(201).send({ participant });
  });

  app.get<{ Querystring: Record<string, unknown> }>('/api/tasks', async (req) => {
    const participant = requireParticipant(req.query.participant, 'participant');
    const answered = store.answered(participant);
    const all = opts.taskSets.flatMap((s) =>
      s.tasks.map((t) => ({
        id: t.id,
        study: s.study,
        kind: t.kind,
        prompt: t.prompt,
        images: t.images.map((i) => `/images/${encodeURIComponent(s.study)}/${i.split('/').map(encodeURIComponent).join('/')}`),
        fields: t.fields,
        answered: answered.has(`${s.study}/${t.id}`),
      })),
    );
    return { tasks: taskOrder(all, participant) };
  });

  app.post('/api/responses', async (req, reply) => {
    const body = req.body;
    if (!validateEnvelope(body)) throw new HttpError(400, describeAjvError(validateEnvelope.errors![0], 'body'));
    const { participant, study, task, answer } = body as unknown as Answer;
    const set = sets.get(study);
    if (!set) throw new HttpError(400, `study: unknown study "${study}"; known: ${[...sets.keys()].join(', ')}`);
    const validate = set.validators.get(task);
    if (!validate) throw new HttpError(400, `task: unknown task "${task}" in study ${study}`);
    requireParticipant(participant, 'participant');
    if (!validate(answer)) throw new HttpError(400, describeAjvError(validate.errors![0], 'answer'));
    try {
      // Synchronous and fsync'd (WAL, synchronous=FULL): the 201 below is sent only once the answer is on disk.
      const id = store.addResponse({ participant, study, task, answer });
      return reply.code(201).send({ id });
    } catch (err) {
      if (err instanceof DuplicateAnswer) throw new HttpError(409, err.message);
      throw err;
    }
  });

  app.get('/api/responses.csv', async (req, reply) => {
    const auth = req.headers.authorization ?? '';
    const m = /^Bearer (\S+)$/.exec(auth);
    if (!m || !sameToken(m[1], adminToken)) {
      reply.header('www-authenticate', 'Bearer');
      throw new HttpError(401, 'admin token required: send Authorization: Bearer <token from the admin-token file>');
    }
    const rows = store.responses().map((r) => ({
      id: r.id,
      received: r.received,
      participant: r.participant,
      study: r.study,
      task: r.task,
      kind: sets.get(r.study)?.byId.get(r.task)?.kind ?? '',
      // One JSON column: lossless for every task's fields, and a cell starting with '{' is never a spreadsheet formula.
      answer: JSON.stringify(r.answer),
    }));
    reply.type('text/csv; charset=utf-8').header('content-disposition', 'attachment; filename="responses.csv"');
    return rows.length ? tableCsv(rows) : 'id,received,participant,study,task,kind,answer\n';
  });
  return app;
}

/**
 * The admin token kept in `<db folder>/admin-token` (mode 600): read when the file exists (its mode tightened to
 * 600), else created. Returns the token and the file.
 */
export function adminToken(dbFile: string): { token: string; file: string } {
  const file = path.join(path.dirname(path.resolve(dbFile)), 'admin-token');
  fs.mkdirSync(path.dirname(file), { recursive: true });
  if (fs.existsSync(file)) {
    fs.chmodSync(file, 0o600);
    const token = fs.readFileSync(file, 'utf8').trim();
    if (token.length >= 20) return { token, file };
  }
  const token = newToken(32);
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, token + '\n', { mode: 0o600 });
  fs.renameSync(tmp, file);
  return { token, file };
}

export interface RunningServer {
  app: FastifyInstance;
  url: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on host:port (port 0 picks a free one); closing stops the server, then closes the store. */
export async function listen(opts: ServerOptions & { host: string; port: number }): Promise<RunningServer> {
  const app = buildApp(opts);
  await app.listen({ host: opts.host, port: opts.port });
  const addr = app.server.address() as AddressInfo;
  const shown = addr.family === 'IPv6' ? `[${addr.address}]` : addr.address;
  return {
    app,
    url: `http://${shown}:${addr.port}/`,
    host: addr.address,
    port: addr.port,
    close: async () => {
      await app.close();
      opts.store.close();
    },
  };
}
