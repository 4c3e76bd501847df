/**
 * ImageFolder: one sub-folder per class, PNG/JPEG files inside. When the folder has `train/` and/or `test/`
 * sub-folders, the split's one is used (each with class folders). Otherwise the folder holds both splits: an image
 * is in the test split when a hash of its class and file name falls in the first `holdout` (default 0.2) of the
 * range, so the split is fixed by the names (not by a seed: train and test never swap images between runs), and a
 * class's first image in name order always stays in train. Class names are the folder names, sorted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Dataset, Split } from './dataset';
import { DecodeOptions, Fit, capPerClass, decodeImage, mapLimit } from './decode';
import { Rng, hashString } from '../util/rng';
import { UserError } from '../util/errors';
import { Progress } from '../util/progress';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'];

export interface ImageFolderOptions {
  split: Split;
  /** Output side (default 64). */
  imageSize?: number;
  fit?: Fit;
  channels?: 1 | 3;
  /** At most this many images per class, chosen by `seed` before decoding (file order kept). */
  perClass?: number;
  seed?: number;
  /** Fraction of a folder without train/ and test/ that forms the test split (default 0.2). */
  holdout?: number;
}

/** Whether an image of a split-less folder belongs to the test split (hash of "class/file" below `holdout`). */
export function isHeldOut(className: string, fileName: string, holdout: number): boolean {
  return hashString(`${className}/${fileName}`) / 4294967296 < holdout;
}

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** The folder holding the class folders for a split. */
export function imageFolderRoot(dir: string, split: Split): string {
  if (!isDir(dir)) throw new UserError(`imagefolder: ${dir} is not a directory; pass --data DIR with one sub-folder per class`);
  const hasSplits = isDir(path.join(dir, 'train')) || isDir(path.join(dir, 'test'));
  if (!hasSplits) return dir;
  const root = path.join(dir, split);
  if (!isDir(root))
    throw new UserError(`imagefolder: ${dir} has train/test sub-folders but no ${split}/; add ${root} with one folder per class`);
  return root;
}

export async function loadImageFolder(dir: string, opts: ImageFolderOptions): Promise<Dataset> {
  const root = imageFolderRoot(dir, opts.split);
  const classes = fs
    .readdirSync(root)
    .filter((n) => !n.startsWith('.') && isDir(path.join(root, n)))
    .sort();
  if (classes.length === 0) throw new UserError(`imagefolder: ${root} holds no class folders; expected one sub-folder of images per class`);
  let files: { file: string; label: number }[] = [];
  classes.forEach((name, label) => {
    const folder = path.join(root, name);
    const images = fs
      .readdirSync(folder)
      .filter((f) => IMAGE_EXTENSIONS.includes(path.extname(f).toLowerCase()))
      .sort();
    if (images.length === 0) {
      throw new UserError(
        `imagefolder: class folder ${folder} holds no images (${IMAGE_EXTENSIONS.join(', ')}); add images or remove the folder`,
      );
    }
    if (root === dir || path.resolve(root) === path.resolve(dir)) {
      const holdout = opts.holdout ?? 0.2;
      const kept = images.filter((f, k) => (k > 0 && isHeldOut(name, f, holdout)) === (opts.split === 'test'));
      images.splice(0, images.length, ...kept);
    }
    for (const f of images) files.push({ file: path.join(folder, f), label });
  });
  if (opts.perClass !== undefined) {
    const keep = capPerClass(
      files.map((f) => f.label),
      opts.perClass,
      new Rng(opts.seed ?? 0).fork(`imagefolder/${opts.split}`),
    );
    files = keep.map((i) => files[i]);
  }
  const size = opts.imageSize ?? 64;
  const channels = opts.channels ?? 3;
  const decodeOpts: DecodeOptions = { size, fit: opts.fit ?? 'cover', channels };
  const per = size * size * channels;
  const images = new Uint8Array(files.length * per);
  // A progress bar for big folders (small ones, as in tests, stay quiet).
  const bar = files.length >= 500 ? new Progress(`imagefolder ${opts.split}`, files.length) : undefined;
  await mapLimit(files, 4, async ({ file }, i) => {
    images.set((await decodeImage(file, decodeOpts)).data, i * per);
    bar?.tick();
  });
  bar?.finish();
  return new Dataset({
    name: 'imagefolder',
    split: opts.split,
    images,
    labels: Int32Array.from(files.map((f) => f.label)),
    height: size,
    width: size,
    channels,
    classNames: classes,
  });
}

/** Writes a Dataset as an ImageFolder: `dir`/<split>/<class>/<index>.png (class names made file-safe). */
export async function writeImageFolder(dir: string, ds: Dataset): Promise<void> {
  const { encodePng } = await import('../plot/images');
  const safe = (name: string) => name.replace(/[^A-Za-z0-9_-]+/g, '_');
  for (let i = 0; i < ds.size; i++) {
    const file = path.join(dir, ds.split, safe(ds.classNames[ds.labels[i]]), `${String(i).padStart(5, '0')}.png`);
    fs.mkdirSync(path.dirname(file), { recursive: true });
    fs.writeFileSync(file, await encodePng({ width: ds.width, height: ds.height, channels: ds.channels, data: ds.imageBytes(i) }));
  }
}
