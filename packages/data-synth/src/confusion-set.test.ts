import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DataError, SkipCounter } from '@proj/core';
import { describe, expect, it } from 'vitest';
import { ConfusionSet, inferConfusionFormat } from './confusion-set';

const dataDir = fileURLToPath(new URL('../../../apps/gap-relm/data/confusion/', import.meta.url));
const samePinyin = join(dataDir, 'same_pinyin.txt');
const sameStroke = join(dataDir, 'same_stroke.txt');

function expectNoSelfOrDuplicates(set: ConfusionSet) {
  for (const [char, values] of set.entries()) {
    expect(values.length).toBeGreaterThan(0);
    expect(values).not.toContain(char);
    expect(new Set(values).size).toBe(values.length);
  }
}

describe('ConfusionSet loaders on the bundled pycorrector files', () => {
  it('reads same_pinyin.txt: 3,512 lines, 3,401 characters (repeated keys merge), no self-mappings', async () => {
    const skipped = new SkipCounter();
    const set = await ConfusionSet.load(samePinyin, { onBadLine: skipped });
    expect(skipped.count).toBe(0);
    expect(set.size).toBe(3401);
    // Line "乙<TAB>已<TAB>亿艺忆": same tone first, then other tones.
    expect(set.get('乙')).toEqual(['已', '亿', '艺', '忆']);
    // "了<TAB>辽" (line 8, no other-tone column) and "了<TAB>燎料<TAB>撩聊疗缭辽寥潦僚嘹" (line 3057) merge in order.
    expect(set.get('了')).toEqual(['辽', '燎', '料', '撩', '聊', '疗', '缭', '寥', '潦', '僚', '嘹']);
    expectNoSelfOrDuplicates(set);
  });

  it('reads same_stroke.txt as symmetric groups', async () => {
    const set = await ConfusionSet.load(sameStroke);
    // Line "龙 拢 笼 庞 宠 茏 垄" (TAB-separated).
    expect(set.get('龙')).toEqual(expect.arrayContaining(['拢', '笼', '庞', '宠', '茏', '垄']));
    for (const [char, values] of set.entries()) for (const v of values) expect(set.get(v)).toContain(char);
    expectNoSelfOrDuplicates(set);
  });

  it('fromFiles merges in order and fromFiles([]) is the built-in set', async () => {
    const merged = await ConfusionSet.fromFiles([samePinyin, sameStroke]);
    const pinyinOnly = await ConfusionSet.load(samePinyin);
    const strokeOnly = await ConfusionSet.load(sameStroke);
    const expected = [...new Set([...pinyinOnly.get('龙'), ...strokeOnly.get('龙')])];
    expect(merged.get('龙')).toEqual(expected);
    expect(merged.size).toBeGreaterThanOrEqual(pinyinOnly.size);
    expect(await ConfusionSet.fromFiles([])).toBe(ConfusionSet.default());
  });
});

describe('ConfusionSet bad lines', () => {
  const text = ['#汉字\t同音同调\t同音异调', '一\t壹\t漪', '二三\t贰', '四', '五\t伍\t午\t舞', '', '六\t陆六'].join('\n');

  it('throws a DataError naming file:line by default', () => {
    expect(() => ConfusionSet.parseSamePinyin(text, 'sp.txt')).toThrow(DataError);
    expect(() => ConfusionSet.parseSamePinyin(text, 'sp.txt')).toThrow(/^sp\.txt:3: first column must be one character, got "二三"$/);
  });

  it('skips and counts with a SkipCounter, and drops self-mappings', () => {
    const skipped = new SkipCounter();
    const set = ConfusionSet.parseSamePinyin(text, 'sp.txt', { onBadLine: skipped });
    expect(skipped.count).toBe(3);
    expect(Object.fromEntries(skipped.byReason)).toEqual({ bad_key: 1, bad_column_count: 2 });
    expect(skipped.examples[1]).toBe('sp.txt:4: expected 2 or 3 TAB-separated columns, got 1');
    expect(set.get('一')).toEqual(['壹', '漪']);
    expect(set.get('六')).toEqual(['陆']);
    expect(set.has('四')).toBe(false);
  });

  it('same_stroke: a multi-character member or a one-member group is bad', () => {
    const skipped = new SkipCounter();
    const set = ConfusionSet.parseSameStroke('甲\t由\t申\n乙乙\t已\n己\n己\t己\n', 'st.txt', { onBadLine: skipped });
    expect(Object.fromEntries(skipped.byReason)).toEqual({ bad_member: 1, group_too_small: 2 });
    expect(set.get('由')).toEqual(['甲', '申']);
    expect(() => ConfusionSet.parseSameStroke('己\n', 'st.txt')).toThrow(/^st\.txt:1: a group needs at least 2/);
  });

  it('JSON: strings or arrays; bad entries name the key', async () => {
    const set = ConfusionSet.parseJson('{"的":"地得的","在":["再"]}', 'c.json');
    expect(set.get('的')).toEqual(['地', '得']);
    expect(set.get('在')).toEqual(['再']);
    expect(() => ConfusionSet.parseJson('{"在":[1]}', 'c.json')).toThrow(/^c\.json \(field "在"\): value must be/);
    expect(() => ConfusionSet.parseJson('[1]', 'c.json')).toThrow(/^c\.json: expected a JSON object/);
    const skipped = new SkipCounter();
    expect(ConfusionSet.parseJson('{"ab":"c","在":"再"}', 'c.json', { onBadLine: skipped }).size).toBe(1);
    expect(skipped.count).toBe(1);
    const dir = await mkdtemp(join(tmpdir(), 'confusion-'));
    await writeFile(join(dir, 'mine.json'), '\ufeff{"他":"她它"}');
    expect((await ConfusionSet.load(join(dir, 'mine.json'))).get('他')).toEqual(['她', '它']);
  });

  it('infers the format from the file name, or says it cannot', () => {
    expect(inferConfusionFormat('/x/same_pinyin.txt')).toBe('same_pinyin');
    expect(inferConfusionFormat('/x/same_stroke.txt')).toBe('same_stroke');
    expect(inferConfusionFormat('/x/extra.JSON')).toBe('json');
    expect(() => inferConfusionFormat('/x/chars.txt')).toThrow(/cannot tell the format of "\/x\/chars\.txt"/);
  });
});

describe('ConfusionSet.default (pinyin-pro homophones)', () => {
  it('groups the common characters by toneless pinyin, built once', () => {
    const set = ConfusionSet.default();
    expect(ConfusionSet.default()).toBe(set);
    // GB2312 level 1 has 3,755 characters; a few have no homophone among them.
    expect(set.size).toBeGreaterThan(3600);
    expect(set.size).toBeLessThanOrEqual(3755);
    expect(set.get('的')).toEqual(expect.arrayContaining(['得', '德']));
    expect(set.get('在')).toEqual(expect.arrayContaining(['再']));
    expect(set.get('是')).toEqual(expect.arrayContaining(['事', '市', '试']));
    expectNoSelfOrDuplicates(set);
    // Homophony is symmetric.
    for (const [char, values] of set.entries()) for (const v of values) expect(set.get(v)).toContain(char);
  });

  it('fromRecord and toJSON round-trip', () => {
    const set = ConfusionSet.fromRecord({ 他: '她它他', 在: ['再', '再'] });
    expect(set.toJSON()).toEqual({ 他: '她它', 在: '再' });
    expect(ConfusionSet.fromRecord(set.toJSON()).toJSON()).toEqual(set.toJSON());
  });
});
