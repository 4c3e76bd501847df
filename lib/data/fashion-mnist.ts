/**
 * Fashion-MNIST (Xiao et al. 2017) from its four IDX gz files: 60,000 train and 10,000 test 28x28 grey images of
 * ten clothing classes.
 *
 * Search order: `--data DIR` (given directory only, when given), data/fashion-mnist/ under the project root, then
 * Debian's /usr/share/datasets/fashion-mnist/ (`apt-get install dataset-fashion-mnist`). When none holds the files
 * and downloading is allowed, they are fetched from the dataset's official location into data/fashion-mnist/, each
 * checked against its published MD5 before being renamed into place (never left half-written).
 */
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';
import { Dataset, Split } from './dataset';
import { readIdx } from './idx';
import { UserError } from '../util/errors';
import { writeFileAtomic } from '../util/atomic';

export const FASHION_CLASSES = ['T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot'];

export const FASHION_FILES: Record<Split, { images: string; labels: string }> = {
  train: { images: 'train-images-idx3-ubyte.gz', labels: 'train-labels-idx1-ubyte.gz' },
  test: { images: 't10k-images-idx3-ubyte.gz', labels: 't10k-labels-idx1-ubyte.gz' },
};

/** The official download location and the MD5s of its gz files, as published in the dataset's README. */
export const FASHION_URL = 'http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/';
export const FASHION_MD5: Record<string, string> = {
  'train-images-idx3-ubyte.gz': '8d4fb7e6c68d591d4c3dfef9ec88bf0d',
  'train-labels-idx1-ubyte.gz': '25c81989df183df01b3e8a0aad5dffbe',
  't10k-images-idx3-ubyte.gz': 'bef4ecab320f06d8554ea6380940ec79',
  't10k-labels-idx1-ubyte.gz': 'bb300cfdad3c16e7a12a480ee83cd310',
};

export const PROJECT_ROOT = path.resolve(__dirname, '..', '..');
export const DEBIAN_FASHION_DIR = '/usr/share/datasets/fashion-mnist';

export interface FashionOptions {
  split: Split;
  /** A directory holding the four files (searched alone when given). */
  data?: string;
  /** Download when absent (default: true unless TESSERA_OFFLINE=1). */
  download?: boolean;
  /** Where downloads go (default data/fashion-mnist/ under the project root); when given, the only folder searched. */
  downloadDir?: string;
  /** Base URL and MD5 table of the download (default: the official ones; tests serve their own files). */
  url?: string;
  md5?: Record<string, string>;
}

/** The directories searched, in order. */
export function fashionSearchDirs(data?: string): string[] {
  return data ? [path.resolve(data)] : [path.join(PROJECT_ROOT, 'data', 'fashion-mnist'), DEBIAN_FASHION_DIR];
}

/** Path of a file in `dir`, gzipped or not, or undefined. */
function findFile(dir: string, gzName: string): string | undefined {
  for (const name of [gzName, gzName.replace(/\.gz$/, '')]) {
    const p = path.join(dir, name);
    if (fs.existsSync(p)) return p;
  }
  return undefined;
}

/** The directory holding both files of a split, or undefined. */
export function findFashionDir(split: Split, data?: string): string | undefined {
  const f = FASHION_FILES[split];
  return fashionSearchDirs(data).find((d) => findFile(d, f.images) && findFile(d, f.labels));
}

/** Fetches the split's two files into `dir`, each verified against its MD5 before it is renamed into place. */
async function download(dir: string, split: Split, url: string, sums: Record<string, string>): Promise<void> {
  for (const name of Object.values(FASHION_FILES[split])) {
    const target = path.join(dir, name);
    if (fs.existsSync(target)) continue;
    const res = await fetch(url + name, { signal: AbortSignal.timeout(120_000) });
    if (!res.ok) throw new Error(`HTTP ${res.status} for ${url + name}`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    const md5 = crypto.createHash('md5').update(bytes).digest('hex');
    if (md5 !== sums[name])
      throw new Error(`${url + name}: MD5 ${md5} differs from the published ${sums[name]} (corrupt or incomplete download)`);
    writeFileAtomic(target, bytes);
  }
}

/** Loads one split of Fashion-MNIST as a 28x28x1 Dataset. */
export async function loadFashionMnist(opts: FashionOptions): Promise<Dataset> {
  const target = opts.downloadDir ?? path.join(PROJECT_ROOT, 'data', 'fashion-mnist');
  const searchIn = opts.data ?? opts.downloadDir;
  let dir = findFashionDir(opts.split, searchIn);
  if (!dir) {
    const allowed = opts.download ?? process.env.TESSERA_OFFLINE !== '1';
    const where = fashionSearchDirs(searchIn).join(' or ');
    let why = 'downloading is off';
    if (allowed && !opts.data) {
      const url = opts.url ?? FASHION_URL;
      try {
        await download(target, opts.split, url, opts.md5 ?? FASHION_MD5);
        dir = target;
      } catch (err) {
        why = `downloading from ${url} failed: ${(err as Error).message}`;
      }
    } else if (opts.data) {
      why = 'a --data directory is searched alone';
    }
    if (!dir) {
      throw new UserError(
        `Fashion-MNIST ${opts.split} files (${Object.values(FASHION_FILES[opts.split]).join(', ')}) not found in ${where}, and ${why}. ` +
          'Run `apt-get install dataset-fashion-mnist` (Debian/Ubuntu), or put the four IDX gz files in data/fashion-mnist/ or pass ' +
          '--data DIR.',
      );
    }
  }
  const f = FASHION_FILES[opts.split];
  const imagesFile = findFile(dir, f.images)!;
  const labelsFile = findFile(dir, f.labels)!;
  const images = readIdx(imagesFile);
  const labels = readIdx(labelsFile);
  if (images.dims.length !== 3) throw new UserError(`${imagesFile}: expected 3 dimensions (N x H x W), found ${images.dims.length}`);
  if (labels.dims.length !== 1) throw new UserError(`${labelsFile}: expected 1 dimension (N), found ${labels.dims.length}`);
  const [n, h, w] = images.dims;
  if (labels.dims[0] !== n) {
    throw new UserError(
      `${labelsFile} holds ${labels.dims[0]} labels but ${imagesFile} holds ${n} images; the two files must come from the same split`,
    );
  }
  const lab = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const l = labels.data[i];
    if (l >= FASHION_CLASSES.length) throw new UserError(`${labelsFile}: label ${l} at index ${i} is outside 0..9`);
    lab[i] = l;
  }
  return new Dataset({
    name: 'fashion-mnist',
    split: opts.split,
    images: images.data,
    labels: lab,
    height: h,
    width: w,
    channels: 1,
    classNames: FASHION_CLASSES,
  });
}
