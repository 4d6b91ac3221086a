// `cicada pub` and `cicada sub` as users run them, against Cicada and against Debian's Mosquitto,
// and interop both ways with mosquitto_pub / mosquitto_sub.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startBroker } from '../helpers/broker.js';
import { runProcess, spawnProcess, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';
import { cicada, makeCerts, runCicada, startMosquitto, tempDir } from '../client/support.js';

interface Target {
  port: number;
  /** SUBSCRIBE packets the broker has handled so far. */
  subscribes(): number;
  close(): Promise<void>;
}

type Ctx = { after(fn: () => unknown): void };

const BROKERS: Record<string, (t: Ctx) => Promise<Target>> = {
  cicada: async () => {
    const b = await startBroker();
    let n = 0;
    b.broker!.on('subscribed', () => n++);
    return { port: b.port, subscribes: () => n, close: () => b.close() };
  },
  mosquitto: async (t) => {
    const m = await startMosquitto(tempDir(t));
    return { port: m.port, subscribes: () => m.output().split('Received SUBSCRIBE').length - 1, close: () => m.stop() };
  },
};

async function open(t: Ctx, kind: string): Promise<Target> {
  const target = await BROKERS[kind]!(t);
  t.after(() => target.close());
  return target;
}

/**
 * A subscriber process once the broker has its SUBSCRIBE (the broker's count reaches `n`; asking
 * the broker works for mosquitto_sub too, whose piped output is block-buffered).
 */
async function subscribed(target: Target, n: number, p: Spawned, t: Ctx): Promise<Spawned> {
  t.after(() => p.kill('SIGKILL'));
  await waitFor(() => target.subscribes() >= n, 10_000, `${n} subscriptions (stderr: ${p.stderr})`);
  return p;
}

const lines = (s: string): string[] => s.split('\n').filter((l) => l !== '' && !l.startsWith('Client ') && !l.startsWith('Subscribed'));

for (const kind of Object.keys(BROKERS)) {
  describe(`against ${kind}`, { concurrency: 4 }, () => {
    test('cicada pub -> mosquitto_sub (QoS 0, 1, 2, retained, -n, -f)', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const dir = tempDir(t);
      writeFileSync(join(dir, 'msg.txt'), 'from a file');
      const sub = await subscribed(b, 1, spawnProcess('mosquitto_sub', ['-p', String(port), '-t', 'ps/#', '-v', '-d', '-q', '2', '-C', '4', '-W', '30']), t);
      for (const [qos, args] of [['0', ['-m', 'zero']], ['1', ['-m', 'one']], ['2', ['-f', join(dir, 'msg.txt')]], ['1', ['-n']]] as const) {
        const r = await runCicada(['pub', '-p', String(port), '-t', `ps/q${qos}`, '-q', qos, ...args]);
        assert.equal(r.code, 0, r.stderr);
      }
      const r = await sub.exit(10_000);
      // mosquitto_sub -v prints an empty payload as (null).
      assert.deepEqual(lines(r.stdout), ['ps/q0 zero', 'ps/q1 one', 'ps/q2 from a file', 'ps/q1 (null)']);
    });

    test('mosquitto_pub -> cicada sub -v -C (several -t), exit 0 after COUNT', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const sub = await subscribed(b, 1, cicada(['sub', '-p', String(port), '-t', 'a/b', '-t', 'c/+', '-v', '-d', '-q', '1', '-C', '3']), t);
      for (const [topic, msg] of [['a/b', 'x'], ['nope', 'n'], ['c/d', 'y'], ['a/b', 'z']]) {
        const r = await runProcess('mosquitto_pub', ['-p', String(port), '-t', topic!, '-m', msg!, '-q', '1'], 5000);
        assert.equal(r.code, 0);
      }
      const r = await sub.exit(10_000);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(lines(r.stdout), ['a/b x', 'c/d y', 'a/b z']);
    });

    test('cicada pub -l publishes each stdin line, -s all of stdin; --repeat repeats; -V mqttv5 and mqttv31', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const sub = await subscribed(b, 1, cicada(['sub', '-p', String(port), '-t', 'l/#', '-d', '-C', '6', '-V', 'mqttv5']), t);
      const r1 = await runCicada(['pub', '-p', String(port), '-t', 'l/1', '-l', '-q', '1', '-V', 'mqttv5'], 10_000, 'one\ntwo\nthree\n');
      assert.equal(r1.code, 0, r1.stderr);
      const r2 = await runCicada(['pub', '-p', String(port), '-t', 'l/2', '-m', 'again', '--repeat', '2', '--repeat-delay', '0.05', '-V', 'mqttv31']);
      assert.equal(r2.code, 0, r2.stderr);
      const r3 = await runCicada(['pub', '-p', String(port), '-t', 'l/3', '-s'], 10_000, 'all of stdin');
      assert.equal(r3.code, 0, r3.stderr);
      assert.deepEqual(lines((await sub.exit(10_000)).stdout), ['one', 'two', 'three', 'again', 'again', 'all of stdin']);
    });

    test('-F format string (%t %p %q %r %l) and %j JSON; -R skips retained; --retained-only', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      assert.equal((await runCicada(['pub', '-p', String(port), '-t', 'f/old', '-m', 'stale', '-r'])).code, 0);
      const all = await subscribed(b, 1, cicada(['sub', '-p', String(port), '-t', 'f/#', '-d', '-C', '2', '-F', '%t|%p|%q|%r|%l']), t);
      const fresh = await subscribed(b, 2, cicada(['sub', '-p', String(port), '-t', 'f/#', '-d', '-C', '1', '-R', '-F', '%j']), t);
      const retainedOnly = cicada(['sub', '-p', String(port), '-t', 'f/#', '--retained-only', '-v']);
      await retainedOnly.waitForOutput('f/old stale', 10_000);
      assert.equal((await runCicada(['pub', '-p', String(port), '-t', 'f/new', '-m', '{"a":1}', '-q', '1'])).code, 0);
      assert.deepEqual(lines((await all.exit(10_000)).stdout), ['f/old|stale|0|1|5', 'f/new|{"a":1}|0|0|7']);
      const json = JSON.parse(lines((await fresh.exit(10_000)).stdout)[0]!);
      assert.deepEqual({ ...json, tst: typeof json.tst }, { tst: 'string', topic: 'f/new', qos: 0, retain: 0, payloadlen: 7, payload: '{"a":1}' });
      const ro = await retainedOnly.exit(10_000);
      assert.equal(ro.code, 0);
      assert.deepEqual(lines(ro.stdout), ['f/old stale']);
    });

    test('-W: no message in time exits with code 27 ("Timed out")', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const r = await runCicada(['sub', '-p', String(port), '-t', 'w', '-W', '1']);
      assert.equal(r.code, 27);
      assert.match(r.stderr, /Timed out/);
    });

    for (const v of [['mqttv311'], ['mqttv5', '-x', '60']]) {
      test(`-c -i ${v.slice(1).join(' ')} keeps a ${v[0]} session: QoS 1 published while the subscriber is away arrives when it comes back; -U unsubscribes`, async (t) => {
        const b = await open(t, kind);
        const { port } = b;
        const id = `persist-${kind}-${v[0]}`;
        const first = await runCicada(['sub', '-p', String(port), '-t', 's/t', '-q', '1', '-c', '-i', id, '-V', ...v, '-W', '1']);
        assert.equal(first.code, 27);
        await runProcess('mosquitto_pub', ['-p', String(port), '-t', 's/t', '-m', 'while away', '-q', '1'], 5000);
        const back = await runCicada(['sub', '-p', String(port), '-t', 's/t', '-q', '1', '-c', '-i', id, '-V', ...v, '-C', '1', '-W', '5']);
        assert.equal(back.stdout, 'while away\n');
        // -U with no -t: unsubscribe the session's filter and exit; then nothing is queued for it.
        assert.equal((await runCicada(['sub', '-p', String(port), '-U', 's/t', '-c', '-i', id, '-V', ...v])).code, 0);
        await runProcess('mosquitto_pub', ['-p', String(port), '-t', 's/t', '-m', 'gone', '-q', '1'], 5000);
        const after = await runCicada(['sub', '-p', String(port), '-t', 'other', '-c', '-i', id, '-V', ...v, '-W', '1']);
        assert.equal(after.stdout, '');
      });
    }

    test('-D MQTT 5 properties and -L URL: user property and content type reach the subscriber (%j)', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const sub = await subscribed(b, 1, cicada(['sub', '-L', `mqtt://127.0.0.1:${port}/props`, '-V', 'mqttv5', '-d', '-C', '1', '-F', '%j']), t);
      const r = await runCicada(['pub', '-L', `mqtt://someone:secret@127.0.0.1:${port}/props`, '-V', 'mqttv5', '-m', 'p', '-D', 'publish', 'user-property', 'k', 'v', '-D', 'publish', 'content-type', 'text/plain']);
      assert.equal(r.code, 0, r.stderr);
      const json = JSON.parse(lines((await sub.exit(10_000)).stdout)[0]!);
      assert.deepEqual(json.properties['user-properties'], { k: 'v' });
      assert.equal(json.properties['content-type'], 'text/plain');
    });

    test('--will-topic/--will-payload: a killed cicada sub leaves its will', async (t) => {
      const b = await open(t, kind);
      const { port } = b;
      const watcher = await subscribed(b, 1, spawnProcess('mosquitto_sub', ['-p', String(port), '-t', 'will/t', '-d', '-C', '1', '-W', '30']), t);
      const victim = await subscribed(b, 2, cicada(['sub', '-p', String(port), '-t', 'x', '-d', '-k', '5', '--will-topic', 'will/t', '--will-payload', 'bye', '--will-qos', '1']), t);
      victim.kill('SIGKILL');
      const r = await watcher.exit(10_000);
      assert.deepEqual(lines(r.stdout), ['bye']);
    });
  });
}

