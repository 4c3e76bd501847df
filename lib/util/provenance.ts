/**
 * What a run used, noted by the code that uses it and read by the harness when it writes results.json (see
 * lib/report/provenance.ts). Process-wide: a notebook kernel or a CLI run is one process.
 */

/** One trained model a run used: trained now, or loaded from the model cache (lib/train/cache.ts). */
export interface ModelUse {
  /** The cache folder's name, e.g. "bagnet-q9-1a2b3c4d5e6f7a8b". */
  name: string;
  key: string;
  fromCache: boolean;
  /** Training wall time in seconds (0 when loaded from the cache). */
  seconds: number;
}

const models: ModelUse[] = [];

export function recordModel(use: ModelUse): void {
  models.push(use);
}

/** The models used so far, in order. */
export function modelsUsed(): ModelUse[] {
  return models.slice();
}
