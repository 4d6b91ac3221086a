#!/usr/bin/env node
/**
 * Restart at fleet scale, Cicada (SQLite) side by side with Mosquitto: each broker is filled with
 * the same state (S offline persistent sessions, each with Q/S queued QoS 1 messages on its own
 * topic, and R retained messages on distinct topics; P-byte payloads), stopped with SIGTERM, and
 * started again on its store. Per broker it reports:
 *   - running RSS with the state loaded (after it settles),
 *   - time to listen after the restart (spawn to first accepted TCP connection), and the CPU
 *     time the broker used until then (on a loaded machine the fairer comparison),
 *   - RSS after the restore (after it settles), and its ratio to the running RSS,
 *   - a check that one restored session gets its Q/S queued messages back.
 * The targets: RSS after restore <= 1.1x running, time to listen <= 2x Mosquitto's.
 *
 *   node bench/restore.mjs [--queued 1000000] [--retained 1000000] [--sessions 1000]
 *                          [--payload 100] [--brokers cicada,mosquitto] [--out FILE]
 *
 * Defaults are the scale (1M queued + 1M retained); filling takes about a minute per
 * broker on a quiet machine. State is published by raw MQTT 3.1.1 connections (4 publishers, a
 * window of 500 QoS 1 messages each) so the load generator is never the bottleneck.
 */
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

// CICADA_ROOT: another checkout's build, to compare before and after a change.
const ROOT = process.env.CICADA_ROOT ?? join(dirname(fileURLToPath(import.meta.url)), '..');
const CLI = join(ROOT, 'bin', 'cicada.js');
const CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
const HOST = '127.0.0.1';
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const opts = { queued: 1_000_000, retained: 1_000_000, sessions: 1000, payload: 100, brokers: ['cicada', 'mosquitto'], out: undefined };
for (let i = 2; i < process.argv.length; i++) {
  const a = process.argv[i];
  const v = process.argv[++i];
  if (v === undefined) fail(`${a} needs a value`);
  if (a === '--brokers') opts.brokers = v.split(',');
  else if (a === '--out') opts.out = v;
  else if (['--queued', '--retained', '--sessions', '--payload'].includes(a)) opts[a.slice(2)] = Number(v);
  else fail(`unknown option ${a}`);
}
function fail(message) {
  console.error(`bench restore: ${message}`);
  process.exit(2);
}

// ------------------------------------------------------------ raw MQTT 3.1.1

function utf8(s) {
  const b = Buffer.from(s);
  const out = Buffer.alloc(2 + b.length);
  out.writeUInt16BE(b.length, 0);
  b.copy(out, 2);
  return out;
}
function remainingLength(n) {
  const bytes = [];
  do {
    let byte = n % 128;
    n = Math.floor(n / 128);
    if (n > 0) byte |= 0x80;
    bytes.push(byte);
  } while (n > 0);
  return Buffer.from(bytes);
}
function packet(first, body) {
  return Buffer.concat([Buffer.from([first]), remainingLength(body.length), body]);
}
const connectPacket = (clientId, clean) =>
  packet(0x10, Buffer.concat([utf8('MQTT'), Buffer.from([4, clean ? 0x02 : 0x00, 0, 60]), utf8(clientId)]));
const subscribePacket = (id, filter) => packet(0x82, Buffer.concat([Buffer.from([id >> 8, id & 0xff]), utf8(filter), Buffer.from([1])]));
const publishPacket = (topic, id, payload, retain) =>
  packet(0x32 | (retain ? 1 : 0), Buffer.concat([utf8(topic), Buffer.from([id >> 8, id & 0xff]), payload]));

/** A raw connection: `expect(n)` resolves once n more packets came back (CONNACK, SUBACK, PUBACK). */
async function rawClient(port, clientId, clean, onPacket) {
  const socket = createConnection({ host: HOST, port });
  await new Promise((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending[1]) {
      onPacket(pending[0] & 0xf0);
      pending = pending.subarray(2 + pending[1]);
    }
  });
  socket.setNoDelay(true);
  socket.write(connectPacket(clientId, clean));
  return socket;
}

