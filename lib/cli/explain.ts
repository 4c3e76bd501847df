import * as fs from 'fs';
import * as path from 'path';
import type * as tfTypes from '@tensorflow/tfjs';
import type { Command } from './command';
import type { Heatmaps, MethodEntry, ModelContext } from '../explain/index';
import type { ModelConfig } from '../models/index';
import type { Fit } from '../data/decode';
import type { Raster } from '../plot/images';
import { intFlag, parseArgs, ParsedArgs, stringFlag } from '../util/args';
import { UserError } from '../util/errors';

const USAGE = `usage:
  tessera explain --model FILE --images PATH --method M [options]
  tessera explain --list [--model FILE] [--json]

Applies explanation methods to a TensorFlow.js layers model (a model.json with its weight files, e.g. from
\`tessera train --save DIR\`) and PNG/JPEG images. Images are brought to the model's input size and channels by the
ImageFolder loader. Nothing is written unless every image and method succeeds; then --out holds:
  overlays/<image>.<method>.png   the image beside the method's map over it (upscaled), with the method, target,
                                  prediction and a colour key
  sheets/<image>.png              the image and every method's overlay in one row (when several methods ran)
  maps/<method>.json              the raw maps: the Heatmaps fields (values as [n][height][width]), image names
  explain.json                    per image: file, prediction, probability, target; methods run and skipped, timings

input:
  --model FILE         model.json (or its folder)
  --images PATH        a PNG/JPEG file, or a folder of them (sub-folders included)
  --method M           a method id, several separated by commas, or "all": every method that applies to the
                       model (the others are skipped, with the reason)
  --list               print the methods (id, label, signed, needs, summary); with --model, whether each applies
  --json               with --list: JSON instead of text
options:
  --target N           class explained in every image (default: each image's predicted class)
  --out DIR            output folder (default "explanations"); an existing one is replaced only if it holds a
                       previous explain output
  --fit F              how images reach the model's input size: cover (default: scale, crop the centre), contain
                       (scale, pad with black) or fill (stretch)
  --image-size N       input side for a model without a fixed input size
  --class-names LIST   class names for the labels: comma-separated, or a text file with one name per line
  --scale N            upscaling of the PNGs (default: the smallest making the image at least 224 px)
  --batch-size N       images (or windows) per forward pass (default per method)
  --steps N            integrated gradients: Riemann steps (default 16)
  --baseline B         gradient-x-input, integrated-gradients: mean-colour (default), black, or a grey level in [0,1]
  --window N           occlusion, sliding-window: window side in pixels (defaults: a quarter of the side for
                       occlusion; half the side for sliding-window, whose crops the model sees resized to its input)
  --stride N           occlusion, sliding-window: pixels between windows (default: half / a quarter of the window)
  --fill F             occlusion: what masks a window: mean (default, the image's mean colour), zero or blur
  --mask-steps A,B     crisp-mask: optimisation steps of its two stages (default 300,150)
  --backend NAME       force a tfjs backend (default: the fastest that loads)`;

const VALUES = [
  'model',
  'images',
  'method',
  'target',
  'out',
  'fit',
  'image-size',
  'class-names',
  'scale',
  'batch-size',
  'steps',
  'baseline',
  'window',
  'stride',
  'fill',
  'mask-steps',
  'backend',
] as const;

/** Images per call to a method: bounds memory for big folders (methods batch further inside). */
const CHUNK = 64;
/** PNGs are upscaled until the image side reaches this (a 28 px image becomes 224 px). */
const MIN_SIDE = 224;

/** An image file to explain and its name in the outputs. */
export interface ImageFile {
  file: string;
  name: string;
}

/**
 * The PNG/JPEG files of `target` (a file, or a folder searched recursively, sorted by path), named by their path
 * under the folder with separators as "__" and other unsafe characters as "_" (".png" dropped), unique. Folders at
 * `exclude` (the output folder) are not searched.
 */
