import type { Heatmaps } from '../explain/heatmaps';
import { boundaryPixels, ColormapName, drawBox, encodePng, grid, heatmap, raster, Raster, toRgb, upscale } from './images';
import { overlayHeatmap } from './overlay';
import type { PlotSpec } from './spec';

/**
 * Labelled raster panels: a grid of cells (images, heatmaps, maps placed by their geometry, with boxes and contours)
 * with column titles and row labels, shown as one plotly image trace. Pure data in, plotly spec out.
 */

export type Rgb = [number, number, number];

/** A rectangle [y0, y1) x [x0, x1) in the cell's own pixels (e.g. `cellField` of a map cell, a top crop's window). */
export interface PanelBox {
  y0: number;
  x0: number;
  y1: number;
  x1: number;
  /** Default yellow (reads on grey images and on RdBu_r maps alike). */
  colour?: Rgb;
}

/** The outline of a mask: [height*width] of the cell, 0 = outside; a label map's regions are outlined one by one. */
export interface PanelContour {
  mask: ArrayLike<number>;
  /** Default green. */
  colour?: Rgb;
}

/** Marks drawn on top of any cell, 1 px thin at the panel's magnification (boxes clipped to the cell). */
export interface PanelMarks {
  boxes?: PanelBox[];
  contours?: PanelContour[];
}

/** An image as it is. */
export interface ImageCell extends PanelMarks {
  image: Raster;
}

/**
 * A plane of `height*width` values drawn value for value (stretched over the cell if coarser than its neighbours):
 * per-pixel maps such as a patch sweep. RdBu_r symmetric around 0, clipped at the `percentile` (default 99) of |v|.
 */
export interface HeatCell extends PanelMarks {
  heat: ArrayLike<number>;
  width: number;
  height: number;
  percentile?: number;
}

/**
 * Map `index` of `maps` on its image's pixel grid (`onImageGrid`: each map cell a tile centred on its field), so a
 * coarse map sits where its fields are. Over `image` (of the maps' image size) it is blended with `alpha` (default
 * 0.6) and uncovered pixels show the image; alone, it is opaque and uncovered pixels are neutral grey. Colours as
 * `overlayHeatmap`: signed maps RdBu_r symmetric at the `percentile` (default 99); unsigned maps `cmap` from 0.
 */
export interface MapCell extends PanelMarks {
  maps: Heatmaps;
  index: number;
  image?: Raster;
  alpha?: number;
  percentile?: number;
  cmap?: ColormapName;
}

/** One cell of a labelled panel; a missing cell in a short row is left blank. */
export type PanelCell = ImageCell | HeatCell | MapCell;

const BOX_COLOUR: Rgb = [255, 200, 0];
const CONTOUR_COLOUR: Rgb = [0, 200, 0];
/** Pixels no map cell covers, in a map drawn alone: darker than RdBu_r's near-white 0, so "no field" differs from "no evidence". */
const UNCOVERED_GREY = 200;

/** A heatmap as the BagNet reference code draws it: RdBu_r, symmetric around 0, clipped at the 99th percentile of |h|. */
export function evidenceRaster(values: ArrayLike<number>, width: number, height: number, percentile = 99): Raster {
  return heatmap(values, width, height, { symmetric: true, percentile, cmap: 'RdBu_r' });
}

/** The cell's pixels before magnification and marks (RGB). */
export function cellRaster(cell: PanelCell): Raster {
  if ('maps' in cell) {
    const under = cell.image ?? raster(cell.maps.imageWidth, cell.maps.imageHeight, 3, UNCOVERED_GREY);
    const alpha = cell.image ? (cell.alpha ?? 0.6) : 1;
    return overlayHeatmap(under, cell.maps, cell.index, { alpha, percentile: cell.percentile ?? 99, cmap: cell.cmap });
  }
  if ('heat' in cell) return evidenceRaster(cell.heat, cell.width, cell.height, cell.percentile ?? 99);
  return toRgb(cell.image);
}

/**
 * `img` (a cell magnified `factor` times, RGB) with the cell's marks drawn in place, in cell pixels scaled by `factor`:
 * boxes as 1 px outlines hugging the boxed pixels, contours as the 1 px boundary of the magnified mask.
 */
export function drawMarks(img: Raster, marks: PanelMarks, factor: number): Raster {
  const w = img.width / factor;
  const h = img.height / factor;
  for (const c of marks.contours ?? []) {
    const edge = boundaryPixels(c.mask, w, h, factor);
    for (let p = 0; p < edge.length; p++) if (edge[p]) img.data.set(c.colour ?? CONTOUR_COLOUR, p * 3);
  }
  for (const b of marks.boxes ?? []) {
    // Clipped to the cell so that a field reaching past the image (padding) still shows all four sides.
    const [x0, y0, x1, y1] = [Math.max(0, b.x0), Math.max(0, b.y0), Math.min(w, b.x1), Math.min(h, b.y1)];
    if (x1 > x0 && y1 > y0) drawBox(img, [x0 * factor, y0 * factor, x1 * factor, y1 * factor], b.colour ?? BOX_COLOUR);
  }
  return img;
}

