/**
 * JIT warm-up: before a broker takes its first client, run a few thousand messages through a
 * throwaway BrokerCore, over loopback TCP to a listener of its own on a free port, so that V8
 * has compiled the hot path (socket, parser, handlers, router, session, encoder, Connection's
 * flush) instead of doing it under the first clients' traffic. The same listener code as the
 * real one (raw TCP handle or net.Socket): the compiled code fits the objects real clients
 * bring (an in-memory stream instead made Connection's calls polymorphic, and they deoptimized
 * when real traffic came).
 *
 * Why: measured with the C load generator (10 QoS 1 pairs at 10,000 msg/s on a fresh broker),
 * the first ~2 s run at twice the CPU per message and p99 1.6-2.6 ms against 0.4-0.5 ms
 * afterwards: bytecode interpretation and compilation (V8's compiler thread then competes for
 * the second core with the clients). With this warm-up, a fresh broker's p99 over its first 5 s
 * at that load was 0.45-0.50 ms, Mosquitto's 0.40-0.50 ms, in the same run.
 * The throwaway core shares code, not state, with the real one: its own options (a copy, without
 * hooks or limits), stats, sessions and a silent logger, so no hook, store, log line or counter
 * of the real broker sees the warm-up.
 *
 * Its listener admits only the warm-up's own client sockets: a connection whose source
 * (127.0.0.1 and port) is not one of them is closed at accept, before any byte is read, so
 * another local process cannot subscribe there and slow the start down (no CONNECT hook, which
 * would change the shape of the options object the compiled code is for). The whole warm-up
 * is bounded by `budgetMs` (every wait in it ends by the deadline).
 */
import { setImmediate as nextTurn, setTimeout as sleep } from 'node:timers/promises';
import { encode, Parser, type Packet, type PacketHandler, type ProtocolVersion, type QoS, type Will } from '../protocol/index.js';
import { connect, type Socket } from 'node:net';
import type { BrokerCore } from '../broker/core.js';
import { ConnectionRate, startListener } from './listeners.js';

/** Where the warm-up's clients connect, and their local ports: the only peers its listener admits. */
class Target {
  readonly ports = new Set<number>();
  /** The listener's port, once it listens. */
  port = 0;

  constructor(readonly deadline: number) {}

  /** The peer is one of our clients: loopback, from the local port of one of our sockets. */
  readonly admits = (address: string | undefined, port: number | undefined): boolean =>
    address === '127.0.0.1' && port !== undefined && this.ports.has(port);
}

/** A client of the warm-up, over loopback TCP: what the broker sends is decoded and answered. */
class WarmUpClient implements PacketHandler {
  received = 0;
  /** QoS 1 and 2 publications sent and not yet acknowledged (kept under Receive Maximum). */
  inflight = 0;
  private outgoing: Buffer[] = [];
  private readonly parser: Parser;
  private readonly socket: Socket;
  /** Resolves when the connection is closed (by the broker after DISCONNECT, or dropped). */
  readonly closed: Promise<void>;
  /** Resolves on CONNACK. */
  readonly connected: Promise<void>;
  isConnected = false;
  private onConnack: () => void = () => undefined;