export function listImages(target: string, exclude?: string): ImageFile[] {
  const { IMAGE_EXTENSIONS } = require('../data/imagefolder') as typeof import('../data/imagefolder');
  let stat: fs.Stats;
  try {
    stat = fs.statSync(target);
  } catch {
    throw new UserError(`explain: --images ${target} does not exist; expected a PNG/JPEG file or a folder of them`);
  }
  let rel: string[];
  let root: string;
  if (stat.isDirectory()) {
    root = target;
    rel = [];
    const walk = (sub: string) => {
      for (const entry of fs.readdirSync(path.join(root, sub), { withFileTypes: true })) {
        if (entry.name.startsWith('.')) continue;
        const p = sub ? path.join(sub, entry.name) : entry.name;
        if (entry.isDirectory()) {
          // Never the output folder (nor its temporary siblings): a rerun would explain its own overlays.
          const abs = path.resolve(root, p);
          if (!exclude || (abs !== exclude && !abs.startsWith(`${exclude}.`))) walk(p);
        } else if (IMAGE_EXTENSIONS.includes(path.extname(entry.name).toLowerCase())) rel.push(p);
      }
    };
    walk('');
    rel.sort();
    if (!rel.length)
      throw new UserError(
        `explain: the folder ${target} holds no images (${IMAGE_EXTENSIONS.join(', ')}, sub-folders included); add images or pass ` +
          `another --images`,
      );
  } else {
    if (!IMAGE_EXTENSIONS.includes(path.extname(target).toLowerCase())) {
      throw new UserError(`explain: --images ${target} is not a PNG or JPEG file (expected ${IMAGE_EXTENSIONS.join(', ')}), nor a folder`);
    }
    root = path.dirname(target);
    rel = [path.basename(target)];
  }
  const used = new Set<string>();
  return rel.map((r) => {
    const base =
      r
        .slice(0, r.length - path.extname(r).length)
        .split(path.sep)
        .join('__')
        .replace(/[^A-Za-z0-9_.-]+/g, '_') || 'image';
    let name = base;
    for (let k = 2; used.has(name); k++) name = `${base}-${k}`;
    used.add(name);
    return { file: path.join(root, r), name };
  });
}

/** The build config `tessera train --save` stores in model.json (userDefinedMetadata.tessera.config), if any. */
export function savedConfig(modelFile: string): ModelConfig | undefined {
  const file = fs.existsSync(modelFile) && fs.statSync(modelFile).isDirectory() ? path.join(modelFile, 'model.json') : modelFile;
  try {
    const json = JSON.parse(fs.readFileSync(file, 'utf8')) as { userDefinedMetadata?: { tessera?: { config?: ModelConfig } } };
    return json.userDefinedMetadata?.tessera?.config;
  } catch {
    return undefined;
  }
}

/** Loads the model with a UserError for anything wrong with the files (readModelArtifacts names the problem). */
async function loadModel(file: string): Promise<tfTypes.LayersModel> {
  await import('../models/blurpool'); // registers Tessera's custom layers before deserialising
  const { readModelArtifacts } = await import('../data/model-file');
  const tf = await import('@tensorflow/tfjs');
  const artifacts = readModelArtifacts(file);
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (err) {
    throw new UserError(
      `model: cannot build a model from ${file} (${(err as Error).message}); expected a TensorFlow.js layers model saved by model.save ` +
        `or tensorflowjs_converter`,
    );
  }
}

/** Parses --class-names: a comma-separated list, or a file with one name per line; K names needed. */
function classNames(args: ParsedArgs, K: number): string[] | undefined {
  const v = stringFlag(args, 'class-names');
  if (v === undefined) return undefined;
  const names =
    fs.existsSync(v) && fs.statSync(v).isFile()
      ? fs
          .readFileSync(v, 'utf8')
          .split(/\r?\n/)
          .map((s) => s.trim())
          .filter(Boolean)
      : v.split(',').map((s) => s.trim());
  if (names.length !== K)
    throw new UserError(`explain: --class-names gives ${names.length} names, the model has ${K} classes; give one name per class`);
  return names;
}

