/**
 * A network fuzzer for a live broker: many short connections send random bytes and packets
 * mutated from a corpus of valid ones (built with src/protocol's encoder, MQTT 3.1.1 and 5.0),
 * in random chunkings, while a well-behaved MQTT.js client publishes to itself and must get each
 * message back in time. Bounded by a packet count and a duration; seeded, so a failure can be
 * replayed with the same seed. Used by test/security/fuzz.test.ts (short) and scripts/fuzz.mjs
 * (long).
 */
import net from 'node:net';
import mqtt from 'mqtt';
import { encode, type Packet, type ProtocolVersion } from '../../src/protocol/index.js';
import { prng } from '../helpers/seed.js';

export interface FuzzOptions {
  port: number;
  durationMs: number;
  maxPackets: number;
  seed: number;
  /** Fuzzing connections open at once. */
  concurrency: number;
  /** How long the probe waits for its own message, in ms. */
  probeTimeoutMs: number;
}

export interface FuzzReport {
  seed: number;
  packetsSent: number;
  bytesSent: number;
  connections: number;
  probeRounds: number;
  probeFailures: string[];
  elapsedMs: number;
}


/** Valid packets of both families: the corpus the mutations start from. */
export function corpus(): Array<{ version: ProtocolVersion; bytes: Buffer }> {
  const payload = Buffer.from('payload');
  const props = { messageExpiryInterval: 60, userProperties: [['k', 'v']] as Array<[string, string]>, contentType: 'text/plain', topicAlias: 1 };
  const packets: Array<[Packet, ProtocolVersion[]]> = [
    [{ type: 'connect', protocolName: 'MQTT', protocolVersion: 4, clean: true, keepalive: 30, clientId: 'fz', username: 'u', password: Buffer.from('p'), will: { topic: 'w/t', payload, qos: 1, retain: false } }, [4]],
    [{ type: 'connect', protocolName: 'MQTT', protocolVersion: 5, clean: true, keepalive: 30, clientId: 'fz5', properties: { sessionExpiryInterval: 10, receiveMaximum: 5, topicAliasMaximum: 4 } }, [5]],
    [{ type: 'publish', topic: 'fuzz/a', payload, qos: 0, retain: false, dup: false }, [4, 5]],
    [{ type: 'publish', topic: 'fuzz/b', payload, qos: 1, retain: true, dup: false, packetId: 3 }, [4, 5]],
    [{ type: 'publish', topic: 'fuzz/c', payload, qos: 2, retain: false, dup: false, packetId: 4, properties: props }, [5]],
    [{ type: 'pubrel', packetId: 4 }, [4, 5]],
    [{ type: 'puback', packetId: 9 }, [4, 5]],
    [{ type: 'subscribe', packetId: 5, subscriptions: [{ topicFilter: 'fuzz/#', qos: 2 }, { topicFilter: '+/x/+', qos: 1 }] }, [4]],
    [{ type: 'subscribe', packetId: 6, subscriptions: [{ topicFilter: '$share/g/fuzz/+', qos: 1, noLocal: false, retainHandling: 1 }], properties: { subscriptionIdentifiers: [7] } }, [5]],
    [{ type: 'unsubscribe', packetId: 8, topicFilters: ['fuzz/#'] }, [4, 5]],
    [{ type: 'pingreq' }, [4, 5]],
    [{ type: 'auth', reasonCode: 0x18, properties: { authenticationMethod: 'SCRAM-SHA-256', authenticationData: payload } }, [5]],
    [{ type: 'disconnect', reasonCode: 0x04, properties: { sessionExpiryInterval: 0 } }, [5]],
  ];
  return packets.flatMap(([packet, versions]) => versions.map((version) => ({ version, bytes: encode(packet, version) })));
}

/** One mutation of a valid packet (or pure noise). */
export function mutate(bytes: Buffer, rnd: () => number, others: Buffer[]): Buffer {
  const b = Buffer.from(bytes);
  const at = (): number => Math.floor(rnd() * b.length);
  switch (Math.floor(rnd() * 9)) {
    case 0: // flip bits
      for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) {
        const j = at();
        b[j] = (b[j] as number) ^ (1 << Math.floor(rnd() * 8));
      }
      return b;
    case 1: // random byte values
      for (let i = 0; i < 1 + Math.floor(rnd() * 4); i++) b[at()] = Math.floor(rnd() * 256);
      return b;
    case 2: // truncate
      return b.subarray(0, at());
    case 3: // insert noise
      return Buffer.concat([b.subarray(0, at()), randomBytes(rnd, 1 + Math.floor(rnd() * 16)), b.subarray(at())]);
    case 4: // lie about the remaining length
      if (b.length > 1) b[1] = Math.floor(rnd() * 256);
      return b;
    case 5: // huge remaining length
      return Buffer.concat([b.subarray(0, 1), Buffer.from([0xff, 0xff, 0xff, Math.floor(rnd() * 0x80)]), b.subarray(2)]);
    case 6: // splice with another packet
      return Buffer.concat([b.subarray(0, at()), (others[Math.floor(rnd() * others.length)] as Buffer).subarray(Math.floor(rnd() * 8))]);
    case 7: // pure noise
      return randomBytes(rnd, 1 + Math.floor(rnd() * 64));
    default: // unchanged: valid packets in odd orders matter too
      return b;
  }
}

