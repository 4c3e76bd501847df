/**
 * CUB-200-2011 (Wah et al. 2011) from its own layout: images.txt (id path), image_class_labels.txt (id class),
 * train_test_split.txt (id is_train), bounding_boxes.txt (id x y w h), classes.txt (class name), and optionally
 * parts/parts.txt (part name) and parts/part_locs.txt (id part x y visible), all ids 1-based. `dir` may be the
 * CUB_200_2011 folder or its parent.
 *
 * Ground truth: the bird box; the 15 part keypoints (mapped into output pixels); and part maps made of a disc of
 * radius size/16 around each visible keypoint (an approximation: CUB has no part masks).
 */
import * as fs from 'fs';
import * as path from 'path';
import { Dataset, Split } from './dataset';
import { Fit, capPerClass, decodeImage, mapLimit, mapPoint } from './decode';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';

export interface CubOptions {
  split: Split;
  /** Output side (default 64). */
  imageSize?: number;
  /** Resize policy (default 'fill', as ProtoPNet's 224x224 resize). */
  fit?: Fit;
  /** Crop every image to its bird's bounding box first (ProtoPNet's setting; default false). */
  cropToBox?: boolean;
  /** At most this many images per class, chosen by `seed` before decoding (file order kept); for quick runs. */
  perClass?: number;
  seed?: number;
}

export function cubRoot(dir: string): string {
  for (const d of [dir, path.join(dir, 'CUB_200_2011')]) if (fs.existsSync(path.join(d, 'images.txt'))) return d;
  throw new UserError(`cub: no images.txt in ${dir} or ${path.join(dir, 'CUB_200_2011')}; pass --data with the CUB_200_2011 folder`);
}

/** Rows of a whitespace-separated text file: [line number, fields]. */
function readTable(file: string, minFields: number): [number, string[]][] {
  if (!fs.existsSync(file)) throw new UserError(`cub: missing ${file}; the CUB_200_2011 layout needs it`);
  const rows: [number, string[]][] = [];
  fs.readFileSync(file, 'utf8')
    .split(/\r?\n/)
    .forEach((line, i) => {
      if (!line.trim()) return;
      const f = line.trim().split(/\s+/);
      if (f.length < minFields) throw new UserError(`${file}:${i + 1}: expected ${minFields} fields, found ${f.length} ("${line.trim()}")`);
      rows.push([i + 1, f]);
    });
  return rows;
}

function num(file: string, line: number, text: string, what: string): number {
  const v = Number(text);
  if (!Number.isFinite(v)) throw new UserError(`${file}:${line}: ${what} "${text}" is not a number`);
  return v;
}

/** Maps id -> row for a per-image file, checking that every id of images.txt appears exactly once. */
function perImage(file: string, rows: [number, string[]][], ids: Set<number>): Map<number, [number, string[]]> {
  const map = new Map<number, [number, string[]]>();
  for (const [line, f] of rows) {
    const id = num(file, line, f[0], 'image id');
    if (!ids.has(id)) throw new UserError(`${file}:${line}: image id ${id} is not in images.txt; the files disagree`);
    if (map.has(id)) throw new UserError(`${file}:${line}: image id ${id} appears twice`);
    map.set(id, [line, f]);
  }
  if (map.size !== ids.size) {
    const missing = [...ids].find((id) => !map.has(id));
    throw new UserError(
      `${file}: has ${map.size} images but images.txt has ${ids.size} (e.g. id ${missing} is missing); the files disagree`,
    );
  }
  return map;
}

