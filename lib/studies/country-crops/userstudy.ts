import * as path from 'path';
import { encodePng, fromBytes, grid, Raster, upscale } from '../../plot/images';
import { Task, TASKS_FILE, writeTaskSet } from '../../userstudy/tasks';
import type { Crop, GalleriesResult } from './galleries';
import { SOURCE_LABEL } from './galleries';
import type { CountryCropsSession } from './session';

/**
 * The A/B task set for the user-study web app (`tessera serve`): per class, the CAM gallery and the sliding-window
 * gallery as two PNG strips in a random left/right order, asking which describes the class better. Written by
 * lib/userstudy's writeTaskSet to <out>/country-crops/user-study/ (PNGs first, tasks.json last and atomically, then
 * loaded back and validated). Which source is on which side is in each task's `meta`, which the app never shows.
 */
export interface UserStudyResult {
  dir: string;
  tasksFile: string;
  tasks: number;
}

/** One crop of explained image `c.image` as a Raster ([H,W,C] bytes of the explained images, side x side). */
export function cropRaster(pixels: Uint8Array, side: number, channels: number, c: Crop, size: number): Raster {
  const out = new Uint8Array(size * size * channels);
  const base = c.image * side * side * channels;
  for (let r = 0; r < size; r++) {
    const from = base + ((c.y + r) * side + c.x) * channels;
    out.set(pixels.subarray(from, from + size * channels), r * size * channels);
  }
  return fromBytes(out, size, size, channels);
}

/** A gallery as one strip: its crops side by side, each magnified `scale` times. */
export function galleryStrip(pixels: Uint8Array, side: number, channels: number, crops: Crop[], size: number, scale: number): Raster {
  return grid(
    crops.map((c) => upscale(cropRaster(pixels, side, channels, c, size), scale)),
    { cols: crops.length, pad: 4, background: 255 },
  );
}

export async function writeUserStudy(s: CountryCropsSession, g: GalleriesResult, pixels: Uint8Array): Promise<UserStudyResult> {
  const rng = s.rng.fork('user-study-order');
  const tasks: Task[] = [];
  const pngs = new Map<string, Uint8Array>();
  for (let cls = 0; cls < s.test.numClasses; cls++) {
    const pair = (['cam', 'window'] as const).map((source) => g.galleries.find((o) => o.cls === cls && o.source === source)!);
    if (pair.some((o) => !o.clustered.length)) continue;
    const order = rng.next() < 0.5 ? [0, 1] : [1, 0];
    const images: string[] = [];
    for (const [side, k] of order.entries()) {
      const o = pair[k];
      const name = `class-${cls}-${side === 0 ? 'left' : 'right'}.png`;
      const strip = galleryStrip(
        pixels,
        s.config.side,
        s.test.channels,
        o.clustered.map((i) => o.pool[i]),
        g.crop,
        s.config.userStudyScale,
      );
      pngs.set(name, await encodePng(strip));
      images.push(name);
    }
    const className = s.test.classNames[cls];
    tasks.push({
      id: `class-${cls}`,
      kind: 'ab',
      // The facades world's classes are countries; an ImageFolder's (--data) are whatever its folders name.
      prompt: s.truth
        ? `Each image is a set of small crops of photos from the country "${className}". Which set describes "${className}" better?`
        : `Each image is a set of small crops of images of the class "${className}". Which set describes "${className}" better?`,
      images,
      fields: { choice: { type: 'enum', values: ['left', 'right'], label: 'The better set' } },
      meta: { class: className, left: pair[order[0]].source, right: pair[order[1]].source, sources: SOURCE_LABEL },
    });
  }
  const set = writeTaskSet(s.ctx.out, { study: s.ctx.study, title: 'Guess the country: which crops describe it better?', tasks }, pngs);
  return { dir: set.dir, tasksFile: path.join(set.dir, TASKS_FILE), tasks: set.tasks.length };
}