function randomBytes(rnd: () => number, n: number): Buffer {
  const out = Buffer.alloc(n);
  for (let i = 0; i < n; i++) out[i] = Math.floor(rnd() * 256);
  return out;
}

/** The probe: a well-behaved client that must get its own QoS 1 message back each round. */
async function startProbe(port: number, timeoutMs: number, failures: string[]): Promise<{ round(): Promise<void>; end(): void }> {
  const clientId = `fuzz-probe-${process.pid}-${Date.now()}`;
  const client = mqtt.connect(`mqtt://127.0.0.1:${port}`, { clientId, reconnectPeriod: 0, connectTimeout: 3000, protocolVersion: 4 });
  await new Promise<void>((resolve, reject) => {
    client.once('connect', () => resolve());
    client.once('error', reject);
  });
  const topic = `probe/${clientId}`;
  await client.subscribeAsync(topic, { qos: 1 });
  let waiting: { nonce: string; resolve: () => void } | undefined;
  client.on('message', (_t, payload: Buffer) => {
    if (waiting !== undefined && payload.toString() === waiting.nonce) waiting.resolve();
  });
  client.on('close', () => failures.push(`probe connection closed at ${new Date().toISOString()}`));
  let n = 0;
  return {
    async round() {
      const nonce = `n${++n}`;
      const got = new Promise<boolean>((resolve) => {
        waiting = { nonce, resolve: () => resolve(true) };
        setTimeout(() => resolve(false), timeoutMs).unref();
      });
      client.publish(topic, nonce, { qos: 1 });
      if (!(await got)) failures.push(`probe message ${nonce} not back within ${timeoutMs} ms`);
    },
    end() {
      client.removeAllListeners('close');
      client.end(true);
    },
  };
}

/** One fuzzing connection: a CONNECT (valid or not), then a burst of mutated packets. */
function fuzzConnection(port: number, rnd: () => number, items: Array<{ version: ProtocolVersion; bytes: Buffer }>, budget: number): Promise<{ packets: number; bytes: number }> {
  return new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1');
    let packets = 0;
    let bytes = 0;
    const done = (): void => {
      socket.destroy();
      resolve({ packets, bytes });
    };
    socket.on('error', done);
    socket.on('close', done);
    socket.on('data', () => undefined);
    socket.once('connect', () => {
      const all = items.map((i) => i.bytes);
      const connects = items.filter((i) => i.bytes[0] === 0x10);
      const first = connects[Math.floor(rnd() * connects.length)] as { bytes: Buffer };
      const chunks: Buffer[] = [rnd() < 0.7 ? first.bytes : mutate(first.bytes, rnd, all)];
      const n = Math.min(budget, 1 + Math.floor(rnd() * 40));
      for (let i = 0; i < n; i++) chunks.push(mutate(all[Math.floor(rnd() * all.length)] as Buffer, rnd, all));
      packets = n + 1;
      const stream = Buffer.concat(chunks);
      bytes = stream.length;
      // Random chunking, so packets straddle reads in every way.
      let offset = 0;
      while (offset < stream.length) {
        const size = 1 + Math.floor(rnd() * 64);
        socket.write(stream.subarray(offset, offset + size));
        offset += size;
      }
      // Leave some connections open (half-sent packets), close the rest.
      setTimeout(done, rnd() < 0.2 ? 300 : 20).unref();
    });
  });
}

export async function fuzz(options: FuzzOptions): Promise<FuzzReport> {
  const rnd = prng(options.seed);
  const items = corpus();
  const failures: string[] = [];
  const probe = await startProbe(options.port, options.probeTimeoutMs, failures);
  const started = Date.now();
  const report: FuzzReport = { seed: options.seed, packetsSent: 0, bytesSent: 0, connections: 0, probeRounds: 0, probeFailures: failures, elapsedMs: 0 };
  let stop = false;
  const probing = (async () => {
    while (!stop) {
      await probe.round();
      report.probeRounds++;
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  const worker = async (): Promise<void> => {
    while (Date.now() - started < options.durationMs && report.packetsSent < options.maxPackets) {
      const sent = await fuzzConnection(options.port, rnd, items, options.maxPackets - report.packetsSent);
      report.connections++;
      report.packetsSent += sent.packets;
      report.bytesSent += sent.bytes;
    }
  };
  await Promise.all(Array.from({ length: options.concurrency }, worker));
  stop = true;
  await probing;
  await probe.round(); // and once more after the storm
  report.probeRounds++;
  probe.end();
  report.elapsedMs = Date.now() - started;
  return report;
}