export async function loadCub(dir: string, opts: CubOptions): Promise<Dataset> {
  const root = cubRoot(dir);
  const f = (name: string) => path.join(root, name);
  const imageRows = readTable(f('images.txt'), 2);
  const ids = new Set<number>();
  const paths = new Map<number, string>();
  for (const [line, r] of imageRows) {
    const id = num(f('images.txt'), line, r[0], 'image id');
    if (ids.has(id)) throw new UserError(`${f('images.txt')}:${line}: image id ${id} appears twice`);
    ids.add(id);
    paths.set(id, r.slice(1).join(' '));
  }
  const classRows = readTable(f('classes.txt'), 2);
  const classNames: string[] = [];
  for (const [line, r] of classRows) {
    const cid = num(f('classes.txt'), line, r[0], 'class id');
    if (cid !== classNames.length + 1)
      throw new UserError(`${f('classes.txt')}:${line}: expected class id ${classNames.length + 1}, found ${cid}`);
    classNames.push(r.slice(1).join(' '));
  }
  const labels = perImage(f('image_class_labels.txt'), readTable(f('image_class_labels.txt'), 2), ids);
  const splits = perImage(f('train_test_split.txt'), readTable(f('train_test_split.txt'), 2), ids);
  const boxes = perImage(f('bounding_boxes.txt'), readTable(f('bounding_boxes.txt'), 5), ids);

  let partNames: string[] | undefined;
  const partLocs = new Map<number, Float32Array>();
  if (fs.existsSync(f('parts/parts.txt')) && fs.existsSync(f('parts/part_locs.txt'))) {
    partNames = readTable(f('parts/parts.txt'), 2).map(([, r]) => r.slice(1).join(' '));
    for (const [line, r] of readTable(f('parts/part_locs.txt'), 5)) {
      const file = f('parts/part_locs.txt');
      const id = num(file, line, r[0], 'image id');
      const pid = num(file, line, r[1], 'part id');
      if (!ids.has(id)) throw new UserError(`${file}:${line}: image id ${id} is not in images.txt; the files disagree`);
      if (pid < 1 || pid > partNames.length)
        throw new UserError(`${file}:${line}: part id ${pid} outside 1..${partNames.length} (parts/parts.txt)`);
      let locs = partLocs.get(id);
      if (!locs) partLocs.set(id, (locs = new Float32Array(partNames.length * 3)));
      locs.set([num(file, line, r[2], 'x'), num(file, line, r[3], 'y'), num(file, line, r[4], 'visible') > 0 ? 1 : 0], (pid - 1) * 3);
    }
  }

  const wantTrain = opts.split === 'train';
  let chosen = [...ids].filter((id) => {
    const [line, r] = splits.get(id)!;
    const v = r[1];
    if (v !== '0' && v !== '1') throw new UserError(`${f('train_test_split.txt')}:${line}: is_train must be 0 or 1, found "${v}"`);
    return (v === '1') === wantTrain;
  });
  if (opts.perClass !== undefined) {
    const classOf = chosen.map((id) => {
      const [line, r] = labels.get(id)!;
      return num(f('image_class_labels.txt'), line, r[1], 'class id');
    });
    chosen = capPerClass(classOf, opts.perClass, new Rng(opts.seed ?? 0).fork(`cub/${opts.split}`)).map((i) => chosen[i]);
  }
  if (chosen.length === 0) throw new UserError(`cub: no ${opts.split} images in ${f('train_test_split.txt')}`);

  const size = opts.imageSize ?? 64;
  const fit = opts.fit ?? 'fill';
  const per = size * size * 3;
  const n = chosen.length;
  const images = new Uint8Array(n * per);
  const outLabels = new Int32Array(n);
  const outBoxes = new Int32Array(n * 4);
  const k = partNames?.length ?? 0;
  const keypoints = new Float32Array(n * k * 3);
  const partMaps = partNames ? new Uint8Array(n * size * size) : undefined;
  const bar = n >= 500 ? new Progress(`cub ${opts.split}`, n) : undefined;
  await mapLimit(chosen, 4, async (id, i) => {
    bar?.tick();
    const [lline, lr] = labels.get(id)!;
    const cls = num(f('image_class_labels.txt'), lline, lr[1], 'class id');
    if (!Number.isInteger(cls) || cls < 1 || cls > classNames.length) {
      throw new UserError(
        `${f('image_class_labels.txt')}:${lline}: class ${cls} outside 1..${classNames.length} (classes.txt); the files disagree`,
      );
    }
    outLabels[i] = cls - 1;
    const [bline, br] = boxes.get(id)!;
    const bf = f('bounding_boxes.txt');
    const box = [1, 2, 3, 4].map((j) => num(bf, bline, br[j], 'box value')) as [number, number, number, number];
    const file = path.join(root, 'images', paths.get(id)!);
    if (!fs.existsSync(file)) throw new UserError(`${f('images.txt')}: image ${id} is ${paths.get(id)}, but ${file} does not exist`);
    const dec = await decodeImage(file, { size, fit, channels: 3, region: opts.cropToBox ? box : undefined });
    const tol = 2;
    if (
      box[2] <= 0 ||
      box[3] <= 0 ||
      box[0] < -tol ||
      box[1] < -tol ||
      box[0] + box[2] > dec.width + tol ||
      box[1] + box[3] > dec.height + tol
    ) {
      throw new UserError(
        `${bf}:${bline}: box [${box.join(', ')}] of image ${id} does not fit its ${dec.width}x${dec.height} image ${file}; the files ` +
          `disagree`,
      );
    }
    images.set(dec.data, i * per);
    const [x0, y0] = mapPoint(dec.map, box[0], box[1]);
    const [x1, y1] = mapPoint(dec.map, box[0] + box[2], box[1] + box[3]);
    const clamp = (v: number) => Math.max(0, Math.min(size, Math.round(v)));
    outBoxes.set([clamp(x0), clamp(y0), clamp(x1), clamp(y1)], i * 4);
    const locs = partLocs.get(id);
    if (locs && partMaps) {
      const r = size / 16;
      for (let p = 0; p < k; p++) {
        const [x, y] = mapPoint(dec.map, locs[p * 3], locs[p * 3 + 1]);
        const vis = locs[p * 3 + 2] > 0 && x >= 0 && y >= 0 && x < size && y < size ? 1 : 0;
        keypoints.set([x, y, vis], (i * k + p) * 3);
        if (!vis) continue;
        for (let yy = Math.max(0, Math.floor(y - r)); yy <= Math.min(size - 1, Math.ceil(y + r)); yy++)
          for (let xx = Math.max(0, Math.floor(x - r)); xx <= Math.min(size - 1, Math.ceil(x + r)); xx++)
            if ((xx + 0.5 - x) ** 2 + (yy + 0.5 - y) ** 2 <= r * r) partMaps[i * size * size + yy * size + xx] = p + 1;
      }
    }
  });
  bar?.finish();
  return new Dataset({
    name: 'cub',
    split: opts.split,
    images,
    labels: outLabels,
    height: size,
    width: size,
    channels: 3,
    classNames,
    truth: { boxes: outBoxes, ...(partNames ? { partNames, partMaps, keypointNames: partNames, keypoints } : {}) },
  });
}

