/**
 * `cicada bench pub|sub|conn`: a load generator in the manner of emqtt-bench.
 *
 *   pub   N clients publish to a topic pattern (%i = client number) every -I ms, or as fast as the
 *         socket takes (-I 0; QoS 1/2 within an inflight window), for --duration seconds.
 *   sub   N clients subscribe to a pattern and count what arrives; latency = arrival time minus
 *         the timestamp that `bench pub` writes at the start of each payload (same host clock).
 *   conn  N clients connect (every -i ms, or all at once) and stay connected for the duration.
 *
 * A progress line goes to stderr once a second; the summary (or --json) to stdout. Every run
 * is bounded by --duration (default 10 s). Connections use the codec on raw sockets
 * (bench-client.ts), not the client library; TLS (--tls, --cafile ...) and WebSocket (--ws).
 *
 * Rates are over the run's real duration (start to stop); the rate while messages moved (first
 * to last) is given beside it. Publishes refused by the broker (5.0 reason code >= 0x80, e.g.
 * 0x87 not authorized) are counted as refused, not acknowledged; a refused subscription ends
 * `bench sub` with exit code 1 and the reason.
 */
import { readFileSync } from 'node:fs';
import type { ProtocolVersion, QoS } from '../protocol/index.js';
import { BenchConnection, type BenchConnectOptions } from './bench-client.js';
import { Counter, fmtMs, LatencySamples, nowMs } from './bench-stats.js';
import { CliUsageError, has, intValue, parseFlags, qosValue, value, type Flags, type FlagTable } from './flags.js';
import { connackText, processIo, runTool, type ToolIo } from './mqtt-tool.js';
import { versionLine } from './usage.js';

export const BENCH_USAGE = `Usage: cicada bench pub|sub|conn [options]

Load an MQTT broker (as emqtt-bench). Summary on stdout, progress on stderr once a second.

 -h host (default localhost)   -p port (default 1883)   -V 3|4|5 (default 4)
 -c clients (default 1)   -n first client number (default 0)   -i ms between connects (default 0)
 -w handshakes in flight at most, a sliding window (default 100)
 -t topic, %i = client number, %c = client id (pub and sub)
 -I ms between messages per client, 0 = as fast as possible (pub, default 1000)
 -s payload size in bytes (default 256; >= 8 carries the send time for latency)
 -q qos (default 0)   -r retain   -k keepalive seconds (default 300)   -C clean (default true)
 -u username   -P password   --prefix client id prefix (default cicada-bench)
 -L limit: messages per client (pub) or in total (sub), then stop
 --inflight N: unacknowledged QoS 1/2 messages per client (default 100)
 --duration seconds (default 10)   --json (summary as JSON)   --quiet (no progress)
 --tls (mqtts; implied by --cafile/--cert)   --cafile FILE   --cert FILE --key FILE   --insecure
 --ws (MQTT over WebSocket, wss with TLS)   --ws-path PATH (default /mqtt)
 --help   --version
`;

const BENCH_FLAGS: FlagTable = {
  host: { args: 1, aliases: ['-h', '--host'] },
  port: { args: 1, aliases: ['-p', '--port'] },
  version: { args: 1, aliases: ['-V', '--version'] },
  count: { args: 1, aliases: ['-c', '--count'] },
  start: { args: 1, aliases: ['-n', '--startnumber'] },
  'conn-interval': { args: 1, aliases: ['-i', '--interval'] },
  window: { args: 1, aliases: ['-w', '--window'] },
  'msg-interval': { args: 1, aliases: ['-I', '--interval_of_msg'] },
  topic: { args: 1, aliases: ['-t', '--topic'] },
  size: { args: 1, aliases: ['-s', '--size'] },
  qos: { args: 1, aliases: ['-q', '--qos'] },
  retain: { args: 0, aliases: ['-r', '--retain'] },
  keepalive: { args: 1, aliases: ['-k', '--keepalive'] },
  clean: { args: 1, aliases: ['-C', '--clean'] },
  username: { args: 1, aliases: ['-u', '--username'] },
  password: { args: 1, aliases: ['-P', '--password'] },
  prefix: { args: 1, aliases: ['--prefix'] },
  limit: { args: 1, aliases: ['-L', '--limit'] },
  inflight: { args: 1, aliases: ['--inflight'] },
  duration: { args: 1, aliases: ['--duration'] },
  json: { args: 0, aliases: ['--json'] },
  tls: { args: 0, aliases: ['--tls'] },
  cafile: { args: 1, aliases: ['--cafile'] },
  cert: { args: 1, aliases: ['--cert'] },
  key: { args: 1, aliases: ['--key'] },
  insecure: { args: 0, aliases: ['--insecure'] },
  ws: { args: 0, aliases: ['--ws'] },
  'ws-path': { args: 1, aliases: ['--ws-path'] },
  quiet: { args: 0, aliases: ['--quiet'] },
  help: { args: 0, aliases: ['--help'] },
  'print-version': { args: 0, aliases: ['--version'] },
};