test('connection refused (Mosquitto, allow_anonymous false): one line with the reason, exit code = CONNACK code', async (t) => {
  const dir = tempDir(t);
  const mosq = await startMosquitto(dir, ['allow_anonymous false']);
  t.after(() => mosq.stop());
  const ours = await runCicada(['pub', '-p', String(mosq.port), '-t', 't', '-m', 'x']);
  const theirs = await runProcess('mosquitto_pub', ['-p', String(mosq.port), '-t', 't', '-m', 'x'], 5000);
  assert.equal(ours.code, 5);
  assert.equal(ours.code, theirs.code);
  assert.equal(ours.stderr, 'Connection error: Connection Refused: not authorised.\n');
  assert.equal(theirs.stderr.split('\n')[0], ours.stderr.trim());
  const v5 = await runCicada(['sub', '-p', String(mosq.port), '-t', 't', '-V', 'mqttv5']);
  assert.equal(v5.code, 0x87);
  assert.equal(v5.stderr, 'Connection error: Not authorized\n');
});

test('nothing listening: one line, exit 1', async () => {
  const r = await runCicada(['pub', '-p', '1', '-h', '127.0.0.1', '-t', 't', '-m', 'x']);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /^Error: cannot connect to mqtt:\/\/127\.0\.0\.1:1: connect ECONNREFUSED[^\n]*\n$/);
});

