/**
 * Starts the broker under test: Cicada (default) or, with CICADA_TEST_BROKER=mosquitto, Debian's
 * Mosquitto with an equivalent configuration, so that every black-box test can first be
 * validated against a mature implementation. Each test starts its own broker on a free port.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { Broker, BrokerOptions } from '../../src/index.js';
import type { Logger } from '../../src/broker/logger.js';
import { sleep, waitFor, withTimeout } from './wait.js';

export type BrokerKind = 'cicada' | 'mosquitto';

/** Which broker this run tests, from CICADA_TEST_BROKER. */
export const brokerKind: BrokerKind = process.env.CICADA_TEST_BROKER === 'mosquitto' ? 'mosquitto' : 'cicada';

/** Test option for Cicada-only behaviour: skipped (with the reason) only when testing Mosquitto. */
export function cicadaOnly(reason: string): { skip: string | false } {
  return { skip: brokerKind === 'mosquitto' ? `Cicada only: ${reason}` : false };
}

/** Test option where Mosquitto 2.0 legitimately (or knowingly) differs: skipped only for Mosquitto. */
export function mosquittoDiffers(reason: string): { skip: string | false } {
  return { skip: brokerKind === 'mosquitto' ? `Mosquitto differs: ${reason}` : false };
}

export interface TestBroker {
  port: number;
  url: string;
  kind: BrokerKind;
  /** The embedded Cicada broker (stats, events, publish); undefined for Mosquitto. */
  broker: Broker | undefined;
  /** What the broker logged: Mosquitto's log output, or one line per Cicada log call. */
  logs(): string;
  close(): Promise<void>;
}

/**
 * Wait until the broker has handled the end of `clientId`'s connection (DISCONNECT or a closed
 * socket), as its log says: Cicada's `client disconnected`, Mosquitto's "Client X closed its
 * connection." / "Client X disconnected." / "Socket error on client X".
 */
export async function clientGone(broker: TestBroker, clientId: string, ms = 3000): Promise<void> {
  const id = clientId.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const line = new RegExp(`client disconnected \\{.*"clientId":"${id}"|Client ${id} (closed its connection|disconnected)|Socket error on client ${id},`);
  await waitFor(() => line.test(broker.logs()), ms, `the broker handled the end of ${clientId}'s connection`);
}

export async function startBroker(options: BrokerOptions = {}): Promise<TestBroker> {
  return brokerKind === 'mosquitto' ? startMosquitto(options) : startCicada(options);
}

/** A Logger that keeps `level msg {fields}` lines (bounded) for logs(). */
function capturingLogger(lines: string[], bindings: Record<string, unknown> = {}): Logger {
  const at =
    (level: string) =>
    (objOrMsg: object | string, msg?: string): void => {
      if (lines.length >= 10_000) return;
      const fields = typeof objOrMsg === 'string' ? bindings : { ...bindings, ...objOrMsg };
      const text = typeof objOrMsg === 'string' ? objOrMsg : (msg ?? '');
      lines.push(`${level} ${text} ${JSON.stringify(fields, (_k, v: unknown) => (typeof v === 'bigint' ? String(v) : v))}`);
    };
  return {
    trace: at('trace'),
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (more) => capturingLogger(lines, { ...bindings, ...more }),
  };
}

async function startCicada(options: BrokerOptions): Promise<TestBroker> {
  const { createBroker } = await import('../../src/index.js');
  const lines: string[] = [];
  const broker = createBroker({ host: '127.0.0.1', port: 0, logLevel: 'silent', sysInterval: 0, ...options }, capturingLogger(lines));
  await withTimeout(broker.listen(), 5000, 'cicada listen');
  const port = broker.port;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    kind: 'cicada',
    broker,
    logs: () => lines.join('\n'),
    close: () => withTimeout(broker.close(), 5000, 'cicada close'),
  };
}

/** BrokerOptions that have a Mosquitto equivalent, as mosquitto.conf lines. */
function mosquittoConfig(port: number, options: BrokerOptions): string {
  const hooks = ['authenticate', 'authorizePublish', 'authorizeSubscribe', 'authorizeRead'] as const;
  for (const hook of hooks) {
    if (options[hook] !== undefined) throw new Error(`startBroker: hook ${hook} has no Mosquitto equivalent (mark the test cicadaOnly)`);
  }
  const lines = [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'persistence false',
    'set_tcp_nodelay true',
    'log_dest stderr', // unbuffered: logs() sees each line when it is written (stdout to a pipe is block-buffered)
    'log_type all',
    'log_timestamp false',
    `sys_interval ${options.sysInterval ?? 0}`,
  ];
  if (options.maxInflightMessages !== undefined) lines.push(`max_inflight_messages ${options.maxInflightMessages}`);
  if (options.maxQueuedMessages !== undefined) lines.push(`max_queued_messages ${options.maxQueuedMessages}`);
  if (options.maxPacketSize !== undefined) lines.push(`max_packet_size ${options.maxPacketSize}`);
  if (options.maxKeepalive !== undefined) lines.push(`max_keepalive ${options.maxKeepalive}`);
  if (options.allowZeroLengthClientId !== undefined) lines.push(`allow_zero_length_clientid ${options.allowZeroLengthClientId}`);
  if (options.retainAvailable !== undefined) lines.push(`retain_available ${options.retainAvailable}`);
  // connectTimeoutMs: Mosquitto's is fixed; tests of it are skipped for Mosquitto.
  return `${lines.join('\n')}\n`;
}

export async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** Whether 127.0.0.1:port accepts a TCP connection now. */
export async function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function startMosquitto(options: BrokerOptions): Promise<TestBroker> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'cicada-mosquitto-'));
  const port = await freePort();
  const conf = path.join(dir, 'mosquitto.conf');
  await writeFile(conf, mosquittoConfig(port, options));
  const child = spawn('mosquitto', ['-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  const keep = (chunk: Buffer): void => {
    if (output.length < 1_000_000) output += chunk.toString();
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  const close = async (): Promise<void> => {
    child.kill('SIGTERM');
    try {
      await withTimeout(exited(child), 3000, 'mosquitto exit');
    } catch {
      child.kill('SIGKILL');
      await exited(child);
    }
    await rm(dir, { recursive: true, force: true });
  };
  const deadline = Date.now() + 5000;
  while (!(await canConnect(port))) {
    if (child.exitCode !== null || Date.now() > deadline) {
      await close();
      throw new Error(`mosquitto did not start on port ${port}:\n${output}`);
    }
    await sleep(20);
  }
  return { port, url: `mqtt://127.0.0.1:${port}`, kind: 'mosquitto', broker: undefined, logs: () => output, close };
}