/** Method options from the flags (only those given, so that each method keeps its own defaults). */
function methodOptions(args: ParsedArgs): Record<string, unknown> {
  const o: Record<string, unknown> = {};
  if (args.flags['batch-size'] !== undefined) o.batchSize = intFlag(args, 'batch-size', 32, { min: 1 });
  if (args.flags.steps !== undefined) o.steps = intFlag(args, 'steps', 16, { min: 1 });
  const baseline = stringFlag(args, 'baseline');
  if (baseline !== undefined) {
    if (baseline === 'mean-colour' || baseline === 'black') o.baseline = baseline;
    else {
      const g = Number(baseline);
      if (!Number.isFinite(g) || g < 0 || g > 1)
        throw new UserError(`explain: --baseline expects mean-colour, black or a grey level in [0,1], found "${baseline}"`);
      o.baseline = g;
    }
  }
  if (args.flags.window !== undefined) o.window = intFlag(args, 'window', 1, { min: 1 });
  if (args.flags.stride !== undefined) o.stride = intFlag(args, 'stride', 1, { min: 1 });
  const maskSteps = stringFlag(args, 'mask-steps');
  if (maskSteps !== undefined) {
    const [a, b] = maskSteps.split(',').map(Number);
    if (!(Number.isInteger(a) && Number.isInteger(b) && a >= 0 && b >= 0) || maskSteps.split(',').length !== 2)
      throw new UserError(`explain: --mask-steps expects two non-negative integers A,B (stage 1 and stage 2 steps), found "${maskSteps}"`);
    o.stage1 = { iterations: a };
    o.stage2 = { iterations: b };
  }
  const fill = stringFlag(args, 'fill');
  if (fill !== undefined) {
    if (!['mean', 'zero', 'blur'].includes(fill)) throw new UserError(`explain: --fill expects mean, zero or blur, found "${fill}"`);
    o.fill = fill;
  }
  return o;
}

/** Options for one method: the sliding window gets sub-image windows by default (the whole image is one cell). */
function optionsFor(id: string, opts: Record<string, unknown>, side: number): Record<string, unknown> {
  if (id !== 'sliding-window') return opts;
  const window = (opts.window as number | undefined) ?? Math.max(1, Math.floor(side / 2));
  return { ...opts, window, stride: (opts.stride as number | undefined) ?? Math.max(1, Math.floor(window / 4)) };
}

/** Whether the model's output is already a softmax (else it is logits). */
function outputsProbabilities(model: tfTypes.LayersModel): boolean {
  const last = model.layers[model.layers.length - 1];
  const cfg = last.getConfig() as { activation?: string };
  return cfg.activation === 'softmax' || last.getClassName() === 'Softmax';
}

function softmaxRow(v: ArrayLike<number>, i: number, K: number): number[] {
  const row = Array.from({ length: K }, (_, k) => v[i * K + k]);
  const m = Math.max(...row);
  const e = row.map((x) => Math.exp(x - m));
  const s = e.reduce((a, b) => a + b, 0);
  return e.map((x) => x / s);
}

/** A short number for labels. */
function fmt(v: number): string {
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e4 || a < 1e-3) return v.toExponential(1);
  return String(Number(v.toPrecision(2)));
}

// ---- drawing -------------------------------------------------------------------------------------------------------

interface Drawing {
  raster: typeof import('../plot/images').raster;
  toRgb: typeof import('../plot/images').toRgb;
  upscale: typeof import('../plot/images').upscale;
  colormap: typeof import('../plot/images').colormap;
  overlayHeatmap: typeof import('../plot/overlay').overlayHeatmap;
  colourRange: typeof import('../plot/overlay').colourRange;
  onImageGrid: typeof import('../explain/heatmaps').onImageGrid;
  text: typeof import('../plot/text');
}

async function drawing(): Promise<Drawing> {
  const images = await import('../plot/images');
  const overlay = await import('../plot/overlay');
  const heatmaps = await import('../explain/heatmaps');
  return {
    raster: images.raster,
    toRgb: images.toRgb,
    upscale: images.upscale,
    colormap: images.colormap,
    overlayHeatmap: overlay.overlayHeatmap,
    colourRange: overlay.colourRange,
    onImageGrid: heatmaps.onImageGrid,
    text: await import('../plot/text'),
  };
}

function paste(dst: Raster, src: Raster, x0: number, y0: number): void {
  for (let y = 0; y < src.height; y++) {
    for (let x = 0; x < src.width; x++) {
      const s = (y * src.width + x) * src.channels;
      const d = ((y0 + y) * dst.width + x0 + x) * dst.channels;
      for (let c = 0; c < 3; c++) dst.data[d + c] = src.data[s + (src.channels === 1 ? 0 : c)];
    }
  }
}