test('a bad flag or a missing topic prints the error in one line and where the usage is, exit 1', async () => {
  for (const args of [['pub', '-z'], ['pub', '-t', 't'], ['sub'], ['sub', '-t', 't', '-q', '3'], ['pub', '-t', 'a', '-m', 'b', '-V', 'mqttv6']]) {
    const r = await runCicada(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^Error: .+\n\nUse 'cicada (pub|sub) --help' to see usage\.\n$/, args.join(' '));
  }
  const help = await runCicada(['sub', '--help']);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /-F format/);
});

test('TLS: --cafile --cert --key against a Mosquitto TLS listener that requires client certificates; --insecure', async (t) => {
  const dir = tempDir(t);
  const c = makeCerts(dir);
  const mosq = await startMosquitto(dir, ['allow_anonymous true', `cafile ${c.ca}`, `certfile ${c.cert}`, `keyfile ${c.key}`, 'require_certificate true']);
  t.after(() => mosq.stop());
  const tls = ['-h', 'localhost', '-p', String(mosq.port), '--cafile', c.ca, '--cert', c.clientCert, '--key', c.clientKey];
  const b = { port: mosq.port, subscribes: () => mosq.output().split('Received SUBSCRIBE').length - 1, close: () => mosq.stop() };
  const sub = await subscribed(b, 1, cicada(['sub', ...tls, '-t', 'tls', '-d', '-C', '1']), t);
  assert.equal((await runCicada(['pub', ...tls, '-t', 'tls', '-m', 'encrypted'])).code, 0);
  assert.deepEqual(lines((await sub.exit(10_000)).stdout), ['encrypted']);
  const wrongCa = await runCicada(['pub', '-h', '127.0.0.1', '-p', String(mosq.port), '--cafile', c.cert, '--cert', c.clientCert, '--key', c.clientKey, '-t', 't', '-m', 'x']);
  assert.equal(wrongCa.code, 8); // MOSQ_ERR_TLS, as mosquitto_pub
  assert.match(wrongCa.stderr, /^Error: A TLS error occurred/);
  const insecure = await runCicada(['pub', '-h', '127.0.0.1', '-p', String(mosq.port), '--cafile', c.cert, '--cert', c.clientCert, '--key', c.clientKey, '--insecure', '-t', 't', '-m', 'x']);
  assert.equal(insecure.code, 0, insecure.stderr);
});

