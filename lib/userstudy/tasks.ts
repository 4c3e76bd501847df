import Ajv, { type ErrorObject, type ValidateFunction } from 'ajv';
import * as fs from 'fs';
import * as path from 'path';
import { writeFileAtomic, writeJsonAtomic } from '../util/atomic';
import { UserError } from '../util/errors';

/**
 * Task sets of user studies. A study writes `<out>/<study>/user-study/tasks.json` and the PNG images its tasks show,
 * in that folder; `tessera serve` serves every task set under `<out>`, and `tessera user-study analyze` reads them back.
 *
 * tasks.json: `{ "study": "<folder name>", "title"?: "...", "tasks": [Task, ...] }`.
 */

/** The answer field kinds: an enum of strings, a bounded integer, or a short string. */
export type Field =
  | { type: 'enum'; values: string[]; label?: string; optional?: boolean }
  | { type: 'integer'; min: number; max: number; label?: string; optional?: boolean }
  | { type: 'string'; maxLength: number; label?: string; optional?: boolean };

/**
 * One task: what a participant sees (prompt, images, a form of `fields`) and what the analysis needs (`meta`, never
 * sent to participants, e.g. which method made each image of an A/B pair).
 */
export interface Task {
  /** Unique within its task set: letters, digits, '-', '_', '.'. */
  id: string;
  /** Which analysis reads its answers (lib/userstudy/analysis.ts: "ab", "summary"; any other kind gets counts). */
  kind: string;
  prompt: string;
  /** PNG paths relative to the task-set folder, shown in this order. */
  images: string[];
  fields: Record<string, Field>;
  meta?: Record<string, unknown>;
}

export interface TaskSetFile {
  study: string;
  title?: string;
  tasks: Task[];
}

/** A loaded task set: the file's content plus where it lives and one answer validator per task. */
export interface TaskSet extends TaskSetFile {
  /** The folder holding tasks.json and the images (real path, symlinks resolved). */
  dir: string;
  byId: Map<string, Task>;
  validators: Map<string, ValidateFunction>;
}

/** An answer as the store keeps it and the analysis reads it; simulated annotators produce the same shape. */
export interface Answer {
  participant: string;
  study: string;
  task: string;
  answer: Record<string, string | number>;
}

export const TASKS_FILE = 'tasks.json';
export const USER_STUDY_DIR = 'user-study';
const ID_PATTERN = '^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$';
/** Longest prompt and longest string answer a task may declare (keeps request bodies and the database small). */
export const MAX_PROMPT = 2000;
export const MAX_STRING_ANSWER = 500;

const labelled = { label: { type: 'string', maxLength: 200 }, optional: { type: 'boolean' } };
const FIELD_SCHEMA = {
  oneOf: [
    {
      type: 'object',
      required: ['type', 'values'],
      additionalProperties: false,
      properties: {
        type: { const: 'enum' },
        values: { type: 'array', minItems: 2, maxItems: 20, uniqueItems: true, items: { type: 'string', minLength: 1, maxLength: 100 } },
        ...labelled,
      },
    },
    {
      type: 'object',
      required: ['type', 'min', 'max'],
      additionalProperties: false,
      properties: { type: { const: 'integer' }, min: { type: 'integer' }, max: { type: 'integer' }, ...labelled },
    },
    {
      type: 'object',
      required: ['type', 'maxLength'],
      additionalProperties: false,
      properties: { type: { const: 'string' }, maxLength: { type: 'integer', minimum: 1, maximum: MAX_STRING_ANSWER }, ...labelled },
    },
  ],
};

