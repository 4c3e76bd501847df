import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { writeSmokeTasks } from '../../lib/studies/smoke-tasks';
import { makeStripes } from '../../lib/studies/smoke';
import { Rng } from '../../lib/util/rng';
import type { TaskSet } from '../../lib/userstudy/tasks';

export const ROOT = path.resolve(__dirname, '..', '..');

export function tmpDir(prefix = 'tessera-us-'): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), prefix));
}

/** A fresh output folder holding the smoke study's demo task set (<out>/smoke/user-study/), as the study writes it. */
export async function demoOut(): Promise<{ out: string; set: TaskSet }> {
  const out = tmpDir();
  const rng = new Rng(0);
  const test = makeStripes(64, 8, 0.25, rng.fork('test-data'), 'test');
  const set = await writeSmokeTasks(path.join(out, 'smoke'), test, rng.fork('user-study'));
  return { out, set };
}

/** A valid answer to each demo task, by task id (what a diligent participant would give). */
export function validAnswer(taskId: string): Record<string, string | number> {
  if (taskId.startsWith('ab-')) return { preferred: 'A' };
  return { same: 'yes', name: 'stripes', confidence: 4 };
}