type Mode = 'pub' | 'sub' | 'conn';

interface BenchConfig {
  mode: Mode;
  clients: number;
  start: number;
  connInterval: number;
  /** Handshakes in flight at most (sliding window). */
  window: number;
  msgInterval: number;
  topic: string;
  size: number;
  qos: QoS;
  retain: boolean;
  limit: number;
  inflight: number;
  durationMs: number;
  json: boolean;
  quiet: boolean;
  prefix: string;
  connect: Omit<BenchConnectOptions, 'clientId'>;
}

function config(argv: string[]): BenchConfig | 'version' | undefined {
  const [mode, ...rest] = argv;
  if (mode === '--help' || mode === 'help') return undefined;
  if (mode === '--version') return 'version';
  if (mode !== 'pub' && mode !== 'sub' && mode !== 'conn') throw new CliUsageError(mode === undefined ? 'Give a mode: pub, sub or conn.' : `Unknown mode '${mode}' (pub, sub or conn).`);
  const flags = parseFlags(rest, BENCH_FLAGS);
  if (has(flags, 'help')) return undefined;
  if (has(flags, 'print-version')) return 'version';
  const topic = value(flags, 'topic');
  if (mode !== 'conn' && topic === undefined) throw new CliUsageError(`bench ${mode} needs a topic (-t).`);
  const version = intValue(flags, 'version', 3, 5) ?? 4;
  const connect: Omit<BenchConnectOptions, 'clientId'> = {
    host: value(flags, 'host') ?? 'localhost',
    port: intValue(flags, 'port', 1, 65535) ?? 1883,
    version: version as ProtocolVersion,
    keepalive: intValue(flags, 'keepalive', 0, 65535) ?? 300,
    clean: value(flags, 'clean') !== 'false',
  };
  const username = value(flags, 'username');
  const password = value(flags, 'password');
  if (username !== undefined) connect.username = username;
  if (password !== undefined) connect.password = password;
  transportFlags(flags, connect);
  const seconds = Number(value(flags, 'duration') ?? '10');
  if (!Number.isFinite(seconds) || seconds <= 0) throw new CliUsageError(`Invalid --duration '${value(flags, 'duration')}'.`);
  return {
    mode,
    clients: intValue(flags, 'count', 1, 1_000_000) ?? 1,
    start: intValue(flags, 'start', 0, Number.MAX_SAFE_INTEGER) ?? 0,
    connInterval: intValue(flags, 'conn-interval', 0, 3_600_000) ?? 0,
    window: intValue(flags, 'window', 1, 100_000) ?? 100,
    msgInterval: intValue(flags, 'msg-interval', 0, 3_600_000) ?? 1000,
    topic: topic ?? '',
    size: intValue(flags, 'size', 0, 256 * 1024 * 1024) ?? 256,
    qos: qosValue(flags, 'qos'),
    retain: has(flags, 'retain'),
    limit: intValue(flags, 'limit', 1, Number.MAX_SAFE_INTEGER) ?? Infinity,
    inflight: intValue(flags, 'inflight', 1, 65535) ?? 100,
    durationMs: seconds * 1000,
    json: has(flags, 'json'),
    quiet: has(flags, 'quiet'),
    prefix: value(flags, 'prefix') ?? 'cicada-bench',
    connect,
  };
}

