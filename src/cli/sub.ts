/**
 * `cicada sub`: subscribe and print messages, the mosquitto_sub way (-v, -C, -W, -R, -N, -T, -U,
 * -F, --retained-only). Reconnects by itself once connected, as mosquitto_sub does.
 */
import { topicMatches } from '../topics/index.js';
import type { Message } from '../client/index.js';
import { COMMON_FLAGS, COMMON_USAGE, CliUsageError, connectionTarget, has, intValue, parseFlags, qosValue, value, values, type FlagTable } from './mqtt-flags.js';
import { connectTool, processIo, runTool, type ToolIo } from './mqtt-tool.js';
import { formatMessage } from './sub-format.js';

export const SUB_USAGE = `Usage: cicada sub {[-h host] [-p port] | -L URL} -t topic [-t topic ...] [options]

Subscribe to topics and print the messages received (flags as mosquitto_sub).

Output:
 -v print the topic too   -N no newline after each message   -F format (%t %p %q %r %l %I %j %J %x %U)
 --pretty (indent JSON)   -C count (exit after COUNT messages)   -W seconds (exit after, code 27)
 -R do not print retained (stale) messages   --retained-only (exit at the first live message)
 -T filter: do not print topics matching it   -U filter: unsubscribe from it (for -c sessions)
${COMMON_USAGE}`;

const SUB_FLAGS: FlagTable = {
  ...COMMON_FLAGS,
  verbose: { args: 0, aliases: ['-v', '--verbose'] },
  count: { args: 1, aliases: ['-C'] },
  timeout: { args: 1, aliases: ['-W'] },
  'no-stale': { args: 0, aliases: ['-R'] },
  'no-newline': { args: 0, aliases: ['-N'] },
  unsubscribe: { args: 1, aliases: ['-U', '--unsubscribe'] },
  'filter-out': { args: 1, aliases: ['-T', '--filter-out'] },
  format: { args: 1, aliases: ['-F'] },
  pretty: { args: 0, aliases: ['--pretty'] },
  'retained-only': { args: 0, aliases: ['--retained-only'] },
};

/** mosquitto_sub's exit code for -W. */
const TIMED_OUT = 27;

export async function runSub(argv: string[], io: ToolIo = processIo): Promise<number> {
  return runTool(SUB_USAGE, io, async () => {
    const flags = parseFlags(argv, SUB_FLAGS);
    if (has(flags, 'help')) {
      io.out(SUB_USAGE);
      return 0;
    }
    const target = connectionTarget(flags, 'sub');
    const topics = values(flags, 'topic');
    if (target.urlTopic !== undefined) topics.push(target.urlTopic);
    const unsubscribe = values(flags, 'unsubscribe');
    if (topics.length === 0 && unsubscribe.length === 0) throw new CliUsageError('You must specify a topic to subscribe to.');
    const count = intValue(flags, 'count', 1, Number.MAX_SAFE_INTEGER);
    const timeout = intValue(flags, 'timeout', 1, 3600 * 24 * 365);
    const filterOut = values(flags, 'filter-out');
    const format = { verbose: has(flags, 'verbose'), noNewline: has(flags, 'no-newline'), format: value(flags, 'format'), pretty: has(flags, 'pretty') };
    const noStale = has(flags, 'no-stale');
    const retainedOnly = has(flags, 'retained-only');
    const qos = qosValue(flags, 'qos');

    const client = await connectTool(target, io, true);
    let printed = 0;
    return new Promise<number>((resolve) => {
      let finished = false;
      const finish = (code: number): void => {
        if (finished) return;
        finished = true;
        process.off('SIGINT', onSignal);
        process.off('SIGTERM', onSignal);
        if (timer !== undefined) clearTimeout(timer);
        client.end({ force: true, ...(target.properties.disconnect ? { properties: target.properties.disconnect } : {}) }).then(() => resolve(code), () => resolve(code));
      };
      const onSignal = (): void => finish(0);
      process.on('SIGINT', onSignal);
      process.on('SIGTERM', onSignal);
      const timer = timeout !== undefined
        ? setTimeout(() => {
            if (!target.quiet) io.err('Timed out\n');
            finish(TIMED_OUT);
          }, timeout * 1000)
        : undefined;
      const onMessage = (m: Message): void => {
        if (finished) return;
        if (retainedOnly && !m.retain) return finish(0);
        if (noStale && m.retain) return;
        if (filterOut.some((f) => topicMatches(f, m.topic))) return;
        io.out(formatMessage(m, format));
        printed++;
        if (count !== undefined && printed >= count) finish(0);
      };
      client.on('message', onMessage);
      client.on('end', () => finish(1));
      const start = async (): Promise<void> => {
        if (topics.length > 0) {
          const granted = await client.subscribe(topics, { qos, ...(target.properties.subscribe ? { properties: target.properties.subscribe } : {}) });
          if (target.debug) io.out(`Subscribed: ${granted.map((g) => g.reasonCode).join(', ')}\n`);
          if (granted.every((g) => g.reasonCode >= 0x80)) {
            io.err('All subscription requests were denied.\n');
            return finish(1);
          }
          for (const g of granted) if (g.reasonCode >= 0x80 && !target.quiet) io.err(`Warning: subscription to ${g.topicFilter} denied (${g.reasonCode}).\n`);
        }
        if (unsubscribe.length > 0) await client.unsubscribe(unsubscribe);
        if (topics.length === 0) finish(0);
      };
      start().catch((error: Error) => {
        io.err(`Error: ${error.message}\n`);
        finish(1);
      });
    });
  });
}
