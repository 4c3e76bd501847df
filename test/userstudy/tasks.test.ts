import Ajv from 'ajv';
import * as fs from 'fs';
import * as path from 'path';
import {
  answerSchema,
  findTaskSets,
  loadTaskSet,
  resolveInside,
  writeTaskSet,
  type Task,
  type TaskSetFile,
} from '../../lib/userstudy/tasks';
import { demoOut, tmpDir } from './helpers';

/** Task sets: the smoke demo set as written, and every malformed task set refused with a message naming the problem. */

const PNG = Buffer.from('89504e470d0a1a0a', 'hex');

function writeSet(set: TaskSetFile | Record<string, unknown>, files: Record<string, Buffer> = { 'a.png': PNG }): string {
  const out = tmpDir();
  const dir = path.join(out, 'demo', 'user-study');
  fs.mkdirSync(dir, { recursive: true });
  for (const [name, data] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), data);
  fs.writeFileSync(path.join(dir, 'tasks.json'), JSON.stringify(set));
  return path.join(dir, 'tasks.json');
}

const task = (over: Partial<Task> = {}): Task => ({
  id: 't1',
  kind: 'ab',
  prompt: 'Which?',
  images: ['a.png'],
  fields: { preferred: { type: 'enum', values: ['A', 'B'] } },
  ...over,
});

