/**
 * `cicada pub`: publish one message, a file, stdin, or stdin line by line, the mosquitto_pub way.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import type { Properties } from '../protocol/index.js';
import type { MqttClient, PublishResult } from '../client/index.js';
import { COMMON_FLAGS, COMMON_USAGE, CliUsageError, connectionTarget, has, parseFlags, qosValue, value, type FlagTable } from './mqtt-flags.js';
import { connectTool, processIo, runTool, type ToolIo } from './mqtt-tool.js';

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

export async function runPub(argv: string[], io: ToolIo = processIo, stdin: Readable = process.stdin): Promise<number> {
  return runTool(PUB_USAGE, io, async () => {
    const flags = parseFlags(argv, PUB_FLAGS);
    if (has(flags, 'help')) {
      io.out(PUB_USAGE);
      return 0;
    }
    const target = connectionTarget(flags, 'pub');
    const topic = value(flags, 'topic') ?? target.urlTopic;
    const sources = ['message', 'file', 'stdin-line', 'stdin-file', 'null-message'].filter((s) => has(flags, s));
    if (topic === undefined || sources.length === 0) throw new CliUsageError('Both topic and message must be supplied.');
    if (sources.length > 1) throw new CliUsageError('Only one type of message can be sent at once.');
    const repeat = Number(value(flags, 'repeat') ?? '1');
    const delay = Number(value(flags, 'repeat-delay') ?? '0');
    if (!Number.isInteger(repeat) || repeat < 1) throw new CliUsageError(`Invalid --repeat '${value(flags, 'repeat')}'.`);
    if (!Number.isFinite(delay) || delay < 0) throw new CliUsageError(`Invalid --repeat-delay '${value(flags, 'repeat-delay')}'.`);
    const source = sources[0]!;
    // Read files before connecting, so a missing file fails without a connection.
    const fixed = source === 'message' ? Buffer.from(value(flags, 'message')!) : source === 'file' ? readFileSync(value(flags, 'file')!) : source === 'null-message' ? Buffer.alloc(0) : undefined;
    const client = await connectTool(target, io);
    const options = { qos: qosValue(flags, 'qos'), retain: has(flags, 'retain'), ...(target.properties.publish ? { properties: target.properties.publish } : {}) };
    const pending: Array<Promise<PublishResult>> = [];
    let failed = 0;
    const publish = (payload: Buffer): void => {
      pending.push(
        client.publish(topic, payload, options).catch((error: Error) => {
          failed++;
          if (!target.quiet) io.err(`Warning: Publish failed: ${error.message}\n`);
          return { reasonCode: 0x80 };
        }),
      );
    };
    if (source === 'stdin-line') {
      for await (const line of createInterface({ input: stdin, crlfDelay: Infinity })) {
        publish(Buffer.from(line));
        if (pending.length >= 1000) await Promise.all(pending.splice(0));
      }
    } else {
      const payload = fixed ?? (await readAll(stdin));
      for (let i = 0; i < repeat; i++) {
        if (i > 0 && delay > 0) await new Promise((r) => setTimeout(r, delay * 1000));
        publish(payload);
      }
    }
    await Promise.all(pending);
    await end(client, target.properties.disconnect);
    return failed > 0 ? 1 : 0;
  });
}

async function end(client: MqttClient, properties: Properties | undefined): Promise<void> {
  await client.end(properties !== undefined ? { properties } : {});
}

async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks);
}
