/**
 * A raw TCP MQTT client for byte-level conformance tests: write bytes, read whole packets off the
 * wire, and observe whether and when the broker closes the connection. Every read has a timeout.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { connack, connect, frameLength, hex, parsePacket, parsePublish, type ConnectOptions, type Packet, type ReceivedPublish } from './packets.js';
import { withTimeout } from './wait.js';

export const DEFAULT_TIMEOUT_MS = 2000;

export class RawClient {
  private buffer = Buffer.alloc(0);
  private closedFlag = false;
  private readonly closed: Promise<void>;
  private wake: (() => void) | undefined;

  constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    // A reset by the broker counts as a close; errors are not test failures by themselves.
    socket.on('error', () => undefined);
    this.closed = new Promise((resolve) => {
      socket.once('close', () => {
        this.closedFlag = true;
        this.notify();
        resolve();
      });
    });
  }

  get isClosed(): boolean {
    return this.closedFlag;
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }

  /** Resolves on new bytes, on close, or after `ms`, whichever comes first. */
  private changed(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, ms);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
  }

  /** Write bytes (a Buffer, or a hex string with optional spaces). Ignored once closed. */
  send(data: Buffer | string): void {
    if (this.closedFlag || this.socket.destroyed) return;
    this.socket.write(typeof data === 'string' ? hex(data) : data);
  }

  /** The next `n` bytes from the broker. */
  async readBytes(n: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Buffer> {
    return this.take(() => (this.buffer.length >= n ? n : undefined), `${n} bytes`, timeoutMs);
  }

  /** The next whole packet from the broker. */
  async readPacket(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<Packet> {
    return parsePacket(await this.take(() => frameLength(this.buffer), 'a packet', timeoutMs));
  }

  /** The next packet, which must be a PUBLISH. */
  async readPublish(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<ReceivedPublish> {
    return parsePublish(await this.readPacket(timeoutMs));
  }

  /** Assert that the next packet is exactly these bytes. */
  async expect(bytes: Buffer | string, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    const want = typeof bytes === 'string' ? hex(bytes) : bytes;
    const got = await this.readPacket(timeoutMs);
    assert.equal(got.raw.toString('hex'), want.toString('hex'));
  }

  private async take(ready: () => number | undefined, what: string, timeoutMs: number): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    while (true) {
      const n = ready();
      if (n !== undefined) {
        const out = this.buffer.subarray(0, n);
        this.buffer = this.buffer.subarray(n);
        return out;
      }
      const have = this.buffer.toString('hex') || 'nothing';
      if (this.closedFlag) throw new Error(`connection closed while waiting for ${what} (have ${have})`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (have ${have})`);
      await this.changed(left);
    }
  }

  /** True if the broker closes the connection within `timeoutMs` (without reading what it sent first). */
  async closesWithin(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<boolean> {
    try {
      await withTimeout(this.closed, timeoutMs, 'close');
      return true;
    } catch {
      return false;
    }
  }

  /** Assert that the broker closes the connection within `timeoutMs`. */
  async expectClose(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    assert.ok(await this.closesWithin(timeoutMs), `expected the broker to close the connection within ${timeoutMs} ms`);
  }

  /** Assert that nothing arrives (and the connection stays open) for `ms`. */
  async expectSilence(ms: number): Promise<void> {
    const closed = await this.closesWithin(ms);
    assert.equal(this.buffer.toString('hex'), '', `expected nothing from the broker for ${ms} ms`);
    assert.equal(closed, false, `expected the connection to stay open for ${ms} ms`);
  }

  /**
   * Assert that the broker has nothing more to send for what it was given so far: it answers a
   * PINGREQ, and nothing came before the PINGRESP (one connection is handled in order, so a
   * reply or delivery caused by an earlier packet, or by a publication the broker acknowledged
   * earlier, would have come first). The connection stays open. No time stands for "it has
   * happened" here; use expectSilence only where time passing is the behaviour under test.
   */
  async expectNothingPending(timeoutMs = DEFAULT_TIMEOUT_MS): Promise<void> {
    this.send('c000');
    const bytes = await this.readBytes(2, timeoutMs);
    assert.equal(bytes.toString('hex'), 'd000', `expected nothing from the broker before its PINGRESP, got ${bytes.toString('hex')}${this.buffer.toString('hex')}`);
  }

  /** Assert that no further bytes arrive for `ms` (the connection may close). */
  async expectNothing(ms: number): Promise<void> {
    await this.closesWithin(ms);
    assert.equal(this.buffer.toString('hex'), '', `expected no packet from the broker for ${ms} ms`);
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Open a TCP connection to the broker (no MQTT yet). */
export async function rawClient(port: number, timeoutMs = DEFAULT_TIMEOUT_MS): Promise<RawClient> {
  const socket = net.connect(port, '127.0.0.1');
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    }),
    timeoutMs,
    `TCP connect to ${port}`,
  );
  return new RawClient(socket);
}

/** Open a connection, send CONNECT and expect CONNACK accepted (with the given session present). */
export async function rawConnect(port: number, options: ConnectOptions = {}, sessionPresent = false): Promise<RawClient> {
  const client = await rawClient(port);
  client.send(connect(options));
  await client.expect(connack(0, sessionPresent));
  return client;
}
