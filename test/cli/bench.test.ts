// `cicada bench pub|sub|conn` against Cicada and Debian's Mosquitto: counts add up, latency comes
// from the payload timestamps, progress goes to stderr once a second, every run is time-bounded.
import { describe, test } from 'node:test';
import net from 'node:net';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import assert from 'node:assert/strict';
import { cicadaOnly, startBroker } from '../helpers/broker.js';
import { waitFor } from '../helpers/wait.js';
import { cicada, makeCerts, runCicada, startMosquitto, tempDir } from '../client/support.js';

type Ctx = { after(fn: () => unknown): void };

interface Summary {
  mode: string;
  connected: number;
  failed: number;
  connectsPerSecond: number;
  sent: number;
  acked: number;
  received: number;
  messagesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

const BROKERS: Record<string, (t: Ctx) => Promise<{ port: number; subscribes(): number }>> = {
  cicada: async (t) => {
    const b = await startBroker();
    t.after(() => b.close());
    let n = 0;
    b.broker!.on('subscribed', () => n++);
    return { port: b.port, subscribes: () => n };
  },
  mosquitto: async (t) => {
    const m = await startMosquitto(tempDir(t));
    t.after(() => m.stop());
    return { port: m.port, subscribes: () => m.output().split('Received SUBSCRIBE').length - 1 };
  },
};

for (const [kind, start] of Object.entries(BROKERS)) {
  describe(`bench against ${kind}`, { concurrency: 2 }, () => {
    test('bench pub (QoS 1, unlimited rate, -L) into bench sub: every message arrives, latency from payload timestamps', async (t) => {
      const b = await start(t);
      const common = ['-h', '127.0.0.1', '-p', String(b.port), '-c', '3', '-t', 'bench/%i', '-q', '1', '--json'];
      const sub = cicada(['bench', 'sub', ...common, '-L', '1500', '--duration', '15']);
      t.after(() => sub.kill('SIGKILL'));
      await waitFor(() => b.subscribes() >= 3, 10_000, 'three bench subscriptions');
      const pub = await runCicada(['bench', 'pub', ...common, '-I', '0', '-L', '500', '-s', '100', '--duration', '10'], 15_000);
      assert.equal(pub.code, 0, pub.stderr);
      const ps = JSON.parse(pub.stdout) as Summary;
      assert.equal(ps.connected, 3);
      assert.equal(ps.sent, 1500);
      assert.equal(ps.acked, 1500);
      assert.ok(ps.messagesPerSecond > 0);
      const sr = await sub.exit(15_000);
      assert.equal(sr.code, 0, sr.stderr);
      const ss = JSON.parse(sr.stdout) as Summary;
      assert.equal(ss.received, 1500);
      assert.ok(ss.latencyMs.p50 > 0 && ss.latencyMs.p50 <= ss.latencyMs.p99 && ss.latencyMs.p99 <= ss.latencyMs.max, JSON.stringify(ss.latencyMs));
      assert.ok(ss.latencyMs.max < 10_000, JSON.stringify(ss.latencyMs));
    });

    test('bench conn: all clients connect; connects/s reported; progress line on stderr once a second; bounded by --duration', async (t) => {
      const b = await start(t);
      const started = Date.now();
      const r = await runCicada(['bench', 'conn', '-h', '127.0.0.1', '-p', String(b.port), '-c', '50', '--duration', '2.2'], 15_000);
      const elapsed = Date.now() - started;
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^conn: 50 clients, 2\.\d s\n {2}connected 50: \d+ connects\/s, CONNACK latency p50 [\d.]+ ms, p99 [\d.]+ ms, max [\d.]+ ms\n$/);
      const progress = r.stderr.split('\n').filter((l) => l.startsWith('conn '));
      assert.equal(progress.length, 2, r.stderr);
      assert.match(progress[0]!, /^conn 1s {2}conns 50\/50/);
      assert.ok(elapsed < 8000, `${elapsed} ms`);
    });
  });
}

