/**
 * MQTT.js clients for interop tests, each with an inbox that records every message from the
 * moment the client is created (so messages sent right after CONNACK are never missed).
 */
import assert from 'node:assert/strict';
import mqtt, { type IClientOptions, type IPublishPacket, type MqttClient } from 'mqtt';
import { sleep, waitFor, withTimeout } from './wait.js';

export const MESSAGE_TIMEOUT_MS = 3000;

export interface Received {
  topic: string;
  payload: string;
  qos: number;
  retain: boolean;
  dup: boolean;
}

/** Every message a client received, in order; `next` hands them out once each. */
export class Inbox {
  readonly all: Received[] = [];
  private consumed = 0;

  constructor(private readonly client: MqttClient) {
    client.on('message', (topic: string, payload: Buffer, packet: IPublishPacket) => {
      this.all.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain, dup: packet.dup });
    });
  }

  /** The next `n` messages not yet handed out; fails after `timeoutMs`. */
  async next(n = 1, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<Received[]> {
    await waitFor(() => this.all.length - this.consumed >= n, timeoutMs, `awaiting ${n} message(s), have ${this.all.length - this.consumed}: ${JSON.stringify(this.all.slice(this.consumed))}`);
    const out = this.all.slice(this.consumed, this.consumed + n);
    this.consumed += n;
    return out;
  }

  /** Wait `ms`, then assert no message beyond those handed out arrived. */
  async expectNone(ms: number): Promise<void> {
    await sleep(ms);
    assert.deepEqual(this.all.slice(this.consumed), [], `expected no further message within ${ms} ms`);
  }

  /**
   * Assert that no message beyond those handed out arrives for what happened so far: a round
   * trip (roundTrip) on each client in `causes`, in order (the publishers whose messages must not
   * arrive, when the broker has not acknowledged them), then on this inbox's own client.
   */
  async expectNoMore(...causes: MqttClient[]): Promise<void> {
    for (const client of [...causes, this.client]) await roundTrip(client);
    assert.deepEqual(this.all.slice(this.consumed), [], 'expected no further message once the broker answered a PINGREQ');
  }

  /** The messages on `topic` received so far. */
  on(topic: string): Received[] {
    return this.all.filter((m) => m.topic === topic);
  }
}

/**
 * A round trip on `client`'s connection: a PINGREQ written to its socket, resolved when the
 * PINGRESP comes back. The broker handles one connection in order and routes a publication
 * before it answers the next packet, so by then it has handled everything the client sent
 * before, and sent the client everything that caused.
 */
export async function roundTrip(client: MqttClient, timeoutMs = MESSAGE_TIMEOUT_MS): Promise<void> {
  const stream = client.stream;
  assert.ok(client.connected && stream !== undefined, 'round trip on a client that is not connected');
  const answered = new Promise<void>((resolve) => {
    const onPacket = (packet: { cmd: string }): void => {
      if (packet.cmd !== 'pingresp') return;
      client.removeListener('packetreceive', onPacket);
      resolve();
    };
    client.on('packetreceive', onPacket);
  });
  stream.write(Buffer.from([0xc0, 0x00]));
  await withTimeout(answered, timeoutMs, `PINGRESP to ${client.options.clientId ?? 'a client'}`);
}

export type TestClient = MqttClient & {
  inbox: Inbox;
  /** Destroy the socket without DISCONNECT (an abrupt network failure, as seen by the broker). */
  kill(): void;
};

/**
 * Connect an MQTT.js client (no automatic reconnect) and resolve once CONNACK accepted it; reject
 * with MQTT.js's error (its `code` is the CONNACK return code) if the broker refuses it.
 */
export async function connectMqtt(url: string, options: IClientOptions = {}): Promise<TestClient> {
  const client = mqtt.connect(url, { reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4, ...options });
  const testClient = Object.assign(client, {
    inbox: new Inbox(client),
    kill(): void {
      client.stream?.destroy();
      client.end(true);
    },
  });
  try {
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        client.once('connect', () => resolve());
        client.once('error', reject);
        client.once('close', () => reject(new Error('connection closed before CONNACK')));
      }),
      4000,
      `MQTT.js connect ${options.clientId ?? ''}`,
    );
  } catch (error) {
    client.end(true);
    throw error;
  }
  return testClient;
}

/** End a client cleanly (DISCONNECT) with a bound on the wait. */
export async function endMqtt(client: MqttClient, force = false): Promise<void> {
  if (client.disconnected && !client.connected) {
    client.end(true);
    return;
  }
  await withTimeout(client.endAsync(force), 3000, 'MQTT.js end').catch(() => client.end(true));
}
