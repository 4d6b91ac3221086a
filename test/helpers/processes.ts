/**
 * Child processes for interop tests (mosquitto_pub, mosquitto_sub, Debian's python3 with paho):
 * every process has a time limit and is killed when the test ends.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { waitFor, withTimeout } from './wait.js';

/** Debian's interpreter, which has python3-paho-mqtt (the pyenv python3 on PATH has not). */
export const SYSTEM_PYTHON = '/usr/bin/python3';

export interface ProcessResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A running child process whose output is collected. */
/**
 * How long a broker process may take to say it listens: its start includes the warm-up (bounded
 * by 2 s) and, after a short warm-up, an unhurried 600-message check of the raw TCP transport. On
 * a shared 2-core machine at load 20 that took more than 10 s; a broker that is ready sooner is
 * not waited for any longer.
 */
export const START_TIMEOUT_MS = 30_000;

export class Spawned {
  stdout = '';
  stderr = '';
  readonly done: Promise<ProcessResult>;

  constructor(readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.stdout += chunk.toString();
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
    this.done = new Promise((resolve) => {
      child.once('error', (error) => {
        this.stderr += String(error);
        resolve({ code: -1, signal: null, stdout: this.stdout, stderr: this.stderr });
      });
      child.once('close', (code, signal) => resolve({ code, signal, stdout: this.stdout, stderr: this.stderr }));
    });
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /**
   * Wait until stdout contains `text`. A process that does not say it in time is killed
   * (SIGKILL): a test that fails here must not leave it running (a broker left listening kept
   * its test file, and with it the whole test run, waiting forever).
   */
  async waitForOutput(text: string, timeoutMs: number): Promise<void> {
    try {
      await waitFor(() => this.stdout.includes(text) || !this.running, timeoutMs, `output ${JSON.stringify(text)}`);
    } catch {
      this.kill('SIGKILL');
    }
    if (!this.stdout.includes(text)) {
      const how = this.running || this.child.signalCode === 'SIGKILL' ? `not within ${timeoutMs} ms (killed)` : `the process exited (${this.child.exitCode ?? this.child.signalCode})`;
      throw new Error(`output ${JSON.stringify(text)}: ${how} (stdout: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)})`);
    }
  }

  /** Wait for the process to exit; kill it (SIGKILL) and fail if it takes longer than `timeoutMs`. */
  async exit(timeoutMs: number): Promise<ProcessResult> {
    try {
      return await withTimeout(this.done, timeoutMs, `${String(this.child.spawnfile)} exit (stdout: ${JSON.stringify(this.stdout)}, stderr: ${JSON.stringify(this.stderr)})`);
    } finally {
      this.kill('SIGKILL');
    }
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.running) this.child.kill(signal);
  }
}

/** `cwd`: the working directory (e.g. a temp directory, where `cicada broker` keeps ./data). */
export function spawnProcess(command: string, args: string[], options: { cwd?: string } = {}): Spawned {
  return new Spawned(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options }));
}

/** Run a command to completion within `timeoutMs`. */
export async function runProcess(command: string, args: string[], timeoutMs: number, options: { cwd?: string } = {}): Promise<ProcessResult> {
  return spawnProcess(command, args, options).exit(timeoutMs);
}