test('bench pub at a fixed interval sends about duration / interval messages per client', async (t) => {
  const b = await BROKERS.cicada!(t);
  const r = await runCicada(['bench', 'pub', '-h', '127.0.0.1', '-p', String(b.port), '-c', '2', '-t', 'iv/%i', '-I', '100', '--duration', '1.5', '--json', '--quiet'], 10_000);
  assert.equal(r.code, 0, r.stderr);
  const s = JSON.parse(r.stdout) as Summary;
  assert.ok(s.sent >= 2 * 10 && s.sent <= 2 * 15, `sent ${s.sent}`);
  assert.equal(r.stderr, '');
});

test('bench errors: nothing listening exits 1 with the reason; a bad mode or flag prints one line and where the usage is', async () => {
  const none = await runCicada(['bench', 'conn', '-h', '127.0.0.1', '-p', '1', '--duration', '1', '--quiet']);
  assert.equal(none.code, 1);
  assert.match(none.stderr, /Error: no client could connect: connect ECONNREFUSED/);
  for (const args of [['bench', 'flood'], ['bench', 'pub'], ['bench', 'conn', '-z']]) {
    const r = await runCicada(args);
    assert.equal(r.code, 1, args.join(' '));
    assert.match(r.stderr, /^Error: [^\n]+\n\nUse 'cicada bench --help' to see usage\.\n$/);
  }
});