/** Publish `count` QoS 1 messages, topic(i) for the i-th, with a window of unacknowledged ones. */
async function publishAll(port, name, count, topic, retain, payload) {
  const PUBLISHERS = 4;
  const WINDOW = 500;
  const per = Math.ceil(count / PUBLISHERS);
  await Promise.all(
    Array.from({ length: PUBLISHERS }, async (_, p) => {
      const first = p * per;
      const last = Math.min(count, first + per);
      if (first >= last) return;
      let next = first;
      let acked = 0;
      let inflight = 0;
      let done;
      const finished = new Promise((resolve) => (done = resolve));
      let socket;
      const pump = () => {
        let batch = [];
        while (inflight < WINDOW && next < last) {
          batch.push(publishPacket(topic(next), (next % 65000) + 1, payload, retain));
          next++;
          inflight++;
        }
        if (batch.length > 0) socket.write(Buffer.concat(batch));
      };
      socket = await rawClient(port, `${name}-pub-${p}`, true, (type) => {
        if (type === 0x20) return pump(); // CONNACK
        if (type !== 0x40) return;
        acked++;
        inflight--;
        if (acked === last - first) done();
        else if (inflight < WINDOW / 2) pump();
      });
      await finished;
      socket.end();
    }),
  );
}

/** S persistent sessions, each subscribed (QoS 1) to q/<i>, then disconnected. */
async function createSessions(port, sessions) {
  for (let base = 0; base < sessions; base += 100) {
    await Promise.all(
      Array.from({ length: Math.min(100, sessions - base) }, async (_, k) => {
        const i = base + k;
        let resolve;
        const subacked = new Promise((r) => (resolve = r));
        const socket = await rawClient(port, `qs${i}`, false, (type) => {
          if (type === 0x20) socket.write(subscribePacket(1, `q/${i}`));
          else if (type === 0x90) resolve();
        });
        await subacked;
        socket.end(Buffer.from([0xe0, 0]));
      }),
    );
  }
}

/** Reconnect session qs0 and count its queued messages (PUBLISH QoS 1, acknowledged). */
async function drainOne(port, expected) {
  let got = 0;
  let resolve;
  const all = new Promise((r) => (resolve = r));
  const socket = createConnection({ host: HOST, port });
  await new Promise((r) => socket.once('connect', r));
  let pending = Buffer.alloc(0);
  socket.on('data', (chunk) => {
    pending = Buffer.concat([pending, chunk]);
    for (;;) {
      let mult = 1;
      let len = 0;
      let i = 1;
      for (; i < pending.length; i++) {
        len += (pending[i] & 0x7f) * mult;
        mult *= 128;
        if ((pending[i] & 0x80) === 0) break;
      }
      if (i >= pending.length || pending.length < i + 1 + len) break;
      const type = pending[0] & 0xf0;
      if (type === 0x30) {
        const topicLength = pending.readUInt16BE(i + 1);
        const id = pending.readUInt16BE(i + 3 + topicLength);
        socket.write(Buffer.from([0x40, 2, id >> 8, id & 0xff]));
        if (++got >= expected) resolve();
      }
      pending = pending.subarray(i + 1 + len);
    }
  });
  socket.write(connectPacket('qs0', false));
  await Promise.race([all, sleep(60_000)]);
  socket.destroy();
  return got;
}

// ------------------------------------------------------------ brokers

/** CPU seconds (user + system, all threads) the process has used. */
function cpuSeconds(pid) {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return (Number(fields[11]) + Number(fields[12])) / CLK_TCK;
}

function rssMiB(pid) {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return kb / 1024;
}

async function waitListening(port, child, timeoutMs = 300_000) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`broker exited with ${child.exitCode}: ${child.stderrText}`);
    const ok = await new Promise((resolve) => {
      const s = createConnection({ host: HOST, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(10);
  }
  throw new Error('broker did not listen in time');
}

function startBroker(kind, dir, port) {
  const conf = join(dir, `${kind}.conf`);
  const data = join(dir, 'data');
  mkdirSync(data, { recursive: true });
  const common = `listener ${port} ${HOST}\nallow_anonymous true\npersistence true\npersistence_location ${data}/\nmax_queued_messages 10000000\n`;
  if (kind === 'cicada') writeFileSync(conf, `${common}sys_interval 0\nlog_dest none\n`);
  else writeFileSync(conf, `${common}autosave_interval 0\nset_tcp_nodelay true\nlog_dest none\nuser root\n`);
  const child =
    kind === 'cicada'
      ? spawn(process.execPath, ['--max-semi-space-size=4', CLI, 'broker', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] })
      : spawn('/usr/sbin/mosquitto', ['-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderrText = '';
  child.stderr.on('data', (d) => (child.stderrText += d));
  return child;
}

async function stop(child) {
  const exited = new Promise((r) => child.once('exit', r));
  const started = Date.now();
  child.kill('SIGTERM');
  await exited;
  return (Date.now() - started) / 1000;
}

async function settledRss(pid) {
  // RSS after the process had a few seconds to finish its work (GC, commits), as an operator sees it.
  await sleep(3000);
  return rssMiB(pid);
}

async function freePort() {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, HOST, () => {
      const port = s.address().port;
      s.close(() => resolve(port));
    });
  });
}

