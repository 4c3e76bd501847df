import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { writeDirAtomic } from '../util/atomic';
import './blurpool'; // registers the custom layers before any load

/**
 * Saving and loading tfjs LayersModels as model.json + weights.bin in a directory, without tfjs-node's file://
 * handler. `saveModelFiles` writes into an existing directory (use inside writeDirAtomic); `saveModel` writes the
 * directory atomically.
 */
export async function saveModelFiles(model: tf.LayersModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData
        ? new Uint8Array(tf.io.concatenateArrayBuffers(artifacts.weightData as ArrayBuffer | ArrayBuffer[]))
        : new Uint8Array();
      fs.writeFileSync(path.join(dir, 'weights.bin'), weights);
      const json = {
        format: 'layers-model',
        generatedBy: 'tessera',
        modelTopology: artifacts.modelTopology,
        weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        userDefinedMetadata: extra,
      };
      fs.writeFileSync(path.join(dir, 'model.json'), JSON.stringify(json));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' as const, weightDataBytes: weights.byteLength } };
    }),
  );
}

export async function saveModel(model: tf.LayersModel, dir: string, extra: Record<string, unknown> = {}): Promise<void> {
  await writeDirAtomic(dir, (tmp) => saveModelFiles(model, tmp, extra));
}

/** Loads a model written by saveModel (or any tfjs layers model.json with one weights file per group). */
export async function loadModel(dir: string): Promise<tf.LayersModel> {
  const file = path.join(dir, 'model.json');
  if (!fs.existsSync(file)) throw new Error(`no model at ${dir} (model.json missing)`);
  const json = JSON.parse(fs.readFileSync(file, 'utf8'));
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: Uint8Array[] = [];
  for (const group of json.weightsManifest as tf.io.WeightsManifestConfig) {
    specs.push(...group.weights);
    for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
  }
  const total = buffers.reduce((a, b) => a + b.byteLength, 0);
  const data = new Uint8Array(total);
  let off = 0;
  for (const b of buffers) {
    data.set(b, off);
    off += b.byteLength;
  }
  return tf.loadLayersModel(tf.io.fromMemory({ modelTopology: json.modelTopology, weightSpecs: specs, weightData: data.buffer }));
}
