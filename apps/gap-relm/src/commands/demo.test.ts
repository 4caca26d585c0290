import { cscMetrics } from '@proj/metrics';
import { describe, expect, it } from 'vitest';
import { DEMO_AFTER_TRAINING_SECONDS, DEMO_PRETRAINED_STEPS, closingHint, damageWarning, demoStages, demoTrainSeconds, fixedAndDamaged, formatScores } from './demo';

// Three erroneous and three correct sentences; the model fixes `fixes` of the former and changes `damages` of the latter.
function scored(fixes: number, damages: number) {
  const sources = ['我跟我朋唷去玩。', '他门来了。', '今天天汽很好。', '你好。', '我是学生。', '谢谢你。'];
  const targets = ['我跟我朋友去玩。', '他们来了。', '今天天气很好。', '你好。', '我是学生。', '谢谢你。'];
  const preds = sources.map((s, i) => (i < 3 ? (i < fixes ? targets[i] : s) : i - 3 < damages ? `的${s.slice(1)}` : s));
  return cscMetrics(sources, targets, preds);
}

describe('demo summary', () => {
  it.each([
    { fixes: 2, damages: 1, warn: false },
    { fixes: 1, damages: 1, warn: false },
    { fixes: 0, damages: 2, warn: true },
    { fixes: 1, damages: 3, warn: true },
  ])('fixed $fixes, damaged $damages: warning $warn', ({ fixes, damages, warn }) => {
    const m = scored(fixes, damages);
    expect(fixedAndDamaged(m)).toEqual({ fixed: fixes, erroneous: 3, damaged: damages, clean: 3 });
    const warning = damageWarning('SIGHAN-15 test', m);
    if (!warn) expect(warning).toBeNull();
    else expect(warning).toBe(`WARNING: on SIGHAN-15 test the model damages more sentences than it fixes: ${damages} of 3 correct sentences changed, ${fixes} of 3 erroneous sentences fixed. Do not use it as a corrector.`);
  });

  it('says how many sentences each score covers, and why the rest are skipped', () => {
    // One gold pair changes length (a skipped character): the sentence-level metric cannot score it.
    const dev = cscMetrics(['我跟朋唷去玩。', '他门来了。', '你好。'], ['我跟朋友去玩。', '他们来了了。', '你好。'], ['我跟朋友去玩。', '他门来了。', '你好。']);
    const table = formatScores({ 'frozen dev': dev, 'SIGHAN-15 test': scored(3, 0) });
    expect(table).toMatch(/frozen dev .* 2\/3\n/);
    expect(table).toMatch(/SIGHAN-15 test .* 6\/6\n/);
    expect(table).toContain('frozen dev: 2 of 3 sentences scored; the other 1 change length (a missing or repeated character), which sentence-level CSC metrics skip');
    expect(table).not.toContain('SIGHAN-15 test: ');
  });

  it('ends with a complete predict command naming the model directory that holds the config', () => {
    expect(closingHint('runs/demo')).toBe('correct your own sentences: gap-relm predict --model runs/demo/model/final --thresholds runs/demo/thresholds.json --text 我今天很高性见到你。');
  });
});

describe('demoStages', () => {
  it('skips a stage given 0 steps and keeps the others\' steps in order', () => {
    // The time shares are steps × DEMO_STEP_SECONDS of each stage kept.
    expect(demoStages('400,560,0')).toEqual({ stages: 'infiller_pretrain,planner_train', stageMaxSteps: '400,560', stageTimeShares: '940,800.8' });
    expect(demoStages('0,5,7')).toEqual({ stages: 'planner_train,joint_finetune', stageMaxSteps: '5,7', stageTimeShares: '7.15,26.46' });
    expect(demoStages('2,2,2')).toEqual({ stages: 'infiller_pretrain,planner_train,joint_finetune', stageMaxSteps: '2,2,2', stageTimeShares: '4.7,2.86,7.56' });
    expect(demoStages(DEMO_PRETRAINED_STEPS).stages).toBe('infiller_pretrain,planner_train');
  });

  it('refuses lists that are not three integers >= 0, or all zeros', () => {
    for (const bad of ['400,560', '1,2,3,4', '1,-2,3', '1,x,3', '1.5,2,3']) expect(() => demoStages(bad)).toThrow(/--train-steps: expected 3 integers >= 0/);
    expect(() => demoStages('0,0,0')).toThrow(/every stage has 0 steps/);
  });
});

describe('demoTrainSeconds', () => {
  it('is the budget less the time spent and the time needed after training; 0 minutes = no limit; no time left is an error', () => {
    expect(demoTrainSeconds(30, 12)).toBe(1800 - 12 - DEMO_AFTER_TRAINING_SECONDS);
    expect(demoTrainSeconds(0, 5000)).toBe(0);
    expect(() => demoTrainSeconds(1, 30)).toThrow(`--time-budget 1: 30 s spent on the data steps and ${DEMO_AFTER_TRAINING_SECONDS} s needed after training leave no time to train; give more minutes, or 0 for no limit`);
  });
});
