import * as fs from 'fs';
import * as path from 'path';
import * as tf from '@tensorflow/tfjs';
import { loadLayersModelFile, saveLayersModelFile } from '../../lib/data/model-file';
import { tmpDir } from './helpers';

const root = tmpDir('model');

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function tiny(): tf.LayersModel {
  const m = tf.sequential();
  m.add(
    tf.layers.conv2d({ inputShape: [4, 4, 1], filters: 2, kernelSize: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 1 }) }),
  );
  m.add(tf.layers.globalAveragePooling2d({}));
  m.add(tf.layers.dense({ units: 3, kernelInitializer: tf.initializers.glorotUniform({ seed: 2 }) }));
  return m;
}

describe('tfjs model.json files', () => {
  test('save then load gives the same predictions', async () => {
    const m = tiny();
    const dir = path.join(root, 'm1');
    await saveLayersModelFile(m, dir);
    expect(fs.readdirSync(dir).sort()).toEqual(['model.json', 'weights.bin']);
    const back = await loadLayersModelFile(path.join(dir, 'model.json'));
    const x = tf.randomUniform([2, 4, 4, 1], 0, 1, 'float32', 3);
    expect(Array.from((back.predict(x) as tf.Tensor).dataSync())).toEqual(Array.from((m.predict(x) as tf.Tensor).dataSync()));
    // A directory works too.
    expect((await loadLayersModelFile(dir)).layers.length).toBe(3);
  });

  test('missing weights and mismatched sizes are clear errors', async () => {
    const dir = path.join(root, 'm2');
    await saveLayersModelFile(tiny(), dir);
    fs.writeFileSync(path.join(dir, 'weights.bin'), Buffer.alloc(8));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(/hold 8 bytes but its manifest describes 116/);
    fs.rmSync(path.join(dir, 'weights.bin'));
    await expect(loadLayersModelFile(dir)).rejects.toThrow(/weight file .*weights\.bin named in .*model\.json does not exist/);
    await expect(loadLayersModelFile(path.join(root, 'none.json'))).rejects.toThrow(/not found/);
    fs.writeFileSync(path.join(root, 'bad.json'), '{"a": 1}');
    await expect(loadLayersModelFile(path.join(root, 'bad.json'))).rejects.toThrow(/lacks modelTopology/);
  });
});
