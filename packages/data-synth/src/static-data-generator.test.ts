import { Rng } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { ConfusionSet } from './confusion-set';
import { ErrorGenerator } from './error-generator';
import { OnlineAugmenter } from './online-augmenter';
import { StaticDataGenerator } from './static-data-generator';

const sentences = ['我们今天去公园散步。', '他的书放在桌子上。', '这是一个很好的例子。', '天气预报说明天下雨。'];
const generator = new ErrorGenerator({ num_negative: 3, seed: 9 }, ConfusionSet.default());

describe('StaticDataGenerator', () => {
  it('emits the positive, then num_negative corruptions from Rng.derive(seed, sentenceIndex, copy)', () => {
    const data = new StaticDataGenerator(generator);
    const pairs = [...data.generate(sentences)];
    expect(pairs).toHaveLength(sentences.length * 4);
    sentences.forEach((text, s) => {
      const group = pairs.slice(s * 4, s * 4 + 4);
      expect(group[0]).toEqual({ source: text, target: text, edits: [] });
      for (let copy = 1; copy <= 3; copy++) {
        expect(group[copy]).toEqual(generator.corruptWithType(text, Rng.derive(9, s, copy)));
        expect(group[copy].edits.length).toBeGreaterThan(0);
      }
      // Different copies get different streams: three identical corruptions would be a bug.
      expect(new Set(group.slice(1).map((c) => c.source)).size).toBeGreaterThan(1);
    });
  });

  it('depends on the sentence index, not on where a batch starts', () => {
    const data = new StaticDataGenerator(generator);
    const all = [...data.generate(sentences)];
    const tail = [...data.generate(sentences.slice(2), 2)];
    expect(tail).toEqual(all.slice(8));
  });
});

describe('OnlineAugmenter', () => {
  it('is reproducible per (seed, epoch, index) and changes from epoch to epoch', () => {
    const augmenter = new OnlineAugmenter(new ErrorGenerator({ p_corrupt: 1, seed: 9 }, ConfusionSet.default()));
    const epoch0 = [...augmenter.epoch(sentences, 0)];
    expect([...augmenter.epoch(sentences, 0)]).toEqual(epoch0);
    expect(augmenter.corruption(sentences[3], 0, 3)).toEqual(epoch0[3]);
    // Processing out of order (as workers do) changes nothing.
    expect([...augmenter.epoch(sentences.slice(1), 0, 1)]).toEqual(epoch0.slice(1));
    const epochs = Array.from({ length: 5 }, (_, e) => [...augmenter.epoch(sentences, e)].map((c) => c.source).join('|'));
    expect(new Set(epochs).size).toBe(5);
  });
});