test('bench conn -w keeps at most that many handshakes in flight (a sliding window)', async (t) => {
  // A server that answers each CONNECT 40 ms late, counting CONNECTs not answered yet.
  let pending = 0;
  let most = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('data', () => {
      pending++;
      most = Math.max(most, pending);
      setTimeout(() => {
        pending--;
        if (!socket.destroyed) socket.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK, accepted
      }, 40);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => {
    for (const s of sockets) s.destroy();
    server.close();
  });
  const port = (server.address() as net.AddressInfo).port;
  const r = await runCicada(['bench', 'conn', '-h', '127.0.0.1', '-p', String(port), '-c', '24', '-w', '4', '--duration', '2', '--json', '--quiet'], 15_000);
  assert.equal(r.code, 0, r.stderr);
  assert.equal((JSON.parse(r.stdout) as Summary).connected, 24);
  assert.equal(most, 4, 'exactly the window of 4 handshakes was in flight at the peak');
  const bad = await runCicada(['bench', 'conn', '-w', '0']);
  assert.equal(bad.code, 1);
});

describe('bench: rates over the real duration, refusals, TLS and WebSocket (issue 13)', { concurrency: 3 }, () => {
  test('messagesPerSecond is over the run\'s real duration; activeMessagesPerSecond over the time messages moved', async (t) => {
    const b = await BROKERS.cicada!(t);
    const r = await runCicada(['bench', 'pub', '-h', '127.0.0.1', '-p', String(b.port), '-c', '2', '-t', 'rt/%i', '-I', '200', '-L', '3', '--duration', '2', '--json', '--quiet'], 10_000);
    assert.equal(r.code, 0, r.stderr);
    const s = JSON.parse(r.stdout) as Summary & { seconds: number; activeMessagesPerSecond: number };
    assert.equal(s.sent, 6);
    // 6 messages within ~0.6 s of a run that stops once they are sent: the real duration counts
    // the time until the first message too, so the rate is lower than while messages moved.
    assert.equal(s.messagesPerSecond, Math.round(s.sent / s.seconds));
    assert.ok(s.activeMessagesPerSecond > s.messagesPerSecond, JSON.stringify(s));
  });

  test('publishes refused with 0x87 (Mosquitto ACL, 5.0, QoS 1 and 2) are counted as refused, not acknowledged', async (t) => {
    const dir = tempDir(t);
    writeFileSync(join(dir, 'acl'), 'topic readwrite ok/#\n');
    const m = await startMosquitto(dir, ['allow_anonymous true', `acl_file ${join(dir, 'acl')}`]);
    t.after(() => m.stop());
    for (const qos of ['1', '2']) {
      const r = await runCicada(['bench', 'pub', '-h', '127.0.0.1', '-p', String(m.port), '-V', '5', '-q', qos, '-t', 'denied/%i', '-I', '0', '-L', '20', '--duration', '10', '--json', '--quiet'], 15_000);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as Summary & { refused: number };
      assert.deepEqual({ sent: s.sent, acked: s.acked, refused: s.refused }, { sent: 20, acked: 0, refused: 20 }, `QoS ${qos}`);
    }
  });

  test('bench sub on a filter Cicada refuses (ACL) exits 1 with the reason (3.1.1 and 5.0)', cicadaOnly('Mosquitto grants it and filters at delivery'), async (t) => {
    // Mosquitto grants such a subscription and filters at delivery; Cicada answers SUBACK 0x87/0x80.
    const dir = tempDir(t);
    writeFileSync(join(dir, 'acl'), 'topic readwrite ok/#\n');
    const m = await startBroker({ security: { allowAnonymous: true, aclFile: join(dir, 'acl') } });
    t.after(() => m.close());
    for (const [version, reason] of [['5', "Error: subscription to 'secret/#' refused: Not authorized (0x87)\n"], ['4', "Error: subscription to 'secret/#' refused: Unspecified error (0x80)\n"]] as const) {
      const started = Date.now();
      const r = await runCicada(['bench', 'sub', '-h', '127.0.0.1', '-p', String(m.port), '-V', version, '-t', 'secret/#', '--duration', '20', '--quiet', '--json'], 15_000);
      assert.equal(r.code, 1);
      assert.equal(r.stderr, reason);
      assert.ok(Date.now() - started < 10_000, 'it stops at the refusal, not after --duration');
    }
  });

  test('--tls/--cafile and --ws: bench over TLS, WebSocket and secure WebSocket listeners', async (t) => {
    const dir = tempDir(t);
    const c = makeCerts(dir);
    const tls = { cert: readFileSync(c.cert), key: readFileSync(c.key) };
    const { createBroker } = await import('../../src/index.js');
    const broker = createBroker({ logLevel: 'silent', sysInterval: 0, listeners: [{ port: 0, host: '127.0.0.1', tls }, { port: 0, host: '127.0.0.1', protocol: 'websockets' }, { port: 0, host: '127.0.0.1', protocol: 'websockets', tls }] });
    await broker.listen();
    t.after(() => broker.close());
    const [mqtts, ws, wss] = broker.urls.map((u) => new URL(u).port);
    const runs: Array<[string, string[]]> = [
      ['mqtts', ['-h', 'localhost', '-p', mqtts!, '--cafile', c.ca]],
      ['ws', ['-h', '127.0.0.1', '-p', ws!, '--ws']],
      ['wss', ['-h', 'localhost', '-p', wss!, '--ws', '--cafile', c.ca]],
    ];
    for (const [what, flags] of runs) {
      const r = await runCicada(['bench', 'pub', ...flags, '-c', '2', '-t', 'tw/%i', '-q', '1', '-I', '0', '-L', '50', '--duration', '10', '--json', '--quiet'], 15_000);
      assert.equal(r.code, 0, `${what}: ${r.stderr}`);
      const s = JSON.parse(r.stdout) as Summary;
      assert.deepEqual({ connected: s.connected, acked: s.acked }, { connected: 2, acked: 100 }, what);
    }
    const untrusted = await runCicada(['bench', 'conn', '-h', 'localhost', '-p', mqtts!, '--tls', '--duration', '1', '--quiet'], 10_000);
    assert.equal(untrusted.code, 1);
    assert.match(untrusted.stderr, /^Error: no client could connect: unable to verify the first certificate\n$/);
  });
});