/** What a panel shows of one method on one image: the overlay and its colour key. */
interface PanelData {
  overlay: Raster;
  signed: boolean;
  lo: number;
  hi: number;
}

function panelData(d: Drawing, image: Raster, h: Heatmaps, i: number, scale: number): PanelData {
  const [lo, hi] = d.colourRange(d.onImageGrid(h, i), h.signed, 99);
  return { overlay: d.overlayHeatmap(image, h, i, { scale }), signed: h.signed, lo, hi };
}

/** A colour key `width` px wide: the bar (as overlayHeatmap colours) with its end values (and 0 when signed) below. */
function colourKey(d: Drawing, p: PanelData, width: number, ts: number): Raster {
  const barH = 6 * ts;
  const out = d.raster(width, barH + 2 + d.text.LINE_HEIGHT * ts, 3, 255);
  for (let x = 0; x < width; x++) {
    const col = d.colormap(p.signed ? 'RdBu_r' : 'jet', x / Math.max(1, width - 1));
    for (let y = 0; y < barH; y++) out.data.set(col, (y * width + x) * 3);
  }
  const y = barH + 2;
  const lo = fmt(p.lo);
  const hi = fmt(p.hi);
  d.text.drawText(out, lo, 0, y, { scale: ts });
  d.text.drawText(out, hi, width - d.text.textWidth(hi, ts), y, { scale: ts });
  if (p.signed) d.text.drawText(out, '0', Math.round(width / 2 - d.text.textWidth('0', ts) / 2), y, { scale: ts });
  return out;
}

/** Lines of text stacked into a white raster `width` px wide (each line wrapped at spaces to fit). */
function textBlock(d: Drawing, text: string[], width: number, ts: number, colour: [number, number, number] = [0, 0, 0]): Raster {
  const lines = text.flatMap((l) => (l ? d.text.wrapText(l, width, ts) : ['']));
  const out = d.raster(width, lines.length * d.text.LINE_HEIGHT * ts, 3, 255);
  lines.forEach((l, k) => d.text.drawText(out, d.text.fitText(l, width, ts), 0, k * d.text.LINE_HEIGHT * ts, { scale: ts, colour }));
  return out;
}

/** Rasters stacked vertically (left-aligned) with `gap` px between, on white, with a `margin`. */
function stack(d: Drawing, parts: Raster[], gap: number, margin: number): Raster {
  const w = Math.max(...parts.map((p) => p.width)) + 2 * margin;
  const h = parts.reduce((s, p) => s + p.height, 0) + gap * (parts.length - 1) + 2 * margin;
  const out = d.raster(w, h, 3, 255);
  let y = margin;
  for (const p of parts) {
    paste(out, p, margin, y);
    y += p.height + gap;
  }
  return out;
}

/** Rasters side by side (top-aligned) with `gap` px between, on white. */
function row(d: Drawing, parts: Raster[], gap: number): Raster {
  const w = parts.reduce((s, p) => s + p.width, 0) + gap * (parts.length - 1);
  const out = d.raster(w, Math.max(...parts.map((p) => p.height)), 3, 255);
  let x = 0;
  for (const p of parts) {
    paste(out, p, x, 0);
    x += p.width + gap;
  }
  return out;
}

/** The text size for images `side` px wide. */
const textScale = (side: number) => (side >= 160 ? 2 : 1);

/** The overlay PNG of one image and method: title lines, the image beside its overlay, the colour key, its meaning. */
function overlayFigure(d: Drawing, image: Raster, label: string, lines: string[], p: PanelData, scale: number): Raster {
  const big = d.upscale(d.toRgb(image), scale);
  const ts = textScale(big.width);
  const gap = 4 * ts;
  const body = row(d, [big, p.overlay], gap);
  const key = row(d, [d.raster(big.width, 1, 3, 255), colourKey(d, p, p.overlay.width, ts)], gap);
  const meaning = p.signed ? 'red: for the target, blue: against' : 'blue to red: low to high';
  return stack(
    d,
    [
      textBlock(d, [label], body.width, ts),
      textBlock(d, lines, body.width, ts, [60, 60, 60]),
      body,
      key,
      textBlock(d, [meaning], body.width, ts, [60, 60, 60]),
    ],
    gap,
    2 * gap,
  );
}