test('-F fields and escapes render as mosquitto_sub renders them (unit)', async () => {
  const { formatMessage } = await import('../../src/cli/sub-format.js');
  const now = (): Date => new Date(2026, 10, 25, 20, 15, 17, 948);
  const msg = { topic: 'j/a', payload: Buffer.from('{"x":1}'), qos: 1 as const, retain: true, dup: false };
  const f = (format: string, noNewline = false): string => formatMessage(msg, { verbose: false, noNewline, format, pretty: false, now });
  const zone = ((o) => `${o >= 0 ? '+' : '-'}${String(Math.floor(Math.abs(o) / 60)).padStart(2, '0')}${String(Math.abs(o) % 60).padStart(2, '0')}`)(-now().getTimezoneOffset());
  assert.equal(f('%t|%p|%q|%r|%l|%x|%%'), 'j/a|{"x":1}|1|1|7|7b2278223a317d|%\n');
  assert.equal(f('%I'), `2026-11-25T20:15:17${zone}\n`);
  assert.equal(f('a\\tb\\nc', true), 'a\tb\nc');
  assert.equal(f('%j'), `{"tst":"2026-11-25T20:15:17.948000Z${zone}","topic":"j/a","qos":1,"retain":1,"payloadlen":7,"payload":"{\\"x\\":1}"}\n`);
  assert.equal(f('%J'), `{"tst":"2026-11-25T20:15:17.948000Z${zone}","topic":"j/a","qos":1,"retain":1,"payloadlen":7,"payload":{"x":1}}\n`);
  assert.equal(formatMessage(msg, { verbose: true, noNewline: false, format: undefined, pretty: false }), 'j/a {"x":1}\n');
  assert.equal(formatMessage(msg, { verbose: false, noNewline: true, format: undefined, pretty: false }), '{"x":1}');
});

test('-T filters topics out, -N drops the newline, -d traces packets (against Cicada)', async (t) => {
  const b = await open(t, 'cicada');
  const sub = await subscribed(b, 1, cicada(['sub', '-p', String(b.port), '-t', 'n/#', '-T', 'n/skip/#', '-N', '-C', '2']), t);
  for (const topic of ['n/a', 'n/skip/x', 'n/b']) await runCicada(['pub', '-p', String(b.port), '-t', topic, '-m', topic.slice(-1)]);
  assert.equal((await sub.exit(10_000)).stdout, 'ab');
  const traced = await runCicada(['pub', '-p', String(b.port), '-t', 'n/d', '-m', 'x', '-q', '1', '-d', '-i', 'tracer']);
  assert.deepEqual(traced.stdout.trim().split('\n'), [
    'Client tracer sending CONNECT',
    'Client tracer received CONNACK (0)',
    "Client tracer sending PUBLISH (d0, q1, r0, m1, 'n/d', ... (1 bytes))",
    'Client tracer received PUBACK (m1, rc0)',
    'Client tracer sending DISCONNECT',
  ]);
});

test('cicada sub reconnects by itself (as mosquitto_sub does) and subscribes again when the broker restarts', async (t) => {
  const { createBroker } = await import('../../src/index.js');
  const { freePort } = await import('../helpers/broker.js');
  const port = await freePort();
  const start = async () => {
    const broker = createBroker({ host: '127.0.0.1', port, logLevel: 'silent', sysInterval: 0 });
    let subscribes = 0;
    broker.on('subscribed', () => subscribes++);
    await broker.listen();
    return { broker, subscribes: () => subscribes };
  };
  let b = await start();
  const sub = cicada(['sub', '-p', String(port), '-t', 'rc', '-C', '2', '-W', '20']);
  t.after(() => sub.kill('SIGKILL'));
  await waitFor(() => b.subscribes() >= 1, 10_000, 'first subscription');
  b.broker.publish({ topic: 'rc', payload: 'before' });
  await sub.waitForOutput('before', 5000);
  await b.broker.close();
  b = await start();
  t.after(() => b.broker.close());
  await waitFor(() => b.subscribes() >= 1, 10_000, 'subscription after the restart');
  b.broker.publish({ topic: 'rc', payload: 'after' });
  const r = await sub.exit(10_000);
  assert.equal(r.stdout, 'before\nafter\n');
  assert.equal(r.code, 0);
});
