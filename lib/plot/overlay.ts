import { Heatmaps, onImageGrid } from '../explain/heatmaps';
import { blend, colormap, ColormapName, raster, Raster, toRgb, upscale } from './images';

/**
 * A heatmap drawn over its image, placed through the map's geometry (`onImageGrid`: every cell a tile centred on its
 * field), not stretched over the whole image. Signed maps: RdBu_r symmetric around 0 (red = evidence for the class);
 * unsigned maps: `cmap` from 0 (or the minimum, if negative) up. The colour range is clipped at the `percentile` of
 * |value|; pixels no cell covers show the image alone.
 */
export interface OverlayOptions {
  /** Opacity of the map (default 0.6). */
  alpha?: number;
  /** Percentile of |value| that saturates the colours (default 99, as the BagNet reference code). */
  percentile?: number;
  /** Colour map of unsigned maps (default 'jet'). */
  cmap?: ColormapName;
  /** Nearest-neighbour upscaling of image and map (default 1). */
  scale?: number;
}

/** The colour range of finite values: [-m, m] (signed) or [lo, m], m the `percentile` of |v|. */
export function colourRange(values: ArrayLike<number>, signed: boolean, percentile = 99): [number, number] {
  const finite = Array.from(values).filter((v) => Number.isFinite(v));
  if (!finite.length) return [-1, 1];
  const abs = finite.map((v) => Math.abs(v)).sort((a, b) => a - b);
  const m = abs[Math.min(abs.length - 1, Math.max(0, Math.ceil((percentile / 100) * abs.length) - 1))] || 1e-12;
  return signed ? [-m, m] : [Math.min(0, ...finite), m];
}

/** The map of image `i` over `image` (its raster, of the map's image size). */
export function overlayHeatmap(image: Raster, h: Heatmaps, i: number, opts: OverlayOptions = {}): Raster {
  if (image.width !== h.imageWidth || image.height !== h.imageHeight) {
    throw new Error(
      `overlayHeatmap: the image is ${image.width}x${image.height}, the maps explain ${h.imageWidth}x${h.imageHeight} images`,
    );
  }
  const values = onImageGrid(h, i);
  const [lo, hi] = colourRange(values, h.signed, opts.percentile ?? 99);
  const cmap: ColormapName = h.signed ? 'RdBu_r' : (opts.cmap ?? 'jet');
  const colours = raster(image.width, image.height, 3);
  const alpha = new Float32Array(image.width * image.height);
  for (let p = 0; p < alpha.length; p++) {
    if (!Number.isFinite(values[p])) continue;
    colours.data.set(colormap(cmap, Math.min(1, Math.max(0, (values[p] - lo) / (hi - lo || 1)))), p * 3);
    alpha[p] = opts.alpha ?? 0.6;
  }
  const scale = opts.scale ?? 1;
  const out = blend(toRgb(image), colours, alpha);
  return scale > 1 ? upscale(out, scale) : out;
}