/**
 * Writes a Dataset in the CUB-200-2011 layout under `dir` (images/<class>/<i>.png, images.txt,
 * image_class_labels.txt, train_test_split.txt, bounding_boxes.txt, classes.txt, and with part maps
 * parts/parts.txt + parts/part_locs.txt holding each part's centroid, visible when the part has pixels). Used to
 * show and test the CUB loader on generated birds; `train` and `test` are written with their own split flags.
 */
export async function writeCubLayout(dir: string, sets: { train: Dataset; test?: Dataset }): Promise<void> {
  const { encodePng } = await import('../plot/images');
  const all = [sets.train, ...(sets.test ? [sets.test] : [])];
  const ref = sets.train;
  const classDir = (c: number) => `${String(c + 1).padStart(3, '0')}.${ref.classNames[c].replace(/[^A-Za-z0-9_-]+/g, '_')}`;
  const lines = { images: [] as string[], labels: [] as string[], split: [] as string[], boxes: [] as string[], locs: [] as string[] };
  let id = 0;
  const partNames = ref.truth.partNames;
  for (const ds of all) {
    const hw = ds.height * ds.width;
    for (let i = 0; i < ds.size; i++) {
      id++;
      const rel = `${classDir(ds.labels[i])}/${ds.split}_${String(i).padStart(5, '0')}.png`;
      const file = path.join(dir, 'images', rel);
      fs.mkdirSync(path.dirname(file), { recursive: true });
      fs.writeFileSync(file, await encodePng({ width: ds.width, height: ds.height, channels: ds.channels, data: ds.imageBytes(i) }));
      lines.images.push(`${id} ${rel}`);
      lines.labels.push(`${id} ${ds.labels[i] + 1}`);
      lines.split.push(`${id} ${ds.split === 'train' ? 1 : 0}`);
      const b = ds.truth.boxes ? Array.from(ds.truth.boxes.subarray(i * 4, i * 4 + 4)) : [0, 0, ds.width, ds.height];
      lines.boxes.push(`${id} ${b[0].toFixed(1)} ${b[1].toFixed(1)} ${(b[2] - b[0]).toFixed(1)} ${(b[3] - b[1]).toFixed(1)}`);
      if (partNames && ds.truth.partMaps) {
        const sx = new Float64Array(partNames.length + 1);
        const sy = new Float64Array(partNames.length + 1);
        const n = new Float64Array(partNames.length + 1);
        for (let p = 0; p < hw; p++) {
          const l = ds.truth.partMaps[i * hw + p];
          sx[l] += (p % ds.width) + 0.5;
          sy[l] += Math.floor(p / ds.width) + 0.5;
          n[l]++;
        }
        for (let k = 1; k <= partNames.length; k++) {
          const vis = n[k] > 0;
          lines.locs.push(
            `${id} ${k} ${vis ? (sx[k] / n[k]).toFixed(1) : '0.0'} ${vis ? (sy[k] / n[k]).toFixed(1) : '0.0'} ${vis ? 1 : 0}`,
          );
        }
      }
    }
  }
  const write = (name: string, rows: string[]) => {
    fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
    fs.writeFileSync(path.join(dir, name), rows.join('\n') + '\n');
  };
  write('images.txt', lines.images);
  write('image_class_labels.txt', lines.labels);
  write('train_test_split.txt', lines.split);
  write('bounding_boxes.txt', lines.boxes);
  write(
    'classes.txt',
    ref.classNames.map((_, c) => `${c + 1} ${classDir(c)}`),
  );
  if (partNames && ref.truth.partMaps) {
    write(
      'parts/parts.txt',
      partNames.map((p, k) => `${k + 1} ${p}`),
    );
    write('parts/part_locs.txt', lines.locs);
  }
}
