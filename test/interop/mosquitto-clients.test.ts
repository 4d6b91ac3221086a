/**
 * Interop with Debian's mosquitto_pub and mosquitto_sub (mosquitto-clients): publish, subscribe,
 * retain, will, QoS 1 and 2, over MQTT 3.1.1 and 3.1. Each tool runs with a time limit.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { setup, type Harness } from '../helpers/harness.js';
import { runProcess, type Spawned } from '../helpers/processes.js';

const TOOL_TIMEOUT_MS = 5000;

function common(h: Harness, version: string): string[] {
  return ['-h', '127.0.0.1', '-p', String(h.port), '-V', version];
}

async function pub(h: Harness, version: string, args: string[]): Promise<void> {
  const result = await runProcess('mosquitto_pub', [...common(h, version), ...args], TOOL_TIMEOUT_MS);
  assert.equal(result.code, 0, `mosquitto_pub ${args.join(' ')} failed: ${result.stderr}`);
}

/**
 * mosquitto_sub with debug output (-d), resolved once its SUBACK arrived. stdbuf makes its stdout
 * line-buffered: into a pipe, the debug lines would otherwise only appear at exit.
 */
async function sub(h: Harness, version: string, args: string[]): Promise<Spawned> {
  const child = h.spawn('stdbuf', ['-oL', 'mosquitto_sub', ...common(h, version), '-d', '-W', '5', ...args]);
  await child.waitForOutput('received SUBACK', TOOL_TIMEOUT_MS);
  return child;
}

for (const version of ['mqttv311', 'mqttv31']) {
  describe(`mosquitto_pub / mosquitto_sub -V ${version}`, { concurrency: true }, () => {
    test('mosquitto_pub publishes to an MQTT.js subscriber', async (t) => {
      const h = await setup(t);
      const s = await h.mqtt({ clientId: 'js' });
      await s.subscribeAsync('tools/pub', { qos: 1 });
      await pub(h, version, ['-t', 'tools/pub', '-m', 'from mosquitto_pub', '-q', '1']);
      const [m] = await s.inbox.next(1);
      assert.deepEqual([m?.topic, m?.payload, m?.qos], ['tools/pub', 'from mosquitto_pub', 1]);
    });

    test('mosquitto_sub -C 2 -v receives two messages, then exits', async (t) => {
      const h = await setup(t);
      const s = await sub(h, version, ['-t', 'tools/sub/#', '-v', '-C', '2']);
      const p = await h.mqtt({ clientId: 'js' });
      await p.publishAsync('tools/sub/one', 'first', { qos: 0 });
      await p.publishAsync('tools/sub/two', 'second', { qos: 0 });
      const result = await s.exit(TOOL_TIMEOUT_MS);
      assert.equal(result.code, 0, result.stderr);
      const lines = result.stdout.split('\n').filter((l) => l.startsWith('tools/'));
      assert.deepEqual(lines, ['tools/sub/one first', 'tools/sub/two second']);
    });

    for (const qos of [1, 2]) {
      test(`QoS ${qos}: mosquitto_pub -q ${qos} to mosquitto_sub -q ${qos}`, async (t) => {
        const h = await setup(t);
        const s = await sub(h, version, ['-t', 'tools/qos', '-q', String(qos), '-v', '-C', '1']);
        await pub(h, version, ['-t', 'tools/qos', '-m', `at qos ${qos}`, '-q', String(qos)]);
        const result = await s.exit(TOOL_TIMEOUT_MS);
        assert.equal(result.code, 0, result.stderr);
        assert.match(result.stdout, new RegExp(`received PUBLISH \\(d0, q${qos}, r0, m\\d+, 'tools/qos'`));
        assert.match(result.stdout, new RegExp(`^tools/qos at qos ${qos}$`, 'm'));
        if (qos === 2) assert.match(result.stdout, /sending PUBREC[\s\S]*received PUBREL[\s\S]*sending PUBCOMP/);
      });
    }

    // [MQTT-3.3.1-5], [MQTT-3.3.1-8]: the retained message reaches a later subscriber, flagged.
    test('[MQTT-3.3.1-5][MQTT-3.3.1-8] mosquitto_pub -r, then a new mosquitto_sub -v gets it with RETAIN 1', async (t) => {
      const h = await setup(t);
      await pub(h, version, ['-t', 'tools/retained', '-m', 'kept for later', '-r', '-q', '1']);
      const result = await runProcess('mosquitto_sub', [...common(h, version), '-d', '-t', 'tools/#', '-q', '1', '-v', '-C', '1', '-W', '5'], TOOL_TIMEOUT_MS);
      assert.equal(result.code, 0, result.stderr);
      assert.match(result.stdout, /received PUBLISH \(d0, q1, r1, m\d+, 'tools\/retained'/);
      assert.match(result.stdout, /^tools\/retained kept for later$/m);
    });

    // [MQTT-3.1.2-8]: a client killed with SIGKILL never sends DISCONNECT; its will is published.
    test('[MQTT-3.1.2-8] mosquitto_sub --will-topic killed with SIGKILL: the will is delivered', async (t) => {
      const h = await setup(t);
      const w = await h.mqtt({ clientId: 'watch' });
      await w.subscribeAsync('tools/will', { qos: 1 });
      const s = await sub(h, version, ['-t', 'tools/ignored', '--will-topic', 'tools/will', '--will-payload', 'killed', '--will-qos', '1']);
      s.kill('SIGKILL');
      const [m] = await w.inbox.next(1);
      assert.deepEqual([m?.topic, m?.payload, m?.qos], ['tools/will', 'killed', 1]);
    });

    test('[MQTT-3.14.4-3] mosquitto_sub exiting normally (-C 1, DISCONNECT): no will', async (t) => {
      const h = await setup(t);
      const w = await h.mqtt({ clientId: 'watch' });
      await w.subscribeAsync('tools/will', { qos: 1 });
      const s = await sub(h, version, ['-t', 'tools/ignored', '-C', '1', '--will-topic', 'tools/will', '--will-payload', 'polite']);
      await pub(h, version, ['-t', 'tools/ignored', '-m', 'x']);
      const result = await s.exit(TOOL_TIMEOUT_MS);
      assert.equal(result.code, 0);
      await w.inbox.expectNone(300); // time: mosquitto_sub's connection ends on its own schedule
    });
  });
}