async function runBroker(kind) {
  const dir = mkdtempSync(join(tmpdir(), `restore-${kind}-`));
  const port = await freePort();
  const payload = Buffer.alloc(opts.payload, 0x61);
  const perSession = Math.floor(opts.queued / opts.sessions);
  try {
    let child = startBroker(kind, dir, port);
    await waitListening(port, child);
    const idle = rssMiB(child.pid);
    const t0 = Date.now();
    await createSessions(port, opts.sessions);
    await publishAll(port, 'q', perSession * opts.sessions, (i) => `q/${i % opts.sessions}`, false, payload);
    await publishAll(port, 'r', opts.retained, (i) => `r/${Math.floor(i / 1000)}/${i % 1000}`, true, payload);
    const fillSeconds = (Date.now() - t0) / 1000;
    const running = await settledRss(child.pid);
    const stopSeconds = await stop(child);
    const storeBytes = Number(execFileSync('du', ['-sb', join(dir, 'data')]).toString().split('\t')[0]);

    const spawned = Date.now();
    child = startBroker(kind, dir, port);
    await waitListening(port, child);
    const listenSeconds = (Date.now() - spawned) / 1000;
    const listenCpuSeconds = cpuSeconds(child.pid);
    const restored = await settledRss(child.pid);
    const drained = await drainOne(port, perSession);
    await stop(child);
    return {
      broker: kind,
      queued: perSession * opts.sessions,
      retained: opts.retained,
      fillSeconds,
      idleMiB: Math.round(idle),
      runningMiB: Math.round(running),
      stopSeconds,
      storeMiB: Math.round(storeBytes / 1048576),
      listenSeconds,
      listenCpuSeconds,
      restoredMiB: Math.round(restored),
      restoredOverRunning: Number((restored / running).toFixed(2)),
      perItemKiB: Number((((running - idle) * 1024) / (perSession * opts.sessions + opts.retained)).toFixed(2)),
      sessionBack: `${drained}/${perSession}`,
    };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const results = [];
for (const kind of opts.brokers) {
  process.stderr.write(`${kind}: filling ${opts.queued} queued + ${opts.retained} retained...\n`);
  const r = await runBroker(kind);
  process.stderr.write(`${JSON.stringify(r)}\n`);
  results.push(r);
}
const mosquitto = results.find((r) => r.broker === 'mosquitto');
console.log('| broker | queued | retained | running RSS MiB | per item KiB | restart: listen s | CPU s to listen | RSS after restore MiB | after/running | store MiB | session back |');
console.log('|---|---|---|---|---|---|---|---|---|---|---|');
for (const r of results) {
  const vs = (a, b) => (mosquitto && r !== mosquitto ? ` (${(a / b).toFixed(2)}x)` : '');
  console.log(
    `| ${r.broker} | ${r.queued} | ${r.retained} | ${r.runningMiB} | ${r.perItemKiB} | ${r.listenSeconds.toFixed(2)}${vs(r.listenSeconds, mosquitto?.listenSeconds)} | ` +
      `${r.listenCpuSeconds.toFixed(2)}${vs(r.listenCpuSeconds, mosquitto?.listenCpuSeconds)} | ${r.restoredMiB} | ${r.restoredOverRunning} | ${r.storeMiB} | ${r.sessionBack} |`,
  );
}
if (opts.out !== undefined) writeFileSync(opts.out, `${JSON.stringify({ date: new Date().toISOString(), opts, results }, null, 2)}\n`);