/** JSON schema of tasks.json. */
export const TASK_SET_SCHEMA = {
  type: 'object',
  required: ['study', 'tasks'],
  additionalProperties: false,
  properties: {
    study: { type: 'string', pattern: ID_PATTERN },
    title: { type: 'string', maxLength: 200 },
    tasks: {
      type: 'array',
      minItems: 1,
      items: {
        type: 'object',
        required: ['id', 'kind', 'prompt', 'images', 'fields'],
        additionalProperties: false,
        properties: {
          id: { type: 'string', pattern: ID_PATTERN },
          kind: { type: 'string', pattern: '^[a-z][a-z0-9-]{0,39}$' },
          prompt: { type: 'string', minLength: 1, maxLength: MAX_PROMPT },
          images: { type: 'array', maxItems: 50, items: { type: 'string', minLength: 1, maxLength: 300 } },
          fields: {
            type: 'object',
            minProperties: 1,
            maxProperties: 20,
            propertyNames: { pattern: '^[a-z][a-zA-Z0-9_]{0,39}$' },
            additionalProperties: FIELD_SCHEMA,
          },
          meta: { type: 'object' },
        },
      },
    },
  },
} as const;

// verbose: errors carry the offending value, so a message can say what was found.
const ajv = new Ajv({ allErrors: false, strict: true, verbose: true });
const validateTaskSetFile = ajv.compile(TASK_SET_SCHEMA);

/** "tasks/2/fields/name: must be ..." from an ajv error, naming the offending path and the found value when short. */
export function describeAjvError(e: ErrorObject, root: string): string {
  const where = `${root}${e.instancePath.replace(/^\//, '.').replace(/\//g, '.')}`;
  if (e.keyword === 'additionalProperties') return `${where}: unknown field "${String(e.params.additionalProperty)}"`;
  if (e.keyword === 'required') return `${where}: missing field "${String(e.params.missingProperty)}"`;
  const data = JSON.stringify(e.data);
  const found = e.data !== null && typeof e.data !== 'object' && data !== undefined && data.length <= 60 ? ` (found ${data})` : '';
  if (e.keyword === 'enum')
    return `${where}: must be one of ${(e.params.allowedValues as unknown[]).map((v) => JSON.stringify(v)).join(', ')}${found}`;
  return `${where}: ${e.message ?? e.keyword}${found}`;
}

/** The JSON schema an answer to `task` must match: every field (unless optional) and nothing else. */
export function answerSchema(task: Task): Record<string, unknown> {
  const properties: Record<string, unknown> = {};
  for (const [name, f] of Object.entries(task.fields)) {
    if (f.type === 'enum') properties[name] = { type: 'string', enum: f.values };
    else if (f.type === 'integer') properties[name] = { type: 'integer', minimum: f.min, maximum: f.max };
    else properties[name] = { type: 'string', maxLength: f.maxLength };
  }
  const required = Object.entries(task.fields)
    .filter(([, f]) => !f.optional)
    .map(([n]) => n);
  return { type: 'object', properties, required, additionalProperties: false };
}

/**
 * Resolves `rel` (a path from tasks.json or a URL) inside `dir` (a real path) to the real path of a regular file, or
 * returns why not: absolute paths, `..` segments, backslashes and symlinks leading outside `dir` are refused.
 */
export function resolveInside(dir: string, rel: string): { file: string } | { refused: string } {
  if (rel.includes('\0') || rel.includes('\\')) return { refused: 'contains a NUL or backslash' };
  if (path.isAbsolute(rel) || rel.startsWith('/')) return { refused: 'is absolute' };
  if (rel.split('/').some((s) => s === '..' || s === '.' || s === '')) return { refused: "has an empty, '.' or '..' segment" };
  let real: string;
  try {
    real = fs.realpathSync(path.join(dir, rel));
  } catch {
    return { refused: 'does not exist' };
  }
  if (!real.startsWith(dir + path.sep)) return { refused: `leads outside ${dir} (through a symlink)` };
  if (!fs.statSync(real).isFile()) return { refused: 'is not a regular file' };
  return { file: real };
}

/**
 * Reads and checks one task set: the file's schema, unique task ids, field bounds, and every image a PNG inside the
 * folder. Throws a UserError naming the file and the problem.
 */
