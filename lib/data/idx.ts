/**
 * IDX files (the MNIST / Fashion-MNIST format), optionally gzipped: a 4-byte magic (0, 0, type, ndims), ndims
 * big-endian uint32 sizes, then the data. Only unsigned bytes (type 0x08) are read, which is what these datasets use.
 */
import * as fs from 'fs';
import * as zlib from 'zlib';
import { UserError } from '../util/errors';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

/** Parses IDX bytes; `file` names the source in errors. */
export function parseIdx(bytes: Uint8Array, file: string): IdxArray {
  if (bytes.length < 4) throw new UserError(`${file}: expected an IDX file (at least 4 header bytes), found ${bytes.length} bytes`);
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    throw new UserError(
      `${file}: bad IDX magic ${hex(bytes.subarray(0, 4))}; expected 00 00 08 <ndims>. Is this really an IDX file (not HTML or a ` +
        `different format)? Re-download it.`,
    );
  }
  if (bytes[2] !== 0x08) {
    throw new UserError(
      `${file}: IDX element type 0x${bytes[2].toString(16).padStart(2, '0')} is not supported; expected 0x08 (unsigned byte)`,
    );
  }
  const ndims = bytes[3];
  if (ndims < 1 || ndims > 4) throw new UserError(`${file}: IDX header says ${ndims} dimensions; expected 1 to 4`);
  const header = 4 + 4 * ndims;
  if (bytes.length < header) throw new UserError(`${file}: IDX header needs ${header} bytes, file has ${bytes.length}`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const dims: number[] = [];
  for (let i = 0; i < ndims; i++) dims.push(view.getUint32(4 + 4 * i, false));
  const expected = dims.reduce((a, b) => a * b, 1);
  const found = bytes.length - header;
  if (found !== expected) {
    throw new UserError(
      `${file}: IDX header says ${dims.join('x')} = ${expected} bytes of data, found ${found}; the file is ` +
        `${found < expected ? 'truncated' : 'longer than its header says'}. Re-download it.`,
    );
  }
  return { dims, data: bytes.subarray(header) };
}

/** Reads an IDX file, gunzipping it when it starts with the gzip magic. */
export function readIdx(file: string): IdxArray {
  let raw: Buffer;
  try {
    raw = fs.readFileSync(file);
  } catch (err) {
    throw new UserError(`${file}: cannot read (${(err as Error).message})`);
  }
  let bytes: Uint8Array = raw;
  if (raw.length >= 2 && raw[0] === 0x1f && raw[1] === 0x8b) {
    try {
      bytes = zlib.gunzipSync(raw);
    } catch (err) {
      throw new UserError(
        `${file}: not a valid gzip stream (${(err as Error).message}); the download is probably truncated. Delete it and fetch it again.`,
      );
    }
  }
  return parseIdx(new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength), file);
}

/** IDX bytes for `dims` and `data` (used by tests and tools that write small IDX files). */
export function encodeIdx(dims: readonly number[], data: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + 4 * dims.length + data.length);
  out[2] = 0x08;
  out[3] = dims.length;
  const view = new DataView(out.buffer);
  dims.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  out.set(data, 4 + 4 * dims.length);
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (v) => v.toString(16).padStart(2, '0')).join(' ');
}
