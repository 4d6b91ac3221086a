/** `cicada rules test`: the dry run on the command line (a real `cicada` process). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runCicada, tempDir } from '../client/support.js';

void test('cicada rules test -c FILE --rule NAME: outputs and each action\'s would-be input, nothing sent', async (t) => {
  const dir = tempDir(t);
  const conf = join(dir, 'cicada.conf');
  writeFileSync(
    conf,
    [
      'sink pg postgres postgres://cicada@127.0.0.1:1/telemetry',
      'sink hook webhook http://127.0.0.1:1/alerts header.x-device=${clientid}',
      'rule hot_rooms',
      'sql SELECT payload.temp AS temp, clientid, topic FROM "sensors/+/temp" WHERE payload.temp > 30',
      'action republish alerts/${clientid} 1',
      'action pg "INSERT INTO alerts(device, temp) VALUES (${clientid}, ${temp})"',
      'action hook',
      '',
    ].join('\n'),
  );
  const hot = await runCicada(['rules', 'test', '-c', conf, '--rule', 'hot_rooms', '--topic', 'sensors/d1/temp', '--payload', '{"temp": 31}', '--clientid', 'd1']);
  assert.equal(hot.code, 0, hot.stderr);
  const result = JSON.parse(hot.stdout);
  assert.deepEqual(result.outputs, [{ temp: 31, clientid: 'd1', topic: 'sensors/d1/temp' }]);
  assert.deepEqual(result.actions, [
    { action: '1:republish', input: { topic: 'alerts/d1', payload: '{"temp":31,"clientid":"d1","topic":"sensors/d1/temp"}', qos: 1, retain: false } },
    { action: '2:pg', input: { text: 'INSERT INTO alerts(device, temp) VALUES ($1, $2)', values: ['d1', 31] } },
    {
      action: '3:hook',
      input: { method: 'POST', url: 'http://127.0.0.1:1/alerts', headers: { 'content-type': 'application/json', 'x-device': 'd1' }, body: '{"temp":31,"clientid":"d1","topic":"sensors/d1/temp"}' },
    },
  ]);
  const cold = JSON.parse((await runCicada(['rules', 'test', '-c', conf, '--rule', 'hot_rooms', '--topic', 'sensors/d1/temp', '--payload', '{"temp": 20}'])).stdout);
  assert.deepEqual([cold.matched, cold.passed, cold.actions], [true, false, []]);
  const other = JSON.parse((await runCicada(['rules', 'test', '-c', conf, '--rule', 'hot_rooms', '--topic', 'elsewhere'])).stdout);
  assert.equal(other.matched, false);
});

void test('cicada rules test --sql with an event sample, FOREACH, and an evaluation error reported', async () => {
  const event = await runCicada(['rules', 'test', '--sql', 'SELECT clientid, event FROM "$events/client_connected"', '--event', 'client_connected', '--column', 'clientid=d7']);
  assert.equal(event.code, 0, event.stderr);
  assert.deepEqual(JSON.parse(event.stdout).outputs, [{ clientid: 'd7', event: 'client.connected' }]);
  const each = await runCicada(['rules', 'test', '--sql', 'FOREACH payload.l AS x DO x * 2 AS y FROM "t/#"', '--topic', 't/1', '--payload', '{"l":[1,2]}']);
  assert.deepEqual(JSON.parse(each.stdout).outputs, [{ y: 2 }, { y: 4 }]);
  const failing = JSON.parse((await runCicada(['rules', 'test', '--sql', 'SELECT lower(payload.n) AS n FROM "t"', '--topic', 't', '--payload', '{"n": 5}'])).stdout);
  assert.equal(failing.error, 'lower() expects a string, got number');
});

void test('cicada rules test: a bad rule is one line with its column (exit 3); bad usage exits 2', async (t) => {
  const bad = await runCicada(['rules', 'test', '--sql', 'SELECT x FROM "t" WHERE', '--topic', 't']);
  assert.equal(bad.code, 3);
  assert.equal(bad.stderr, 'cicada rules: --sql:24: rule test: sql: unexpected end of the expression\n');
  const dir = tempDir(t);
  const conf = join(dir, 'c.conf');
  writeFileSync(conf, 'rule r\nsql SELECT a FROM "t"\naction republish out/${a\n');
  const badConf = await runCicada(['rules', 'test', '-c', conf, '--rule', 'r', '--topic', 't']);
  assert.equal(badConf.code, 3);
  assert.equal(badConf.stderr, `cicada rules: ${conf}:3:22: rule r: action: unclosed \${\n`);
  const usage = await runCicada(['rules', 'test', '--sql', 'SELECT 1 FROM "t"']);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^Error: give a sample/);
});
