/**
 * Text on rasters without fonts installed: a 5x8 bitmap font (the classic 5x7 LCD glyphs with descenders, printable
 * ASCII) drawn at an integer scale. For labels on PNGs written headless (`tessera explain`); plotly figures carry their
 * own text.
 */
import { Raster } from './images';

/** Glyphs of ASCII 32..126: five columns each, bit 0 the top row, bit 7 the descender row. */
const GLYPHS =
  '0000000000 00005f0000 0007000700 147f147f14 242a7f2a12 2313086462 3649562050 0008070300 001c224100 0041221c00 ' +
  '2a1c7f1c2a 08083e0808 0080703000 0808080808 0000606000 2010080402 3e5149453e 00427f4000 7249494946 2141494d33 ' +
  '1814127f10 2745454539 3c4a494931 4121110907 3649494936 464949291e 0000140000 0040340000 0008142241 1414141414 ' +
  '0041221408 0201590906 3e415d594e 7c1211127c 7f49494936 3e41414122 7f4141413e 7f49494941 7f09090901 3e41415173 ' +
  '7f0808087f 00417f4100 2040413f01 7f08142241 7f40404040 7f021c027f 7f0408107f 3e4141413e 7f09090906 3e4151215e ' +
  '7f09192946 2649494932 03017f0103 3f4040403f 1f2040201f 3f4038403f 6314081463 0304780403 6159494d43 007f414141 ' +
  '0204081020 004141417f 0402010204 4040404040 0003070800 2054547840 7f28444438 3844444428 384444287f 3854545418 ' +
  '00087e0902 18a4a49c78 7f08040478 00447d4000 2040403d00 7f10284400 00417f4000 7c04780478 7c08040478 3844444438 ' +
  'fc18242418 18242418fc 7c08040408 4854545424 04043f4424 3c4040207c 1c2040201c 3c4030403c 4428102844 4c9090907c ' +
  '4464544c44 0008364100 0000770000 0041360800 0201020402';

const COLUMNS: number[][] = GLYPHS.trim()
  .split(/\s+/)
  .map((g) => Array.from({ length: 5 }, (_, c) => parseInt(g.slice(2 * c, 2 * c + 2), 16)));

/** Pixels per character cell at scale 1: 5 columns of glyph and 1 of space; 8 rows of glyph and 2 of line gap. */
export const CHAR_WIDTH = 6;
export const LINE_HEIGHT = 10;

/** Width in pixels of `text` at `scale`. */
export function textWidth(text: string, scale = 1): number {
  return text.length * CHAR_WIDTH * scale;
}

/** `text` cut to at most `maxWidth` pixels at `scale`, ending in ".." when cut. */
export function fitText(text: string, maxWidth: number, scale = 1): string {
  const max = Math.floor(maxWidth / (CHAR_WIDTH * scale));
  if (text.length <= max) return text;
  return max <= 2 ? text.slice(0, Math.max(0, max)) : `${text.slice(0, max - 2)}..`;
}

/** `text` broken at spaces into lines of at most `maxWidth` pixels (words longer than a line are cut). */
export function wrapText(text: string, maxWidth: number, scale = 1): string[] {
  const max = Math.max(1, Math.floor(maxWidth / (CHAR_WIDTH * scale)));
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/).filter(Boolean)) {
    const next = line ? `${line} ${word}` : word;
    if (next.length <= max) line = next;
    else {
      if (line) lines.push(line);
      line = fitText(word, maxWidth, scale);
    }
  }
  if (line || !lines.length) lines.push(line);
  return lines;
}

/**
 * Draws `text` in place with its top-left corner at (x, y), each font pixel a `scale` x `scale` square of `colour`.
 * Characters outside printable ASCII are drawn as "?"; pixels outside the raster are skipped.
 */
export function drawText(
  img: Raster,
  text: string,
  x: number,
  y: number,
  opts: { scale?: number; colour?: [number, number, number] } = {},
): Raster {
  const s = opts.scale ?? 1;
  const colour = opts.colour ?? [0, 0, 0];
  const ch = img.channels;
  for (let k = 0; k < text.length; k++) {
    const code = text.charCodeAt(k);
    const cols = COLUMNS[code >= 32 && code <= 126 ? code - 32 : 63 - 32];
    for (let c = 0; c < 5; c++) {
      for (let r = 0; r < 8; r++) {
        if (!((cols[c] >> r) & 1)) continue;
        for (let dy = 0; dy < s; dy++) {
          const py = y + r * s + dy;
          if (py < 0 || py >= img.height) continue;
          for (let dx = 0; dx < s; dx++) {
            const px = x + (k * CHAR_WIDTH + c) * s + dx;
            if (px < 0 || px >= img.width) continue;
            const o = (py * img.width + px) * ch;
            for (let q = 0; q < Math.min(3, ch); q++)
              img.data[o + q] = ch === 1 ? Math.round((colour[0] + colour[1] + colour[2]) / 3) : colour[q];
          }
        }
      }
    }
  }
  return img;
}