/** One row per image: the image, then every method's overlay with its label above and colour key below. */
function sheetFigure(d: Drawing, image: Raster, lines: string[], panels: { label: string; p: PanelData }[], scale: number): Raster {
  const big = d.upscale(d.toRgb(image), scale);
  const ts = textScale(big.width);
  const gap = 4 * ts;
  const labelLines = Math.max(...panels.map((q) => d.text.wrapText(q.label, big.width, ts).length));
  const column = (label: string, img: Raster, p?: PanelData) => {
    const wrapped = d.text.wrapText(label, big.width, ts);
    const head = textBlock(d, [...wrapped, ...Array(labelLines - wrapped.length).fill('')], big.width, ts);
    const parts = [head, img];
    if (p) parts.push(colourKey(d, p, img.width, ts));
    return stack(d, parts, gap, 0);
  };
  const columns = [column('image', big), ...panels.map((q) => column(q.label, q.p.overlay, q.p))];
  const body = row(d, columns, 2 * gap);
  return stack(d, [textBlock(d, lines, body.width, ts), body], 2 * gap, 2 * gap);
}

// ---- the command ---------------------------------------------------------------------------------------------------

const NEEDS: Record<string, string> = {
  gradients: 'gradients',
  gapHead: 'a GAP -> dense head',
  bagnet: 'a BagNet',
  modelConfig: 'its build config (tessera train --save)',
};

function needsText(e: MethodEntry): string {
  const n = Object.entries(e.info.needs)
    .filter(([, v]) => v)
    .map(([k]) => NEEDS[k] ?? k);
  return n.length ? n.join(', ') : 'nothing';
}

async function listMethods(args: ParsedArgs): Promise<number> {
  const { METHODS } = await import('../explain/index');
  const modelFile = stringFlag(args, 'model');
  let applies: ((e: MethodEntry) => string | null) | undefined;
  if (modelFile) {
    const { initEngine } = await import('../engine');
    await initEngine({ backend: stringFlag(args, 'backend'), quiet: true });
    const model = await loadModel(modelFile);
    const ctx: ModelContext = { config: savedConfig(modelFile) };
    applies = (e) => e.problem(model, ctx);
  }
  if (args.flags.json) {
    const rows = METHODS.map((e) => {
      const problem = applies?.(e);
      return { ...e.info, ...(applies ? { applies: !problem, problem: problem ?? null } : {}) };
    });
    console.log(JSON.stringify(rows, null, 2));
    return 0;
  }
  const idW = Math.max(...METHODS.map((e) => e.info.id.length));
  const labelW = Math.max(...METHODS.map((e) => e.info.label.length));
  const pad = ' '.repeat(idW + 2);
  const lines = [`methods (${METHODS.length})${modelFile ? `, for ${modelFile}` : ''}:`];
  for (const e of METHODS) {
    lines.push(
      `${e.info.id.padEnd(idW)}  ${e.info.label.padEnd(labelW)}  ${e.info.signed ? 'signed  ' : 'unsigned'}  needs: ${needsText(e)}`,
    );
    lines.push(`${pad}${e.info.summary}`);
    if (applies) {
      const problem = applies(e);
      lines.push(`${pad}${problem ? `does not apply: it ${problem}` : 'applies'}`);
    }
  }
  console.log(lines.join('\n'));
  return 0;
}

/** The out folder, checked: absent, empty, or a previous explain output (which is replaced). */
function checkOut(out: string): void {
  if (!fs.existsSync(out)) {
    const parent = path.dirname(out);
    if (fs.existsSync(parent) && !fs.statSync(parent).isDirectory())
      throw new UserError(`explain: --out ${out}: ${parent} is a file, not a folder; choose another --out`);
    return;
  }
  if (!fs.statSync(out).isDirectory())
    throw new UserError(`explain: --out ${out} is a file; expected a folder to create; choose another --out`);
  const entries = fs.readdirSync(out);
  if (entries.length && !entries.includes('explain.json')) {
    throw new UserError(
      `explain: --out ${out} exists and is not a previous explain output (no explain.json); it would be replaced: choose a new folder or ` +
        `remove it`,
    );
  }
}

