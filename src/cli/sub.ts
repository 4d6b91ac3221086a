/**
 * `cicada sub`: subscribe and print messages, the mosquitto_sub way (-v, -C, -W, -E, -R, -N, -T,
 * -U, -F, --retained-only, --remove-retained). Every flag (the -F format included) is checked
 * before connecting. Reconnects by itself once connected, as mosquitto_sub does.
 */
import { topicMatches } from '../topics/index.js';
import type { Message, MqttClient } from '../client/index.js';
import type { QoS } from '../protocol/index.js';
import { CliUsageError, has, intValue, parseFlags, qosValue, value, values, type FlagTable, type Flags } from './flags.js';
import { COMMON_FLAGS, COMMON_USAGE, connectionTarget, type Target } from './mqtt-flags.js';
import { connackText, connectTool, helpOrVersion, processIo, runTool, type ToolIo } from './mqtt-tool.js';
import { formatMessage, validateFormat, type FormatOptions } from './sub-format.js';

export const SUB_USAGE = `Usage: cicada sub {[-h host] [-p port] | -L URL} -t topic [-t topic ...] [options]

Subscribe to topics and print the messages received (flags as mosquitto_sub).

Output:
 -v print the topic too   -N no newline after each message   --pretty (indent JSON)
 -F format: %t topic %p payload %x/%X hex %q %r %l %m %I %U %j %J, 5.0 properties %A %C %D %E %F
    %P %R %S, width and alignment (%-10t %05l), @ date fields (@Y-@m-@d @H:@M:@S @N), \\n \\t
 -C count (exit after COUNT messages)   -W seconds (exit after, code 27)
 -E exit once every subscription is acknowledged
 -R do not print retained (stale) messages   --retained-only (exit at the first live message)
 --remove-retained: clear each retained message received (publish an empty retained one)
 -T filter: do not print topics matching it   -U filter: unsubscribe from it (for -c sessions)
${COMMON_USAGE}`;

const SUB_FLAGS: FlagTable = {
  ...COMMON_FLAGS,
  verbose: { args: 0, aliases: ['-v', '--verbose'] },
  count: { args: 1, aliases: ['-C'] },
  timeout: { args: 1, aliases: ['-W'] },
  'exit-after-sub': { args: 0, aliases: ['-E'] },
  'no-stale': { args: 0, aliases: ['-R'] },
  'no-newline': { args: 0, aliases: ['-N'] },
  unsubscribe: { args: 1, aliases: ['-U', '--unsubscribe'] },
  'filter-out': { args: 1, aliases: ['-T', '--filter-out'] },
  format: { args: 1, aliases: ['-F'] },
  pretty: { args: 0, aliases: ['--pretty'] },
  'retained-only': { args: 0, aliases: ['--retained-only'] },
  'remove-retained': { args: 0, aliases: ['--remove-retained'] },
};

/** mosquitto_sub's exit code for -W. */
const TIMED_OUT = 27;

/** Everything a run needs, read from the flags before connecting. */
interface SubPlan {
  target: Target;
  topics: string[];
  unsubscribe: string[];
  qos: QoS;
  count: number | undefined;
  timeout: number | undefined;
  exitAfterSubscribe: boolean;
  filterOut: string[];
  format: FormatOptions;
  noStale: boolean;
  retainedOnly: boolean;
  removeRetained: boolean;
}

async function plan(flags: Flags): Promise<SubPlan> {
  const target = await connectionTarget(flags, 'sub');
  const topics = values(flags, 'topic');
  if (target.urlTopic !== undefined) topics.push(target.urlTopic);
  const unsubscribe = values(flags, 'unsubscribe');
  if (topics.length === 0 && unsubscribe.length === 0) throw new CliUsageError('You must specify a topic to subscribe to.');
  const format = value(flags, 'format');
  const bad = format !== undefined ? validateFormat(format) : undefined;
  if (bad !== undefined) throw new CliUsageError(bad);
  return {
    target,
    topics,
    unsubscribe,
    qos: qosValue(flags, 'qos'),
    count: intValue(flags, 'count', 1, Number.MAX_SAFE_INTEGER),
    timeout: intValue(flags, 'timeout', 1, 3600 * 24 * 365),
    exitAfterSubscribe: has(flags, 'exit-after-sub'),
    filterOut: values(flags, 'filter-out'),
    format: { verbose: has(flags, 'verbose'), noNewline: has(flags, 'no-newline'), format, pretty: has(flags, 'pretty') },
    noStale: has(flags, 'no-stale'),
    retainedOnly: has(flags, 'retained-only'),
    removeRetained: has(flags, 'remove-retained'),
  };
}