describe('task sets', () => {
  it('the smoke demo set: two A/B and two summary tasks whose images exist in the folder', async () => {
    const { out, set } = await demoOut();
    expect(set.study).toBe('smoke');
    expect(set.tasks.map((t) => `${t.id}:${t.kind}:${t.images.length}`)).toEqual([
      'ab-1:ab:2',
      'ab-2:ab:2',
      'summary-1:summary:3',
      'summary-2:summary:3',
    ]);
    // The clean image is on side A in one task and on side B in the other; file names do not reveal the arm.
    expect(set.tasks.slice(0, 2).map((t) => t.meta?.arms)).toEqual([
      ['clean', 'extra noise'],
      ['extra noise', 'clean'],
    ]);
    expect(set.tasks.flatMap((t) => t.images).every((i) => !/clean|noisy/.test(i))).toBe(true);
    for (const image of set.tasks.flatMap((t) => t.images)) {
      expect(fs.readFileSync(path.join(set.dir, image)).subarray(0, 8)).toEqual(PNG);
    }
    expect(findTaskSets(out).map((s) => s.study)).toEqual(['smoke']);
    expect(findTaskSets(path.join(out, 'nowhere'))).toEqual([]);
  });

  it('answer schemas: enums, integer bounds, string lengths, required and unknown fields', () => {
    const validate = new Ajv().compile(
      answerSchema(
        task({
          fields: {
            same: { type: 'enum', values: ['yes', 'no'] },
            n: { type: 'integer', min: 1, max: 5 },
            name: { type: 'string', maxLength: 3 },
            note: { type: 'string', maxLength: 10, optional: true },
          },
        }),
      ),
    );
    expect(validate({ same: 'yes', n: 1, name: 'abc' })).toBe(true);
    expect(validate({ same: 'no', n: 5, name: '', note: 'x' })).toBe(true);
    for (const bad of [
      { same: 'maybe', n: 1, name: 'a' },
      { same: 'yes', n: 0, name: 'a' },
      { same: 'yes', n: 6, name: 'a' },
      { same: 'yes', n: 2.5, name: 'a' },
      { same: 'yes', n: '2', name: 'a' },
      { same: 'yes', n: 2, name: 'abcd' },
      { same: 'yes', n: 2 },
      { same: 'yes', n: 2, name: 'a', extra: 1 },
    ]) {
      expect(validate(bad)).toBe(false);
    }
  });

  it.each([
    ['not JSON', null, 'cannot read it as JSON'],
    ['a missing field', { study: 'demo' }, 'missing field "tasks"'],
    ['an unknown top-level field', { study: 'demo', tasks: [task()], extra: 1 }, 'unknown field "extra"'],
    ['an empty task list', { study: 'demo', tasks: [] }, 'tasks.json.tasks: must NOT have fewer than 1 items'],
    ['a bad task id', { study: 'demo', tasks: [task({ id: '../x' })] }, 'tasks.json.tasks.0.id: must match pattern'],
    [
      'a field type that does not exist',
      { study: 'demo', tasks: [task({ fields: { x: { type: 'float' } as never } })] },
      'tasks.json.tasks.0.fields.x',
    ],
    ['a duplicate task id', { study: 'demo', tasks: [task(), task()] }, 'task id "t1" appears twice'],
    ['min > max', { study: 'demo', tasks: [task({ fields: { n: { type: 'integer', min: 5, max: 1 } } })] }, 'field n has min 5 > max 1'],
    ['a study name that is not the folder', { study: 'other', tasks: [task()] }, '"study" is "other" but the folder is demo/user-study'],
    ['a missing image', { study: 'demo', tasks: [task({ images: ['b.png'] })] }, 'image "b.png" does not exist'],
    ['an image that is not a PNG', { study: 'demo', tasks: [task({ images: ['notes.txt'] })] }, 'image "notes.txt" is not a .png'],
    [
      'an image outside the folder through ..',
      { study: 'demo', tasks: [task({ images: ['../tasks.png'] })] },
      "has an empty, '.' or '..' segment",
    ],
    ['an absolute image path', { study: 'demo', tasks: [task({ images: ['/etc/passwd'] })] }, 'is absolute'],
  ])('refuses %s', (_what, set, message) => {
    const file = writeSet(set ?? {}, { 'a.png': PNG, 'notes.txt': Buffer.from('x') });
    if (set === null) fs.writeFileSync(file, '{ not json');
    expect(() => loadTaskSet(file)).toThrow(message as string);
    expect(() => loadTaskSet(file)).toThrow(file);
  });

  it("a rewritten set removes the last run's PNGs it no longer names, and nothing else", () => {
    const studyOut = path.join(tmpDir(), 'demo');
    const first = writeTaskSet(
      studyOut,
      { study: 'demo', tasks: [task({ images: ['a.png', 'sub/b.png'] })] },
      new Map([
        ['a.png', PNG],
        ['sub/b.png', PNG],
      ]),
    );
    fs.writeFileSync(path.join(first.dir, 'responses.sqlite'), 'db');
    fs.writeFileSync(path.join(first.dir, 'notes.txt'), 'kept');
    const second = writeTaskSet(studyOut, { study: 'demo', tasks: [task({ images: ['a.png'] })] }, new Map([['a.png', PNG]]));
    const files = fs.readdirSync(second.dir, { recursive: true }).map(String).sort();
    expect(files).toEqual(['a.png', 'notes.txt', 'responses.sqlite', 'sub', 'tasks.json']);
  });

  it('refuses an image that is a symlink leading outside the folder, accepts one that stays inside', () => {
    const outside = path.join(tmpDir(), 'secret.png');
    fs.writeFileSync(outside, PNG);
    const file = writeSet({ study: 'demo', tasks: [task({ images: ['link.png'] })] });
    fs.symlinkSync(outside, path.join(path.dirname(file), 'link.png'));
    expect(() => loadTaskSet(file)).toThrow(/image "link.png" leads outside .* \(through a symlink\)/);
    fs.rmSync(path.join(path.dirname(file), 'link.png'));
    fs.symlinkSync('a.png', path.join(path.dirname(file), 'link.png'));
    expect(loadTaskSet(file).tasks[0].images).toEqual(['link.png']);
  });

  it('resolveInside refuses .., absolute, backslash, NUL, folders and missing files', () => {
    const dir = fs.realpathSync(path.dirname(writeSet({ study: 'demo', tasks: [task()] })));
    fs.mkdirSync(path.join(dir, 'sub'));
    expect(resolveInside(dir, 'a.png')).toEqual({ file: path.join(dir, 'a.png') });
    for (const rel of ['../a.png', 'sub/../a.png', './a.png', '/etc/passwd', '..\\a.png', 'a.png\0', 'sub', 'sub//a.png', 'none.png', '']) {
      expect(resolveInside(dir, rel)).toHaveProperty('refused');
    }
  });
});
