/**
 * A real redis-server (Debian's) for the Redis storage tests: started on a free loopback port
 * in a temporary directory, with no snapshots and the append-only file on (`extra` adds
 * settings), ready once it answers PING; killed (any signal) and started again on the same port
 * with its data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/broker.js';
import { spawnProcess, type Spawned } from '../helpers/processes.js';
import { waitFor } from '../helpers/wait.js';

export const REDIS_SERVER = '/usr/bin/redis-server';

/** Whether a Redis on 127.0.0.1:port answers PING now (not merely accepts, or still loads its data). */
function pong(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (chunk: Buffer) => {
      reply += chunk.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
    socket.once('error', () => done(false));
  });
}

export class RedisServer {
  private process: Spawned | undefined;

  private constructor(
    readonly port: number,
    readonly dir: string,
    private readonly extra: string[],
  ) {}

  static async start(extra: string[] = []): Promise<RedisServer> {
    const server = new RedisServer(await freePort(), mkdtempSync(join(tmpdir(), 'cicada-redis-')), extra);
    await server.start();
    return server;
  }

  get url(): string {
    return `redis://127.0.0.1:${this.port}`;
  }

  async start(): Promise<void> {
    const args = ['--port', String(this.port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'yes', '--dir', this.dir, ...this.extra];
    const child = spawnProcess(REDIS_SERVER, args);
    this.process = child;
    await waitFor(async () => !child.running || (await pong(this.port)), 20_000, `redis-server on port ${this.port} answers PING`, 20);
    if (!child.running) throw new Error(`redis-server exited at start: ${child.stdout}${child.stderr}`);
  }

  /** Kill it with `signal` and wait until it has exited. */
  async kill(signal: NodeJS.Signals): Promise<void> {
    const child = this.process;
    this.process = undefined;
    if (child === undefined) return;
    child.kill(signal);
    await child.exit(20_000);
  }

  async close(): Promise<void> {
    await this.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  }
}