export function loadTaskSet(file: string): TaskSet {
  const where = path.resolve(file);
  let parsed: unknown;
  try {
    parsed = JSON.parse(fs.readFileSync(where, 'utf8'));
  } catch (err) {
    throw new UserError(`task set ${where}: cannot read it as JSON (${(err as Error).message}); rewrite it with the study's writeTaskSet`);
  }
  if (!validateTaskSetFile(parsed)) {
    throw new UserError(
      `task set ${where}: ${describeAjvError(validateTaskSetFile.errors![0], 'tasks.json')}; see lib/userstudy/tasks.ts for the format`,
    );
  }
  const set = parsed as unknown as TaskSetFile;
  const dir = fs.realpathSync(path.dirname(where));
  const folderStudy = path.basename(path.dirname(dir));
  if (path.basename(dir) === USER_STUDY_DIR && set.study !== folderStudy) {
    throw new UserError(`task set ${where}: "study" is "${set.study}" but the folder is ${folderStudy}/${USER_STUDY_DIR}; make them equal`);
  }
  const byId = new Map<string, Task>();
  const validators = new Map<string, ValidateFunction>();
  for (const task of set.tasks) {
    if (byId.has(task.id)) throw new UserError(`task set ${where}: task id "${task.id}" appears twice; task ids must be unique`);
    for (const [name, f] of Object.entries(task.fields)) {
      if (f.type === 'integer' && f.min > f.max) {
        throw new UserError(`task set ${where}: task ${task.id} field ${name} has min ${f.min} > max ${f.max}`);
      }
    }
    for (const image of task.images) {
      const r = resolveInside(dir, image);
      if ('refused' in r)
        throw new UserError(`task set ${where}: task ${task.id} image "${image}" ${r.refused}; images must be files in ${dir}`);
      if (!image.toLowerCase().endsWith('.png')) throw new UserError(`task set ${where}: task ${task.id} image "${image}" is not a .png`);
    }
    byId.set(task.id, task);
    validators.set(task.id, ajv.compile(answerSchema(task)));
  }
  return { ...set, dir, byId, validators };
}

/** Every `<out>/<study>/user-study/tasks.json`, loaded, in study order. */
export function findTaskSets(out: string): TaskSet[] {
  if (!fs.existsSync(out)) return [];
  return fs
    .readdirSync(out, { withFileTypes: true })
    .filter((d) => d.isDirectory() && fs.existsSync(path.join(out, d.name, USER_STUDY_DIR, TASKS_FILE)))
    .map((d) => d.name)
    .sort()
    .map((study) => loadTaskSet(path.join(out, study, USER_STUDY_DIR, TASKS_FILE)));
}

/**
 * Writes a study's task set: each image (PNG bytes) under its relative name, then tasks.json (atomically, last, so
 * a reader never sees tasks that reference missing images). `studyOut` is the study's folder (<out>/<study>). The
 * result is loaded back, so a malformed set fails here, in the study, not in front of participants.
 */
export function writeTaskSet(studyOut: string, set: TaskSetFile, images: ReadonlyMap<string, Uint8Array>): TaskSet {
  const dir = path.join(studyOut, USER_STUDY_DIR);
  fs.mkdirSync(dir, { recursive: true });
  for (const [rel, png] of images) {
    if (path.isAbsolute(rel) || rel.split('/').some((s) => s === '..' || s === '')) {
      throw new Error(`writeTaskSet: image name "${rel}" must be a relative path without '..'`);
    }
    fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
    writeFileAtomic(path.join(dir, rel), png);
  }
  writeJsonAtomic(path.join(dir, TASKS_FILE), set);
  removeStaleImages(dir, images);
  return loadTaskSet(path.join(dir, TASKS_FILE));
}

/**
 * Deletes the PNGs under `dir` that the new set does not name: a rerun with fewer or other summaries would otherwise
 * leave the last run's images beside it (served to nobody, but shipped with the figures as if they were results).
 * Only PNGs: the answers database and other files in the folder are never touched. Runs after tasks.json is replaced,
 * so the old tasks never point at a deleted image.
 */
function removeStaleImages(dir: string, keep: ReadonlyMap<string, Uint8Array>): void {
  for (const e of fs.readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (!e.isFile() || !e.name.endsWith('.png')) continue;
    const file = path.join(e.parentPath ?? e.path, e.name);
    const rel = path.relative(dir, file).split(path.sep).join('/');
    if (!keep.has(rel)) fs.rmSync(file);
  }
}
