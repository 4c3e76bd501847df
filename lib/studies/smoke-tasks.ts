import type { Dataset } from '../data/dataset';
import { encodePng, fromBytes, upscale } from '../plot/images';
import type { Rng } from '../util/rng';
import { type Task, type TaskSet, writeTaskSet } from '../userstudy/tasks';

/**
 * The smoke study's demo user-study task set: two A/B tasks and two summary tasks on the stripes test images, small
 * enough for `tessera serve` and its browser test to run without a long study. Written to
 * `<out>/smoke/user-study/` (tasks.json and PNGs).
 */
export interface SmokeTaskOptions {
  /** Nearest-neighbour magnification of the tiny images (default 12: 8 px -> 96 px at the quick scale). */
  magnify?: number;
  /** Standard deviation of the extra pixel noise of the "noisy" arm (0..1 scale; default 0.35). */
  extraNoise?: number;
  /** Images per summary (default 3). */
  perSummary?: number;
}

/** One test image as grey bytes, with optional extra Gaussian noise. */
function imageWithNoise(data: Dataset, i: number, noise: number, rng: Rng): Uint8Array {
  const bytes = Uint8Array.from(data.imageBytes(i));
  if (noise > 0)
    for (let p = 0; p < bytes.length; p++) bytes[p] = Math.max(0, Math.min(255, Math.round(bytes[p] + 255 * rng.normal(0, noise))));
  return bytes;
}

/**
 * Writes the demo task set from the stripes test set (`test`, one channel). A/B: a test image against the same
 * image with extra noise, clean on side A in one task and on side B in the other. Summary: `perSummary` images of
 * one class ("same pattern? name it").
 */
export async function writeSmokeTasks(studyOut: string, test: Dataset, rng: Rng, opts: SmokeTaskOptions = {}): Promise<TaskSet> {
  const magnify = opts.magnify ?? 12;
  const extraNoise = opts.extraNoise ?? 0.35;
  const perSummary = opts.perSummary ?? 3;
  const images = new Map<string, Uint8Array>();
  const png = async (name: string, bytes: Uint8Array) => {
    images.set(name, await encodePng(upscale(fromBytes(bytes, test.width, test.height, test.channels), magnify)));
    return name;
  };
  const byClass = test.classNames.map((_, c) => Array.from(test.labels.keys()).filter((i) => test.labels[i] === c));
  if (byClass.some((ids) => ids.length < perSummary)) throw new Error(`smoke tasks: every class needs ${perSummary} test images`);
  const tasks: Task[] = [];
  for (const [k, cleanSide] of (['A', 'B'] as const).entries()) {
    const i = byClass[k % byClass.length][0];
    // Files named by position, not by arm: a participant must not learn the arm from an image's URL.
    const [cleanName, noisyName] =
      cleanSide === 'A' ? [`ab-${k + 1}-a.png`, `ab-${k + 1}-b.png`] : [`ab-${k + 1}-b.png`, `ab-${k + 1}-a.png`];
    const clean = await png(cleanName, imageWithNoise(test, i, 0, rng));
    const noisy = await png(noisyName, imageWithNoise(test, i, extraNoise, rng.fork(`noise-${k}`)));
    tasks.push({
      id: `ab-${k + 1}`,
      kind: 'ab',
      prompt: 'Which image shows its stripes more clearly?',
      images: cleanSide === 'A' ? [clean, noisy] : [noisy, clean],
      fields: { preferred: { type: 'enum', values: ['A', 'B', 'same'], label: 'Clearer stripes' } },
      meta: { arms: cleanSide === 'A' ? ['clean', 'extra noise'] : ['extra noise', 'clean'] },
    });
  }
  for (const [c, ids] of byClass.entries()) {
    const names = [];
    for (const [j, i] of ids.slice(0, perSummary).entries())
      names.push(await png(`summary-${c + 1}-${j + 1}.png`, imageWithNoise(test, i, 0, rng)));
    tasks.push({
      id: `summary-${c + 1}`,
      kind: 'summary',
      prompt: 'Do these images show the same pattern? Name it.',
      images: names,
      fields: {
        same: { type: 'enum', values: ['yes', 'no'], label: 'Same pattern in every image?' },
        name: { type: 'string', maxLength: 40, label: 'Name the pattern (a few words)' },
        confidence: { type: 'integer', min: 1, max: 5, label: 'How sure are you? (1 = guessing, 5 = certain)' },
      },
      meta: { label: test.classNames[c] },
    });
  }
  return writeTaskSet(studyOut, { study: 'smoke', title: 'Smoke study: demo user study on the stripes images', tasks }, images);
}