/** --tls --cafile --cert --key --insecure --ws --ws-path: files read before anything connects. */
function transportFlags(flags: Flags, connect: Omit<BenchConnectOptions, 'clientId'>): void {
  const read = (name: string): Buffer | undefined => {
    const path = value(flags, name);
    if (path === undefined) return undefined;
    try {
      return readFileSync(path);
    } catch (error) {
      throw new CliUsageError(`cannot read --${name} ${path} (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
    }
  };
  const [ca, cert, key] = [read('cafile'), read('cert'), read('key')];
  if ((cert === undefined) !== (key === undefined)) throw new CliUsageError('Both --cert and --key must be given if one of them is.');
  if (has(flags, 'tls') || ca !== undefined || cert !== undefined) {
    connect.tls = { rejectUnauthorized: !has(flags, 'insecure'), ...(ca ? { ca } : {}), ...(cert ? { cert } : {}), ...(key ? { key } : {}) };
  }
  if (has(flags, 'ws') || has(flags, 'ws-path')) connect.wsPath = value(flags, 'ws-path') ?? '/mqtt';
}

/** State shared by the clients of one run. */
class Run {
  readonly connects = new Counter();
  readonly failures = new Counter();
  readonly sent = new Counter();
  readonly acked = new Counter();
  readonly refused = new Counter();
  /** Why a subscription was refused (bench sub), when one was. */
  subscribeRefused: string | undefined;
  readonly received = new Counter();
  readonly connectLatency = new LatencySamples(100_000);
  readonly latency = new LatencySamples();
  readonly connections: BenchConnection[] = [];
  readonly started = nowMs();
  lastError: string | undefined;
  /** When the last client connected, and the first and last message moved (ms). */
  lastConnectAt = 0;
  firstMessageAt = 0;
  lastMessageAt = 0;
  stopping = false;
  private stopped!: () => void;
  readonly done = new Promise<void>((resolve) => (this.stopped = resolve));

  constructor(readonly cfg: BenchConfig) {}

  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.stopped();
  }

  elapsed(): number {
    return (nowMs() - this.started) / 1000;
  }

  /** A message was sent (pub) or received (sub) at `now`. */
  moved(now: number): void {
    if (this.firstMessageAt === 0) this.firstMessageAt = now;
    this.lastMessageAt = now;
  }
}

function expand(pattern: string, index: number, clientId: string): string {
  return pattern.replaceAll('%i', String(index)).replaceAll('%c', clientId);
}

async function startClient(run: Run, index: number): Promise<void> {
  const { cfg } = run;
  const clientId = `${cfg.prefix}-${index}-${process.pid}`;
  const t0 = nowMs();
  let conn: BenchConnection;
  try {
    conn = await BenchConnection.open(
      { ...cfg.connect, clientId },
      {
        onMessage: (sentAt) => {
          const now = nowMs();
          run.received.add();
          run.moved(now);
          if (!Number.isNaN(sentAt)) run.latency.add(now - sentAt);
          if (cfg.mode === 'sub' && run.received.total >= cfg.limit) run.stop();
        },
        onAcked: () => {
          run.acked.add();
          run.moved(nowMs());
        },
        onRefused: () => {
          run.refused.add();
          run.moved(nowMs());
        },
        onSubscribed: (codes) => {
          const bad = codes.find((c) => c >= 0x80);
          if (bad === undefined) return;
          run.subscribeRefused = `subscription to '${expand(cfg.topic, index, clientId)}' refused: ${connackText(bad, 5)} (0x${bad.toString(16)})`;
          run.stop();
        },
      },
    );
  } catch (error) {
    run.failures.add();
    run.lastError = (error as Error).message;
    return;
  }
  run.connects.add();
  run.lastConnectAt = nowMs();
  run.connectLatency.add(run.lastConnectAt - t0);
  run.connections.push(conn);
  if (run.stopping) return;
  const topic = expand(cfg.topic, index, clientId);
  if (cfg.mode === 'sub') conn.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: topic, qos: cfg.qos }] });
  if (cfg.mode === 'pub') {
    conn.prepare(topic, cfg.size, cfg.qos, cfg.retain);
    if (cfg.msgInterval === 0) await pumpUnlimited(run, conn);
    else pumpInterval(run, conn);
  }
}

const BATCH = 64;

async function pumpUnlimited(run: Run, conn: BenchConnection): Promise<void> {
  let left = run.cfg.limit;
  while (!run.stopping && !conn.closed && left > 0) {
    const n = Math.min(BATCH, conn.room(run.cfg.inflight), left);
    if (n === 0) {
      await conn.wait();
      continue;
    }
    const ok = conn.publishBatch(n);
    run.sent.add(n);
    if (run.cfg.qos === 0) run.moved(nowMs());
    left -= n;
    if (!ok) await conn.wait();
    else await new Promise((resolve) => setImmediate(resolve));
  }
}

function pumpInterval(run: Run, conn: BenchConnection): void {
  let left = run.cfg.limit;
  const timer = setInterval(() => {
    if (run.stopping || conn.closed || left <= 0) {
      clearInterval(timer);
      return;
    }
    if (conn.room(run.cfg.inflight) === 0) return;
    conn.publishBatch(1);
    run.sent.add();
    if (run.cfg.qos === 0) run.moved(nowMs());
    left--;
  }, run.cfg.msgInterval);
  void run.done.then(() => clearInterval(timer));
}

async function connectAll(run: Run): Promise<void> {
  const { cfg } = run;
  const pending: Array<Promise<void>> = [];
  // A sliding window of handshakes in flight (as mqttload -w): a new connect starts when one
  // finishes. 100 by default, which Mosquitto's listen backlog (100) takes without SYN retries.
  let inFlight = 0;
  let wake: (() => void) | undefined;
  const finished = (): void => {
    inFlight--;
    const w = wake;
    wake = undefined;
    w?.();
  };
  for (let i = 0; i < cfg.clients && !run.stopping; i++) {
    inFlight++;
    pending.push(startClient(run, cfg.start + i).finally(finished));
    if (cfg.connInterval > 0) await new Promise((r) => setTimeout(r, cfg.connInterval));
    else if (inFlight >= cfg.window) await new Promise<void>((r) => (wake = r));
  }
  await Promise.all(pending);
}

function progress(run: Run, io: ToolIo): void {
  const { cfg } = run;
  const parts = [`${cfg.mode} ${run.elapsed().toFixed(0)}s`, `conns ${run.connects.total}/${cfg.clients}`];
  const conns = run.connects.delta();
  if (cfg.mode === 'conn') parts.push(`+${conns}/s`);
  if (cfg.mode === 'pub') parts.push(`sent ${run.sent.total} (${run.sent.delta()}/s)`);
  if (cfg.mode === 'pub' && cfg.qos > 0) parts.push(`acked ${run.acked.total} (${run.acked.delta()}/s)`);
  if (run.refused.total > 0) parts.push(`refused ${run.refused.total}`);
  if (cfg.mode === 'sub') parts.push(`recv ${run.received.total} (${run.received.delta()}/s)`);
  if (run.failures.total > 0) parts.push(`failed ${run.failures.total}`);
  io.err(`${parts.join('  ')}\n`);
}

interface Summary {
  mode: Mode;
  clients: number;
  connected: number;
  failed: number;
  seconds: number;
  connectsPerSecond: number;
  connectLatencyMs: { p50: number; p99: number; max: number };
  sent: number;
  acked: number;
  refused: number;
  received: number;
  /** Messages (received; acknowledged for QoS > 0; sent for QoS 0) over the run's real duration. */
  messagesPerSecond: number;
  /** The same over the time messages moved (first to last). */
  activeMessagesPerSecond: number;
  latencyMs: { p50: number; p99: number; max: number };
}

/**
 * Rates: connects per second over the time until the last client connected; messages per second
 * over the run's real duration, and (active) over the time messages moved, first to last send,
 * acknowledgement or arrival.
 */
function summarize(run: Run, seconds: number): Summary {
  const connectSeconds = (run.lastConnectAt - run.started) / 1000;
  const messageSeconds = (run.lastMessageAt - run.firstMessageAt) / 1000;
  const [c50, c99] = run.connectLatency.percentiles([50, 99]);
  const [l50, l99] = run.latency.percentiles([50, 99]);
  const messages = run.cfg.mode === 'sub' ? run.received.total : run.cfg.qos > 0 ? run.acked.total : run.sent.total;
  return {
    mode: run.cfg.mode,
    clients: run.cfg.clients,
    connected: run.connects.total,
    failed: run.failures.total,
    seconds: Number(seconds.toFixed(3)),
    connectsPerSecond: connectSeconds > 0 ? Math.round(run.connects.total / connectSeconds) : 0,
    connectLatencyMs: { p50: c50!, p99: c99!, max: run.connectLatency.max },
    sent: run.sent.total,
    acked: run.acked.total,
    refused: run.refused.total,
    received: run.received.total,
    messagesPerSecond: seconds > 0 ? Math.round(messages / seconds) : messages,
    activeMessagesPerSecond: messageSeconds > 0 ? Math.round(messages / messageSeconds) : messages,
    latencyMs: { p50: l50!, p99: l99!, max: run.latency.max },
  };
}

function printSummary(s: Summary, io: ToolIo): void {
  const lines = [
    `${s.mode}: ${s.clients} clients, ${s.seconds.toFixed(1)} s`,
    `  connected ${s.connected}${s.failed > 0 ? `, failed ${s.failed}` : ''}: ${s.connectsPerSecond} connects/s, CONNACK latency p50 ${fmtMs(s.connectLatencyMs.p50)} ms, p99 ${fmtMs(s.connectLatencyMs.p99)} ms, max ${fmtMs(s.connectLatencyMs.max)} ms`,
  ];
  const rate = `${s.messagesPerSecond} msg/s (${s.activeMessagesPerSecond} msg/s while messages moved)`;
  if (s.mode === 'pub') lines.push(`  sent ${s.sent}${s.acked > 0 ? `, acknowledged ${s.acked}` : ''}${s.refused > 0 ? `, refused ${s.refused}` : ''}: ${rate}`);
  if (s.mode === 'sub') {
    lines.push(`  received ${s.received}: ${rate}`);
    lines.push(`  latency p50 ${fmtMs(s.latencyMs.p50)} ms, p99 ${fmtMs(s.latencyMs.p99)} ms, max ${fmtMs(s.latencyMs.max)} ms`);
  }
  io.out(`${lines.join('\n')}\n`);
}

export async function runBench(argv: string[], io: ToolIo = processIo): Promise<number> {
  return runTool('cicada bench', io, async () => {
    const cfg = config(argv);
    if (cfg === undefined || cfg === 'version') {
      io.out(cfg === undefined ? `${versionLine('cicada bench')}\n${BENCH_USAGE}` : versionLine('cicada bench'));
      return 0;
    }
    const run = new Run(cfg);
    const deadline = setTimeout(() => run.stop(), cfg.durationMs);
    const ticker = cfg.quiet ? undefined : setInterval(() => progress(run, io), 1000);
    const onSignal = (): void => run.stop();
    process.once('SIGINT', onSignal);
    const connecting = connectAll(run).then(() => {
      // pub with a limit: stop once every client has sent (and, QoS > 0, had acknowledged) its share.
      if (cfg.mode === 'pub' && cfg.limit !== Infinity) void waitLimit(run);
    });
    await Promise.race([run.done, connecting.then(() => (run.connects.total === 0 ? run.stop() : run.done))]);
    const seconds = run.elapsed();
    clearTimeout(deadline);
    if (ticker !== undefined) clearInterval(ticker);
    process.off('SIGINT', onSignal);
    for (const conn of run.connections) conn.end();
    const summary = summarize(run, seconds);
    if (cfg.json) io.out(`${JSON.stringify(summary)}\n`);
    else printSummary(summary, io);
    if (run.connects.total === 0) {
      io.err(`Error: no client could connect${run.lastError !== undefined ? `: ${run.lastError}` : ''}\n`);
      return 1;
    }
    if (run.subscribeRefused !== undefined) {
      io.err(`Error: ${run.subscribeRefused}\n`);
      return 1;
    }
    return 0;
  });
}

async function waitLimit(run: Run): Promise<void> {
  const { cfg } = run;
  const target = cfg.limit * run.connects.total;
  while (!run.stopping) {
    if ((cfg.qos > 0 ? run.acked.total + run.refused.total : run.sent.total) >= target) {
      run.stop();
      return;
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

