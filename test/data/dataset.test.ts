import { Dataset } from '../../lib/data/dataset';
import { Rng } from '../../lib/util/rng';

function tiny(): Dataset {
  // 4 images of 1x2x2 (H=1, W=2, C=2): pixel values chosen so that stats are easy.
  return new Dataset({
    name: 't',
    split: 'train',
    images: Uint8Array.from([0, 255, 0, 255, 255, 255, 255, 255, 0, 0, 0, 0, 255, 0, 255, 0]),
    labels: Int32Array.from([0, 1, 0, 1]),
    height: 1,
    width: 2,
    channels: 2,
    classNames: ['a', 'b'],
    truth: {
      keypointNames: ['p'],
      keypoints: Float32Array.from([1, 1, 1, 2, 2, 1, 3, 3, 0, 4, 4, 1]),
      positions: Int32Array.from([0, 0, 1, 1, 2, 2, 3, 3]),
    },
  });
}

describe('Dataset extensions', () => {
  test('channel statistics', () => {
    const { mean, std } = tiny().channelStats();
    expect(mean).toEqual([0.5, 0.5]);
    expect(std[0]).toBeCloseTo(0.5, 10);
    expect(std[1]).toBeCloseTo(0.5, 10);
  });

  test('subsets carry keypoints and positions', () => {
    const sub = tiny().subset([3, 1]);
    expect(Array.from(sub.truth.keypoints!)).toEqual([4, 4, 1, 2, 2, 1]);
    expect(Array.from(sub.truth.positions!)).toEqual([3, 3, 1, 1]);
    const per = tiny().perClassSubset(1, new Rng(0));
    expect(per.classCounts()).toEqual([1, 1]);
  });
});
