/**
 * ImageFolder: one sub-folder per class, PNG/JPEG files inside. When the folder has `train/` and/or `test/`
 * sub-folders, the split's one is used (each with class folders); otherwise the folder itself is the split.
 * Class names are the folder names, sorted.
 */
import * as fs from 'fs';
import * as path from 'path';
import { Dataset, Split } from './dataset';
import { DecodeOptions, Fit, capPerClass, decodeImage, mapLimit } from './decode';
import { Rng } from '../util/rng';
import { UserError } from '../util/errors';

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
  if (!isDir(root)) throw new UserError(`imagefolder: ${dir} has train/test sub-folders but no ${split}/; add ${root} with one folder per class`);
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
      throw new UserError(`imagefolder: class folder ${folder} holds no images (${IMAGE_EXTENSIONS.join(', ')}); add images or remove the folder`);
    }
    for (const f of images) files.push({ file: path.join(folder, f), label });
  });
  if (opts.perClass !== undefined) {
    const keep = capPerClass(files.map((f) => f.label), opts.perClass, new Rng(opts.seed ?? 0).fork(`imagefolder/${opts.split}`));
    files = keep.map((i) => files[i]);
  }
  const size = opts.imageSize ?? 64;
  const channels = opts.channels ?? 3;
  const decodeOpts: DecodeOptions = { size, fit: opts.fit ?? 'cover', channels };
  const per = size * size * channels;
  const images = new Uint8Array(files.length * per);
  await mapLimit(files, 4, async ({ file }, i) => {
    images.set((await decodeImage(file, decodeOpts)).data, i * per);
  });
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
