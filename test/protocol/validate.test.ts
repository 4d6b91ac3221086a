/** The exported validators: UTF-8 strings, topic names, topic filters, shared filters. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  isValidTopicFilter,
  isValidTopicName,
  isValidUtf8String,
  parseSharedFilter,
} from '../../src/protocol/validate.js';

const utf8 = (b: number[]): boolean => isValidUtf8String(Buffer.from(b), 0, b.length);

void test('[MQTT-1.5.4-1] isValidUtf8String accepts well-formed UTF-8 and rejects surrogates, overlongs, truncation', () => {
  assert.ok(utf8([]));
  assert.ok(utf8([...Buffer.from('a/€/😀/ü')]));
  assert.ok(!utf8([0xed, 0xa0, 0x80])); // U+D800
  assert.ok(!utf8([0xed, 0xbf, 0xbf])); // U+DFFF
  assert.ok(!utf8([0xc0, 0x80])); // overlong NUL
  assert.ok(!utf8([0xe2, 0x82])); // truncated
  assert.ok(!utf8([0xff]));
});

void test('[MQTT-1.5.4-2] isValidUtf8String rejects U+0000', () => {
  assert.ok(!utf8([0x61, 0x00]));
  assert.ok(!utf8([0xc3, 0xbc, 0x00]));
});

void test('isValidUtf8String checks only the given range', () => {
  const buf = Buffer.from([0x00, 0x61, 0x62, 0xff]);
  assert.ok(isValidUtf8String(buf, 1, 3));
  assert.ok(!isValidUtf8String(buf, 0, 3));
  assert.ok(!isValidUtf8String(buf, 1, 4));
});

void test('[MQTT-4.7.3-1] [MQTT-3.3.2-2] isValidTopicName: non-empty, no wildcards, at most 65535 bytes', () => {
  for (const t of ['a', '/', 'a/b', '$SYS/x', ' ', 'ü/€']) assert.ok(isValidTopicName(t), t);
  for (const t of ['', '#', '+', 'a/+', 'a/#', 'a+', 'a\u0000b']) assert.ok(!isValidTopicName(t), t);
  assert.ok(isValidTopicName('a'.repeat(65535)));
  assert.ok(!isValidTopicName('a'.repeat(65536)));
  assert.ok(!isValidTopicName('€'.repeat(21846))); // 65538 bytes
});

void test('[MQTT-4.7.1-2] [MQTT-4.7.1-3] isValidTopicFilter: # alone and last, + alone in its level', () => {
  for (const f of ['#', '+', 'a/#', 'a/+/b', '+/+', '/#', '/', 'a//b', '+/#', 'sport/+/player1', '$SYS/#']) {
    assert.ok(isValidTopicFilter(f), f);
  }
  for (const f of ['', 'a/#/b', 'a+', '#a', 'a/b#', '+a', 'a/+b', 'a/b+', '##', '#/', '++', 'a\u0000']) {
    assert.ok(!isValidTopicFilter(f), f);
  }
});

void test('[MQTT-4.8.2-1] [MQTT-4.8.2-2] shared filters: $share/{group}/{filter}', () => {
  assert.deepEqual(parseSharedFilter('$share/g/a/b'), { group: 'g', filter: 'a/b' });
  assert.deepEqual(parseSharedFilter('$share/group1/#'), { group: 'group1', filter: '#' });
  assert.deepEqual(parseSharedFilter('$share/g//'), { group: 'g', filter: '/' });
  assert.equal(parseSharedFilter('a/b'), undefined);
  assert.equal(parseSharedFilter('$shared/g/a'), undefined);
  for (const f of ['$share/g', '$share/', '$share//a', '$share/g+/a', '$share/g#/a', '$share/g/', '$share/g/a/#/b']) {
    assert.equal(parseSharedFilter(f), undefined, f);
    assert.ok(!isValidTopicFilter(f), f);
  }
  assert.ok(isValidTopicFilter('$share/g/+/x'));
});