/**
 * Cells laid out row by row into one raster, each cell upscaled by `scale` (nearest neighbour) to the size of the
 * largest, marks drawn after magnification; `pad` px of white between cells. Returns the raster and the pixel
 * centres of the columns and rows (for labels).
 */
export function panelRaster(
  rows: readonly (readonly (PanelCell | undefined)[])[],
  scale: number,
  pad = 4,
): { raster: Raster; colCentres: number[]; rowCentres: number[] } {
  const cols = Math.max(...rows.map((r) => r.length));
  const cells = rows.flatMap((row) => Array.from({ length: cols }, (_, j) => row[j]));
  const bases = cells.map((c) => (c ? cellRaster(c) : raster(1, 1, 3, 255)));
  const cw = Math.max(...bases.map((c) => c.width));
  // Upscale every cell to (about) the same size so that patches of different sizes stay comparable.
  const scaled = bases.map((b, k) => {
    const factor = Math.max(1, Math.round((scale * cw) / b.width));
    const big = upscale(b, factor);
    const cell = cells[k];
    // upscale returns its input when factor is 1: copy before drawing marks, never into the caller's image.
    return cell?.boxes?.length || cell?.contours?.length ? drawMarks(big === b ? { ...b, data: b.data.slice() } : big, cell, factor) : big;
  });
  const out = grid(scaled, { cols, pad, background: 255 });
  const cellW = Math.max(...scaled.map((c) => c.width));
  const cellH = Math.max(...scaled.map((c) => c.height));
  return {
    raster: out,
    colCentres: Array.from({ length: cols }, (_, j) => pad + j * (cellW + pad) + cellW / 2),
    rowCentres: rows.map((_, i) => pad + i * (cellH + pad) + cellH / 2),
  };
}

/**
 * A raster shown as one plotly image trace (`source`: a PNG data URI), with column titles above and row labels on
 * the left; label positions are raster pixels (x of a column's centre, y of a row's centre). `png` is the raster's
 * PNG encoding.
 */
export function rasterFigure(opts: {
  title: string;
  png: Uint8Array;
  width: number;
  height: number;
  colLabels?: { x: number; text: string }[];
  rowLabels?: { y: number; text: string }[];
}): PlotSpec {
  // The plot area gets exactly the raster's size (no scaling), plus margins for the labels.
  const left = opts.rowLabels?.length ? 200 : 10;
  const top = 60 + (opts.colLabels?.length ? 24 : 0);
  const label = { showarrow: false, font: { size: 12 } };
  const annotations = [
    ...(opts.colLabels ?? []).map((c) => ({ ...label, x: c.x, y: 1, xref: 'x', yref: 'paper', text: c.text, yanchor: 'bottom' })),
    ...(opts.rowLabels ?? []).map((r) => ({ ...label, x: 0, y: r.y, xref: 'paper', yref: 'y', text: r.text, xanchor: 'right' })),
  ];
  const b64 = Buffer.from(opts.png).toString('base64');
  return {
    data: [{ type: 'image', source: `data:image/png;base64,${b64}`, x0: 0, y0: 0, dx: 1, dy: 1, hoverinfo: 'skip' }],
    layout: {
      title: { text: opts.title },
      width: opts.width + left + 10,
      height: opts.height + top + 10,
      margin: { t: top, l: left, r: 10, b: 10 },
      xaxis: { visible: false, range: [0, opts.width] },
      yaxis: { visible: false, range: [opts.height, 0] },
      annotations,
    },
  };
}

/**
 * Labelled panels in one call: `panelRaster` of `rows` (rows x columns of cells), encoded as PNG, with one title per
 * column (`colLabels[j]`) and one label per row (`rowLabels[i]`). `scale` magnifies each pixel (default 1).
 */
export async function labelledPanels(opts: {
  title: string;
  rows: readonly (readonly (PanelCell | undefined)[])[];
  colLabels?: readonly string[];
  rowLabels?: readonly string[];
  scale?: number;
  pad?: number;
}): Promise<PlotSpec> {
  const { raster: r, colCentres, rowCentres } = panelRaster(opts.rows, opts.scale ?? 1, opts.pad);
  return rasterFigure({
    title: opts.title,
    png: await encodePng(r),
    width: r.width,
    height: r.height,
    colLabels: opts.colLabels?.map((text, j) => ({ x: colCentres[j], text })),
    rowLabels: opts.rowLabels?.map((text, i) => ({ y: rowCentres[i], text })),
  });
}
