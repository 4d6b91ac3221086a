/**
 * `cicada pub`: publish one message, a file, stdin, or stdin line by line, the mosquitto_pub way.
 * Every flag is checked (and files read) before connecting: a mistake never leaves a connection.
 */
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Properties, QoS } from '../protocol/index.js';
import { PublishError, type MqttClient, type PublishResult } from '../client/index.js';
import { CliUsageError, has, parseFlags, qosValue, value, type FlagTable, type Flags } from './flags.js';
import { COMMON_FLAGS, COMMON_USAGE, connectionTarget, type Target } from './mqtt-flags.js';
import { connackText, connectTool, helpOrVersion, processIo, runTool, type ToolIo } from './mqtt-tool.js';

export const PUB_USAGE = `Usage: cicada pub {[-h host] [-p port] | -L URL} -t topic {-m message | -f file | -l | -n | -s} [options]

Publish a message on a topic and exit (flags as mosquitto_pub).

Message:
 -m message   -f file (whole file)   -s (all of stdin)   -l (one message per stdin line)
 -n (zero-length message)   -r retain   --repeat N   --repeat-delay SECONDS
${COMMON_USAGE}`;

const PUB_FLAGS: FlagTable = {
  ...COMMON_FLAGS,
  message: { args: 1, aliases: ['-m', '--message'] },
  file: { args: 1, aliases: ['-f', '--file'] },
  'stdin-line': { args: 0, aliases: ['-l', '--stdin-line'] },
  'stdin-file': { args: 0, aliases: ['-s', '--stdin-file'] },
  'null-message': { args: 0, aliases: ['-n', '--null-message'] },
  retain: { args: 0, aliases: ['-r', '--retain'] },
  repeat: { args: 1, aliases: ['--repeat'] },
  'repeat-delay': { args: 1, aliases: ['--repeat-delay'] },
};

/** Everything a run needs, read from the flags before connecting. */
interface PubPlan {
  target: Target;
  topic: string;
  /** The payload, or where to read it from. */
  source: Buffer | 'stdin-line' | 'stdin-file';
  repeat: number;
  delaySeconds: number;
  options: { qos: QoS; retain: boolean; properties?: Properties };
}

async function plan(flags: Flags): Promise<PubPlan> {
  const target = await connectionTarget(flags, 'pub');
  const topic = value(flags, 'topic') ?? target.urlTopic;
  const sources = ['message', 'file', 'stdin-line', 'stdin-file', 'null-message'].filter((s) => has(flags, s));
  if (topic === undefined || sources.length === 0) throw new CliUsageError('Both topic and message must be supplied.');
  if (sources.length > 1) throw new CliUsageError('Only one type of message can be sent at once.');
  if (/[+#]/.test(topic)) throw new CliUsageError(`Invalid publish topic '${topic}', does it contain '+' or '#'?`);
  const repeat = Number(value(flags, 'repeat') ?? '1');
  const delaySeconds = Number(value(flags, 'repeat-delay') ?? '0');
  if (!Number.isInteger(repeat) || repeat < 1) throw new CliUsageError('--repeat argument must be >0.');
  if (!Number.isFinite(delaySeconds) || delaySeconds < 0) throw new CliUsageError(`Invalid --repeat-delay '${value(flags, 'repeat-delay')}'.`);
  const source = sources[0]!;
  const payload = source === 'message' ? Buffer.from(value(flags, 'message')!) : source === 'file' ? readPayloadFile(value(flags, 'file')!) : source === 'null-message' ? Buffer.alloc(0) : source;
  const properties = target.properties.publish;
  return { target, topic, source: payload as PubPlan['source'], repeat, delaySeconds, options: { qos: qosValue(flags, 'qos'), retain: has(flags, 'retain'), ...(properties ? { properties } : {}) } };
}

function readPayloadFile(path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (error) {
    throw new CliUsageError(`Unable to read file "${path}" (${(error as NodeJS.ErrnoException).code ?? 'error'}).`, { cause: error });
  }
}

export async function runPub(argv: string[], io: ToolIo = processIo, stdin: Readable = process.stdin): Promise<number> {
  return runTool('cicada pub', io, async () => {
    const flags = parseFlags(argv, PUB_FLAGS);
    const shown = helpOrVersion('cicada pub', PUB_USAGE, io, flags);
    if (shown !== undefined) return shown;
    const p = await plan(flags);
    const client = await connectTool(p.target, io);
    try {
      const failed = await publishAll(client, p, io, stdin);
      await end(client, p.target.properties.disconnect);
      return failed > 0 ? 1 : 0;
    } finally {
      await client.end({ force: true }); // nothing stays open after an error
    }
  });
}

/** Publishes what the plan says; returns how many publishes failed (each printed as a warning). */
async function publishAll(client: MqttClient, p: PubPlan, io: ToolIo, stdin: Readable): Promise<number> {
  const pending: Array<Promise<PublishResult>> = [];
  let failed = 0;
  let mid = 0;
  const publish = (payload: Buffer): void => {
    const n = ++mid;
    pending.push(
      client.publish(p.topic, payload, p.options).catch((error: Error) => {
        failed++;
        if (!p.target.quiet) io.err(`Warning: Publish ${n} failed: ${refusal(error)}.\n`);
        return { reasonCode: 0x80 };
      }),
    );
  };
  if (p.source === 'stdin-line') {
    const { createInterface } = await import('node:readline');
    for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
      publish(Buffer.from(line));
      if (pending.length >= 1000) await Promise.all(pending.splice(0));
    }
  } else {
    const payload = p.source === 'stdin-file' ? await readAll(stdin) : p.source;
    for (let i = 0; i < p.repeat; i++) {
      if (i > 0 && p.delaySeconds > 0) await new Promise((r) => setTimeout(r, p.delaySeconds * 1000));
      publish(payload);
    }
  }
  await Promise.all(pending);
  return failed;
}

/** Why a publish failed, as mosquitto_pub words it: `Not authorized` (5.0 reason code). */
function refusal(error: Error): string {
  return error instanceof PublishError && error.reasonCode !== undefined ? connackText(error.reasonCode, 5) : error.message;
}

async function end(client: MqttClient, properties: Properties | undefined): Promise<void> {
  await client.end(properties !== undefined ? { properties } : {});
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}