export const command: Command = {
  name: 'explain',
  summary: "explain a tfjs model's predictions on PNG/JPEG images with any method: overlay PNGs, maps as JSON",
  usage: USAGE,
  async run(argv) {
    const args = parseArgs(argv, { command: 'explain', values: VALUES, booleans: ['list', 'json'] });
    if (args.positional.length)
      throw new UserError(`explain: unexpected argument "${args.positional[0]}"; every input is a flag (see tessera explain --help)`);
    if (args.flags.list) return listMethods(args);
    const t0 = Date.now();

    // Everything the flags alone can settle, before any file is read.
    const modelFile = stringFlag(args, 'model');
    const imagesPath = stringFlag(args, 'images');
    const methodArg = stringFlag(args, 'method');
    if (!modelFile)
      throw new UserError('explain: --model FILE is required (a TensorFlow.js model.json, e.g. from `tessera train --save DIR`)');
    if (!imagesPath) throw new UserError('explain: --images PATH is required (a PNG/JPEG file or a folder of them)');
    if (!methodArg)
      throw new UserError(
        'explain: --method is required: a method id, several separated by commas, or "all" (tessera explain --list shows them)',
      );
    const { METHODS, methodEntry } = await import('../explain/index');
    const all = methodArg === 'all';
    const requested = all ? METHODS : [...new Set(methodArg.split(',').map((m) => methodEntry(m.trim())))];
    const fit = stringFlag(args, 'fit', 'cover');
    if (!['cover', 'contain', 'fill'].includes(fit)) throw new UserError(`explain: --fit expects cover, contain or fill, found "${fit}"`);
    const opts = methodOptions(args);
    const out = path.resolve(stringFlag(args, 'out', 'explanations'));
    checkOut(out);
    const images = listImages(imagesPath, out);

    // The model and its input.
    const { initEngine } = await import('../engine');
    const engine = await initEngine({ backend: stringFlag(args, 'backend'), quiet: true });
    const tf = await import('@tensorflow/tfjs');
    const model = await loadModel(modelFile);
    const ctx: ModelContext = { config: savedConfig(modelFile) };
    const shape = model.inputs[0].shape;
    const C = shape[3];
    if (C !== 1 && C !== 3)
      throw new UserError(
        `explain: the model takes ${C ?? 'any number of'} channels; images can be given as 1 (grey) or 3 (RGB) channels only`,
      );
    if (shape[1] == null || shape[2] == null) {
      if (args.flags['image-size'] === undefined)
        throw new UserError('explain: the model has no fixed input size; pass --image-size N (the side images are resized to)');
    } else if (args.flags['image-size'] !== undefined && intFlag(args, 'image-size', 0) !== shape[1]) {
      throw new UserError(
        `explain: --image-size ${args.flags['image-size']} differs from the model's fixed ${shape[1]}x${shape[2]} input; drop --image-size`,
      );
    }
    const H: number = shape[1] ?? intFlag(args, 'image-size', 0, { min: 1 });
    const W: number = shape[2] ?? H;
    if (H !== W) throw new UserError(`explain: the model takes ${H}x${W} images; the image loader makes square images only`);
    const { numClasses } = await import('../explain/method');
    const K = numClasses(model);
    const names = classNames(args, K);
    const target = args.flags.target !== undefined ? intFlag(args, 'target', 0) : undefined;
    if (target !== undefined && (target < 0 || target >= K))
      throw new UserError(`explain: --target ${target} is out of range: the model has ${K} classes (0..${K - 1})`);

    for (const flag of ['window', 'stride'] as const) {
      if (opts[flag] !== undefined && (opts[flag] as number) > H)
        throw new UserError(`explain: --${flag} ${opts[flag]} exceeds the ${H} px side of the model's input images; pass at most ${H}`);
    }

    // Images, decoded as ImageFolder decodes them (a bad file is a UserError naming it).
    const { decodeImage, mapLimit } = await import('../data/decode');
    const per = H * W * C;
    const bytes = new Uint8Array(images.length * per);
    await mapLimit(images, 4, async (im, i) => {
      bytes.set((await decodeImage(im.file, { size: H, fit: fit as Fit, channels: C as 1 | 3 })).data, i * per);
    });

    // Which methods run.
    const methods: MethodEntry[] = [];
    const skipped: { id: string; reason: string }[] = [];
    for (const e of requested) {
      const problem = e.problem(model, ctx);
      if (!problem) methods.push(e);
      else if (all) skipped.push({ id: e.info.id, reason: `it ${problem}` });
      else
        throw new UserError(
          `explain: method "${e.info.id}" cannot explain ${modelFile}: it ${problem}; pick another method (tessera explain --list ` +
            `--model FILE shows which apply)`,
        );
    }
    const describe = `${H}x${W}x${C} -> ${K} classes${outputsProbabilities(model) ? ' (softmax output)' : ''}`;
    console.log(
      `explain: ${path.resolve(modelFile)} (${describe}), ${images.length} image${images.length === 1 ? '' : 's'}, backend ` +
        `${engine.backend}`,
    );
    for (const s of skipped) console.log(`skipped ${s.id}: ${s.reason}`);

    const chunks: [number, number][] = [];
    for (let s = 0; s < images.length; s += CHUNK) chunks.push([s, Math.min(CHUNK, images.length - s)]);
    const tensorOf = (start: number, count: number) =>
      tf.tidy(
        () =>
          tf.div(
            tf.tensor4d(bytes.subarray(start * per, (start + count) * per), [count, H, W, C], 'int32').toFloat(),
            255,
          ) as tfTypes.Tensor4D,
      );

    // Predictions and targets.
    const { predictLogits, argmaxRows } = await import('../train/metrics');
    const outputs = new Float32Array(images.length * K);
    for (const [start, count] of chunks) {
      const x = tensorOf(start, count);
      outputs.set(predictLogits(model, x, (opts.batchSize as number | undefined) ?? 128), start * K);
      x.dispose();
    }
    const predicted = argmaxRows(outputs, K);
    const probs = images.map((_, i) =>
      outputsProbabilities(model) ? Array.from(outputs.subarray(i * K, (i + 1) * K)) : softmaxRow(outputs, i, K),
    );
    const targets = images.map((_, i) => target ?? predicted[i]);

    // Every method on every image.
    const { Progress } = await import('../util/progress');
    const results: { entry: MethodEntry; maps: Heatmaps; seconds: number }[] = [];
    for (const entry of methods) {
      const t1 = Date.now();
      const method = entry.create(model, ctx);
      const parts: Heatmaps[] = [];
      const bar = chunks.length > 1 ? new Progress(entry.info.id, images.length) : undefined;
      for (const [start, count] of chunks) {
        const x = tensorOf(start, count);
        try {
          parts.push(method.attribute(x, targets.slice(start, start + count), optionsFor(entry.info.id, opts, H)));
        } finally {
          x.dispose();
        }
        bar?.tick(count);
      }
      bar?.finish();
      const values = new Float32Array(parts.reduce((s, p) => s + p.values.length, 0));
      let off = 0;
      for (const p of parts) {
        values.set(p.values, off);
        off += p.values.length;
      }
      const maps: Heatmaps = { ...parts[0], n: images.length, targets: parts.flatMap((p) => p.targets), values };
      const seconds = (Date.now() - t1) / 1000;
      results.push({ entry, maps, seconds });
      console.log(
        `${entry.info.id.padEnd(22)} ${String(images.length).padStart(4)} x ${`${maps.height}x${maps.width}`.padEnd(7)} map  ` +
          `${seconds.toFixed(2)} s`,
      );
    }

    // Figures and JSON, all in memory, then the folder in one rename.
    const t2 = Date.now();
    const d = await drawing();
    const { encodePng } = await import('../plot/images');
    const scale =
      args.flags.scale !== undefined ? intFlag(args, 'scale', 1, { min: 1, max: 64 }) : Math.max(1, Math.ceil(MIN_SIDE / Math.max(H, W)));
    const className = (k: number) => (names ? `${k} ${names[k]}` : String(k));
    const files = new Map<string, Buffer | string>();
    const imageRecords = [];
    for (let i = 0; i < images.length; i++) {
      const image: Raster = { width: W, height: H, channels: C, data: bytes.subarray(i * per, (i + 1) * per) };
      const p = probs[i][predicted[i]];
      const lines = [
        path.basename(images[i].file),
        target === undefined
          ? `target: ${className(predicted[i])} (predicted, p=${p.toFixed(2)})`
          : `target: ${className(targets[i])} (p=${probs[i][targets[i]].toFixed(2)}); predicted: ${className(predicted[i])} ` +
            `(p=${p.toFixed(2)})`,
      ];
      const panels: { label: string; p: PanelData }[] = [];
      const overlays: Record<string, string> = {};
      for (const r of results) {
        const data = panelData(d, image, r.maps, i, scale);
        panels.push({ label: r.entry.info.label, p: data });
        const file = `overlays/${images[i].name}.${r.entry.info.id}.png`;
        files.set(file, await encodePng(overlayFigure(d, image, r.entry.info.label, lines, data, scale)));
        overlays[r.entry.info.id] = file;
      }
      let sheet: string | null = null;
      if (results.length > 1) {
        sheet = `sheets/${images[i].name}.png`;
        files.set(sheet, await encodePng(sheetFigure(d, image, lines, panels, scale)));
      }
      imageRecords.push({
        name: images[i].name,
        file: path.resolve(images[i].file),
        prediction: predicted[i],
        ...(names ? { prediction_name: names[predicted[i]] } : {}),
        probability: p,
        target: targets[i],
        ...(names ? { target_name: names[targets[i]] } : {}),
        target_probability: probs[i][targets[i]],
        overlays,
        sheet,
      });
    }
    const digits = (v: number) => Number(v.toPrecision(7));
    for (const r of results) {
      const h = r.maps;
      const values = Array.from({ length: h.n }, (_, i) =>
        Array.from({ length: h.height }, (_, y) =>
          Array.from(h.values.subarray((i * h.height + y) * h.width, (i * h.height + y + 1) * h.width), digits),
        ),
      );
      const json = {
        method: h.method,
        label: r.entry.info.label,
        signed: h.signed,
        n: h.n,
        height: h.height,
        width: h.width,
        imageHeight: h.imageHeight,
        imageWidth: h.imageWidth,
        targets: h.targets,
        geometry: h.geometry,
        images: images.map((im) => im.name),
        predictions: predicted,
        options: optionsFor(h.method, opts, H),
        values,
      };
      files.set(`maps/${h.method}.json`, JSON.stringify(json) + '\n');
    }
    const figureSeconds = (Date.now() - t2) / 1000;
    const seconds = (Date.now() - t0) / 1000;
    const summary = {
      command: 'tessera explain',
      model: path.resolve(modelFile),
      model_config: ctx.config ?? null,
      input: { height: H, width: W, channels: C, fit },
      classes: K,
      class_names: names ?? null,
      output: outputsProbabilities(model) ? 'probabilities' : 'logits',
      backend: engine.backend,
      target: target ?? 'predicted',
      options: opts,
      scale,
      images: imageRecords,
      methods: results.map((r) => ({
        id: r.entry.info.id,
        label: r.entry.info.label,
        signed: r.entry.info.signed,
        map_size: [r.maps.height, r.maps.width],
        geometry: r.maps.geometry,
        options: optionsFor(r.entry.info.id, opts, H),
        seconds: r.seconds,
        maps: `maps/${r.entry.info.id}.json`,
      })),
      skipped,
      figure_seconds: figureSeconds,
      seconds,
    };
    files.set('explain.json', JSON.stringify(summary, null, 2) + '\n');
    const { writeDirAtomic } = await import('../util/atomic');
    await writeDirAtomic(out, (tmp) => {
      for (const [rel, data] of files) {
        fs.mkdirSync(path.dirname(path.join(tmp, rel)), { recursive: true });
        fs.writeFileSync(path.join(tmp, rel), data);
      }
    });
    model.dispose();
    const pngs = [...files.keys()].filter((f) => f.endsWith('.png'));
    const sheets = pngs.filter((f) => f.startsWith('sheets/')).length;
    console.log(
      `wrote ${pngs.length - sheets} ` +
        `overlay${pngs.length - sheets === 1 ? '' : 's'}${sheets ? `, ${sheets} sheet${sheets === 1 ? '' : 's'}` : ''}, ` +
        `${results.length} map file${results.length === 1 ? '' : 's'} and explain.json to ${out} in ` +
        `${((Date.now() - t0) / 1000).toFixed(1)} s ` +
        `(methods ${results.reduce((a, r) => a + r.seconds, 0).toFixed(1)} s, figures ${figureSeconds.toFixed(1)} s)`,
    );
    return 0;
  },
};
