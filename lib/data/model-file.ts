/**
 * A user's TensorFlow.js LayersModel from disk (model.json + its weight files, the format `model.save('file://...')`
 * and tensorflowjs_converter write), for running the explanation methods on it. @tensorflow/tfjs has no file://
 * handler without tfjs-node, so the files are read here and handed over in memory.
 */
import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { UserError } from '../util/errors';
import { writeDirAtomic } from '../util/atomic';

const DTYPE_BYTES: Record<string, number> = { float32: 4, int32: 4, bool: 1, uint8: 1, uint16: 2, float16: 2, string: 0 };

function specBytes(spec: tf.io.WeightsManifestEntry): number {
  const n = spec.shape.reduce((a, b) => a * b, 1);
  const dtype = spec.quantization?.dtype ?? spec.dtype;
  return n * (DTYPE_BYTES[dtype] ?? 4);
}

/** The model artifacts of a model.json (topology, weight specs, weight bytes). */
export function readModelArtifacts(file: string): tf.io.ModelArtifacts {
  const jsonFile = fs.existsSync(file) && fs.statSync(file).isDirectory() ? path.join(file, 'model.json') : file;
  if (!fs.existsSync(jsonFile))
    throw new UserError(`model: ${jsonFile} not found; expected a TensorFlow.js model.json with its weight files beside it`);
  let json: {
    modelTopology?: unknown;
    weightsManifest?: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
    format?: string;
    generatedBy?: string;
    convertedBy?: string | null;
    trainingConfig?: tf.io.TrainingConfig;
  };
  try {
    json = JSON.parse(fs.readFileSync(jsonFile, 'utf8'));
  } catch (err) {
    throw new UserError(`model: ${jsonFile} is not valid JSON (${(err as Error).message})`);
  }
  if (!json.modelTopology || !Array.isArray(json.weightsManifest)) {
    throw new UserError(`model: ${jsonFile} lacks modelTopology or weightsManifest; expected a TensorFlow.js layers-model model.json`);
  }
  const dir = path.dirname(jsonFile);
  const specs: tf.io.WeightsManifestEntry[] = [];
  const chunks: Buffer[] = [];
  for (const group of json.weightsManifest) {
    specs.push(...group.weights);
    for (const p of group.paths) {
      const wf = path.join(dir, p);
      if (!fs.existsSync(wf)) throw new UserError(`model: weight file ${wf} named in ${jsonFile} does not exist`);
      chunks.push(fs.readFileSync(wf));
    }
  }
  const data = Buffer.concat(chunks);
  const expected = specs.reduce((s, w) => s + specBytes(w), 0);
  if (data.length !== expected) {
    throw new UserError(
      `model: the weight files of ${jsonFile} hold ${data.length} bytes but its manifest describes ${expected}; the files do not belong ` +
        `together`,
    );
  }
  return {
    modelTopology: json.modelTopology as tf.io.ModelArtifacts['modelTopology'],
    weightSpecs: specs,
    weightData: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer,
    format: json.format,
    generatedBy: json.generatedBy,
    convertedBy: json.convertedBy,
    trainingConfig: json.trainingConfig,
  };
}

/** Loads a LayersModel from a model.json path (or its directory). */
export async function loadLayersModelFile(file: string): Promise<tf.LayersModel> {
  return tf.loadLayersModel(tf.io.fromMemory(readModelArtifacts(file)));
}

/** Saves a LayersModel as `dir`/model.json + `dir`/weights.bin (atomically: the directory appears complete or not at all). */
export async function saveLayersModelFile(model: tf.LayersModel, dir: string): Promise<void> {
  await writeDirAtomic(dir, async (tmp) => {
    await model.save(
      tf.io.withSaveHandler(async (artifacts) => {
        const weightData = artifacts.weightData as ArrayBuffer;
        fs.writeFileSync(path.join(tmp, 'weights.bin'), Buffer.from(weightData));
        const json = {
          modelTopology: artifacts.modelTopology,
          format: artifacts.format ?? 'layers-model',
          generatedBy: artifacts.generatedBy,
          convertedBy: artifacts.convertedBy ?? null,
          trainingConfig: artifacts.trainingConfig,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
        };
        fs.writeFileSync(path.join(tmp, 'model.json'), JSON.stringify(json));
        return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weightData.byteLength } };
      }),
    );
  });
}