export async function runSub(argv: string[], io: ToolIo = processIo): Promise<number> {
  return runTool('cicada sub', io, async () => {
    const flags = parseFlags(argv, SUB_FLAGS);
    const shown = helpOrVersion('cicada sub', SUB_USAGE, io, flags);
    if (shown !== undefined) return shown;
    const p = await plan(flags);
    const client = await connectTool(p.target, io, true);
    return receive(client, p, io);
  });
}

/** Subscribes, prints what arrives, and resolves with the exit code when the run is over. */
function receive(client: MqttClient, p: SubPlan, io: ToolIo): Promise<number> {
  const { target } = p;
  let printed = 0;
  return new Promise<number>((resolve) => {
    let finished = false;
    const clearing: Array<Promise<unknown>> = [];
    const finish = (code: number, force = false): void => {
      if (finished) return;
      finished = true;
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (timer !== undefined) clearTimeout(timer);
      const disconnect = target.properties.disconnect ? { properties: target.properties.disconnect } : {};
      // Retained messages being cleared (--remove-retained) are acknowledged before the end.
      void Promise.allSettled(clearing)
        .then(() => client.end({ force, timeout: 5000, ...disconnect }))
        .then(() => resolve(code), () => resolve(code));
    };
    const onSignal = (): void => finish(0, true);
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
    const timer = p.timeout !== undefined
      ? setTimeout(() => {
          if (!target.quiet) io.err('Timed out\n');
          finish(TIMED_OUT, true);
        }, p.timeout * 1000)
      : undefined;
    const onMessage = (m: Message): void => {
      if (finished) return;
      if (p.retainedOnly && !m.retain) return finish(0);
      if (p.noStale && m.retain) return;
      if (p.filterOut.some((f) => topicMatches(f, m.topic))) return;
      if (p.removeRetained && m.retain) clearing.push(client.publish(m.topic, Buffer.alloc(0), { qos: 1, retain: true }).catch(() => undefined));
      io.out(formatMessage(m, p.format));
      printed++;
      if (p.count !== undefined && printed >= p.count) finish(0);
    };
    client.on('message', onMessage);
    client.on('end', () => finish(1, true));
    subscribe(client, p, io).then(
      (code) => {
        if (code !== undefined) finish(code);
      },
      (error: Error) => {
        // Once the run is over (-C reached, -W, a signal), a pending SUBSCRIBE's failure is no error.
        if (finished) return;
        io.err(`Error: ${error.message}\n`);
        finish(1, true);
      },
    );
  });
}

/** SUBSCRIBE and UNSUBSCRIBE; an exit code when the run ends there (all refused, -E, only -U). */
async function subscribe(client: MqttClient, p: SubPlan, io: ToolIo): Promise<number | undefined> {
  const { target } = p;
  if (p.topics.length > 0) {
    const granted = await client.subscribe(p.topics, { qos: p.qos, ...(target.properties.subscribe ? { properties: target.properties.subscribe } : {}) });
    if (target.debug) io.out(`Subscribed: ${granted.map((g) => g.reasonCode).join(', ')}\n`);
    const version = target.options.protocolVersion ?? 4;
    if (granted.every((g) => g.reasonCode >= 0x80)) {
      const reasons = [...new Set(granted.map((g) => (version === 5 ? connackText(g.reasonCode, 5) : 'refused')))].join(', ');
      io.err(`All subscription requests were denied (${reasons}).\n`);
      return 1;
    }
    for (const g of granted) if (g.reasonCode >= 0x80 && !target.quiet) io.err(`Warning: subscription to ${g.topicFilter} denied (${g.reasonCode}).\n`);
  }
  if (p.unsubscribe.length > 0) await client.unsubscribe(p.unsubscribe);
  if (p.topics.length === 0 || p.exitAfterSubscribe) return 0;
  return undefined;
}