  constructor(
    target: Target,
    readonly version: ProtocolVersion,
    clientId: string,
    will?: Will,
  ) {
    this.parser = new Parser({ version });
    const socket = connect({ port: target.port, host: '127.0.0.1', noDelay: true });
    // net.connect issues connect(2) for an IP address on the next tick, before the event loop can
    // accept the connection: the local port is known (and cached by Node) from the tick after.
    // Read earlier, Node would cache port 0 for good.
    let localPort: number | undefined;
    const register = (): void => {
      localPort ??= socket.localPort;
      if (localPort !== undefined) target.ports.add(localPort);
    };
    process.nextTick(register);
    socket.once('connect', register);
    socket.on('data', (chunk: Buffer) => this.parser.push(chunk, this));
    socket.on('error', () => undefined); // a refused or reset warm-up connection shows as a shortfall
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        if (localPort !== undefined) target.ports.delete(localPort);
        resolve();
      }),
    );
    this.connected = new Promise((resolve) => (this.onConnack = resolve));
    this.socket = socket;
    const packet: Packet = { type: 'connect', protocolName: 'MQTT', protocolVersion: version, clean: true, keepalive: 0, clientId };
    if (will !== undefined) packet.will = will;
    this.send(packet);
  }

  send(packet: Packet): void {
    this.outgoing.push(encode(packet, this.version));
  }

  /** Write what this client queued since the last call. */
  deliver(): void {
    if (this.outgoing.length === 0 || this.socket.destroyed) return;
    this.socket.write(Buffer.concat(this.outgoing));
    this.outgoing = [];
  }

  /** Close without DISCONNECT (a lost client: its will is published). */
  drop(): void {
    this.socket.destroy();
  }

  onPacket(packet: Packet): void {
    switch (packet.type) {
      case 'connack':
        this.isConnected = true;
        this.onConnack();
        break;
      case 'publish':
        this.received++;
        if (packet.qos === 1) this.send({ type: 'puback', packetId: packet.packetId ?? 0 });
        else if (packet.qos === 2) this.send({ type: 'pubrec', packetId: packet.packetId ?? 0 });
        break;
      case 'puback':
      case 'pubcomp':
        this.inflight--;
        break;
      case 'pubrec':
        this.send({ type: 'pubrel', packetId: packet.packetId });
        break;
      case 'pubrel':
        this.send({ type: 'pubcomp', packetId: packet.packetId });
        break;
      default:
    }
  }
}

export interface WarmUpResult {
  /** Messages the subscribers should have received, and did. */
  expected: number;
  received: number;
  /** Connections from other processes, refused. */
  refused: number;
}

/**
 * Publish `messages` messages per protocol version (3.1.1 and 5.0; QoS 0, 1 and 2 in turn, in
 * batches, to a literal and a wildcard subscription) from one client to a subscriber, in
 * `rounds` rounds with a pause of `pauseMs` between them, within `budgetMs`. `core` is thrown
 * away afterwards. A shortfall means a broken hot path: the caller says so.
 *
 * Why rounds: V8 marks a hot function for optimization, but starts compiling it (on a background
 * thread) only at its next call, and installs the result at a call after that. With one burst,
 * those compilations ran under the first real clients' traffic (seen with --trace-opt), and the
 * compiler thread competed for the CPU with them. Each pause lets the jobs a round started
 * finish; the next round installs them and starts the next ones. Clients also come and go
 * after the first round (`churn`): the first disconnect deoptimized a dozen functions of the
 * message path (V8 "code dependencies": object shapes it had assumed stable), so it must not
 * wait for the first real client that leaves.
 */
export async function warmUp(core: BrokerCore, messages = 6000, rounds = 4, pauseMs = 40, budgetMs = 2000): Promise<WarmUpResult> {
  const deadline = Date.now() + budgetMs;
  // A listener of the throwaway core on a free loopback port: the real listener's code path,
  // admitting our own clients only.
  const target = new Target(deadline);
  const listener = await startListener(core, { port: 0, host: '127.0.0.1' }, 'warm-up', new ConnectionRate(0), true, target.admits);
  target.port = listener.port;
  try {
    const result = await exercise(target, messages, rounds, pauseMs);
    return { ...result, refused: core.stats.connectionsRefused };
  } finally {
    await bounded(listener.close(), deadline);
  }
}

async function exercise(target: Target, messages: number, rounds: number, pauseMs: number): Promise<Omit<WarmUpResult, 'refused'>> {
  const deadline = target.deadline;
  const pairs = ([4, 5] as const).map((version) => {
    const subscriber = new WarmUpClient(target, version, `warm-up-sub-${version}`);
    const publisher = new WarmUpClient(target, version, `warm-up-pub-${version}`);
    // A literal filter and a wildcard one: the router keeps them apart (hash map, trie).
    const subscriptions = [
      { topicFilter: `warm-up/${version}/literal`, qos: 2 as const },
      { topicFilter: `warm-up/${version}/+/x`, qos: 2 as const },
    ];
    subscriber.send({ type: 'subscribe', packetId: 1, subscriptions });
    return { subscriber, publisher, sent: 0 };
  });
  const clients = pairs.flatMap((p) => [p.subscriber, p.publisher]);
  for (const client of clients) client.deliver();
  await bounded(Promise.all(clients.map((c) => c.connected)), target.deadline);
  if (!clients.every((c) => c.isConnected)) {
    // No CONNACK within the bound: the path is broken, not slow; nothing went through.
    for (const client of clients) client.drop();
    return { expected: messages * pairs.length, received: 0 };
  }
  const payload = Buffer.alloc(64);
  let packetId = 0;
  for (let round = 1; round <= rounds; round++) {
    const goal = Math.round((messages * round) / rounds);
    while (Date.now() < deadline && pairs.some((p) => p.subscriber.received < goal)) {
      for (const pair of pairs) {
        const publisher = pair.publisher;
        // Up to 32 per turn, at most 16 unacknowledged (the default Receive Maximum is 20).
        for (let i = 0; i < 32 && pair.sent < goal; i++, pair.sent++) {
          const qos = (pair.sent % 3) as QoS;
          if (qos > 0 && publisher.inflight >= 16) break;
          if (qos > 0) publisher.inflight++;
          packetId = (packetId % 0xffff) + 1;
          const topic = pair.sent % 2 === 0 ? `warm-up/${publisher.version}/literal` : `warm-up/${publisher.version}/${pair.sent % 10}/x`;
          publisher.send({ type: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos > 0 ? { packetId } : {}) });
        }
      }
      for (const client of clients) client.deliver();
      await nextTurn();
    }
    if (round === 1) await churn(target);
    if (round < rounds) await bounded(sleep(pauseMs), deadline);
  }
  for (const client of clients) {
    client.send({ type: 'disconnect' });
    client.deliver();
  }
  await bounded(Promise.all(clients.map((c) => c.closed)), deadline);
  for (const client of clients) client.drop();
  return { expected: messages * pairs.length, received: pairs.reduce((sum, p) => sum + Math.min(p.subscriber.received, messages), 0) };
}

/** Clients that leave: one with DISCONNECT, one dropped (its will is published), one taken over. */
async function churn(target: Target): Promise<void> {
  const deadline = target.deadline;
  for (const version of [4, 5] as const) {
    if (Date.now() >= deadline) return;
    const will: Will = { topic: 'warm-up/will', payload: Buffer.alloc(8), qos: 1, retain: false };
    const first = new WarmUpClient(target, version, `warm-up-churn-${version}`);
    const dropped = new WarmUpClient(target, version, `warm-up-dropped-${version}`, will);
    first.send({ type: 'subscribe', packetId: 1, subscriptions: [{ topicFilter: 'warm-up/churn', qos: 1 }] });
    first.deliver();
    dropped.deliver();
    await bounded(Promise.all([first.connected, dropped.connected]), deadline);
    const taker = new WarmUpClient(target, version, `warm-up-churn-${version}`);
    taker.deliver(); // takes the session over: the broker closes the first connection
    await bounded(first.closed, deadline);
    taker.send({ type: 'disconnect' });
    taker.deliver();
    dropped.drop();
    await bounded(Promise.all([taker.closed, dropped.closed]), deadline);
    for (const client of [first, taker]) client.drop(); // closed already, unless the deadline came first
  }
}

/** Wait for `promise`, at most 1 s and never past `deadline` (every step of the warm-up is bounded). */
async function bounded(promise: Promise<unknown>, deadline: number): Promise<void> {
  const ms = Math.min(1000, deadline - Date.now());
  if (ms <= 0) return;
  await Promise.race([promise, sleep(ms)]);
}
