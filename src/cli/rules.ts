/**
 * `cicada rules test`: the dry run of a rule on a sample message or event, without a broker.
 * The rule comes from a configuration file (`-c FILE --rule NAME`) or the command line (`--sql`,
 * `--action`, `--sink`); the output rows and each action's would-be input are printed as JSON.
 */
import { parseArgs } from 'node:util';
import type { RulesDeclaration } from '../broker/options.js';
import { ConfigError, loadConfig } from '../config/config-file.js';
import { RULE_EVENTS, type RuleEvent } from '../rules/ast.js';
import { compileRules, RulesConfigError } from '../rules/compile.js';
import { dryRun, type DryRunInput } from '../rules/dry-run.js';
import { usageErrorText, versionLine } from './usage.js';

export const RULES_USAGE = `Usage: cicada rules test (-c FILE --rule NAME | --sql SQL [--action A]... [--sink S]...)
                        (--topic TOPIC [--payload P] [--clientid C] [--username U] [--qos N] [--retain]
                         | --event NAME [--column KEY=VALUE]...)

Run a rule on a sample message or event without a broker: prints whether FROM matched, the
output rows, and what each action would publish or write (docs/rules.md). Nothing is sent.

Options:
  -c, --config FILE   the broker's configuration (its sink and rule lines)
      --rule NAME     the rule to run (from the configuration)
      --sql SQL       a rule's SQL, instead of a configuration file
      --action TEXT   an action, as after \`action\` in the configuration (repeatable)
      --sink TEXT     a sink, as after \`sink\` (NAME TYPE URL [options]; repeatable)
      --topic TOPIC   the sample message's topic, with --payload (default empty), --clientid,
                      --username, --qos (default 0) and --retain
      --event NAME    a sample event instead ($events/NAME: ${RULE_EVENTS.join(', ')}),
                      with its columns as --column KEY=VALUE (VALUE read as JSON when it parses)
  -h, --help          print this help
      --version       print the version
`;

const FLAGS = {
  config: { type: 'string', short: 'c' },
  rule: { type: 'string' },
  sql: { type: 'string' },
  action: { type: 'string', multiple: true },
  sink: { type: 'string', multiple: true },
  topic: { type: 'string' },
  payload: { type: 'string' },
  clientid: { type: 'string' },
  username: { type: 'string' },
  qos: { type: 'string' },
  retain: { type: 'boolean' },
  event: { type: 'string' },
  column: { type: 'string', multiple: true },
  help: { type: 'boolean', short: 'h' },
  version: { type: 'boolean' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof FLAGS }>>['values'];

class UsageError extends Error {}

/** Returns the exit code: 0 ran, 2 bad usage, 3 a bad rule or configuration (one line). */
export function runRules(argv: string[]): number {
  const [sub, ...rest] = argv;
  if (sub === '--help' || sub === '-h' || sub === undefined) {
    process.stdout.write(RULES_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === '--version') {
    process.stdout.write(versionLine('cicada rules'));
    return 0;
  }
  try {
    if (sub !== 'test') throw new UsageError(`unknown subcommand '${sub}' (test)`);
    let values: Values;
    try {
      values = parseArgs({ args: rest, options: FLAGS, allowPositionals: false }).values;
    } catch (error) {
      throw new UsageError((error as Error).message.replace(/\. To specify a positional argument.*$/s, '.'));
    }
    if (values.help === true) {
      process.stdout.write(RULES_USAGE);
      return 0;
    }
    const { declared, rule } = declaration(values);
    const result = dryRun(compileRules(declared), rule, sample(values));
    process.stdout.write(`${JSON.stringify(result, (_k, v: unknown) => (v === undefined ? null : v), 2)}\n`);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(usageErrorText('cicada rules test', error.message));
      return 2;
    }
    if (error instanceof ConfigError || error instanceof RulesConfigError) {
      process.stderr.write(`cicada rules: ${error.message}\n`);
      return 3;
    }
    throw error;
  }
}

function declaration(values: Values): { declared: RulesDeclaration; rule: string } {
  if (values.config !== undefined) {
    if (values.sql !== undefined) throw new UsageError('give either -c FILE --rule NAME or --sql, not both');
    if (values.rule === undefined) throw new UsageError('--rule NAME is missing');
    const declared = loadConfig(values.config).options.rules ?? { sinks: [], rules: [] };
    return { declared, rule: values.rule };
  }
  if (values.sql === undefined) throw new UsageError('give -c FILE --rule NAME, or --sql SQL');
  const sinks = (values.sink ?? []).map((text, i) => {
    const match = /^(\S+)\s+(\S+)\s*(.*)$/s.exec(text.trim());
    if (match === null) throw new UsageError(`--sink ${JSON.stringify(text)}: expects NAME TYPE URL [options]`);
    return { name: match[1] as string, type: match[2] as string, text: match[3] as string, at: `--sink ${i + 1}`, column: text.length - (match[3] as string).length + 1 };
  });
  // Without an action, a republish of the output shows what the rule produces.
  const actions = (values.action ?? ['republish rules/test']).map((text, i) => ({ text, at: `--action ${i + 1}`, column: 1 }));
  return { declared: { sinks, rules: [{ name: values.rule ?? 'test', sql: { text: values.sql, at: '--sql', column: 1 }, actions, at: '--sql' }] }, rule: values.rule ?? 'test' };
}

function sample(values: Values): DryRunInput {
  if (values.event !== undefined) {
    if (values.topic !== undefined) throw new UsageError('give either --topic or --event');
    if (!(RULE_EVENTS as readonly string[]).includes(values.event.replace(/^\$events\//, ''))) throw new UsageError(`unknown event ${values.event} (${RULE_EVENTS.join(', ')})`);
    const columns: Record<string, never> = {};
    for (const pair of values.column ?? []) {
      const eq = pair.indexOf('=');
      if (eq < 1) throw new UsageError(`--column ${pair}: expects KEY=VALUE`);
      const text = pair.slice(eq + 1);
      let value: unknown = text;
      try {
        value = JSON.parse(text);
      } catch {
        // not JSON: the text itself
      }
      columns[pair.slice(0, eq)] = value as never;
    }
    return { event: values.event.replace(/^\$events\//, '') as RuleEvent, columns };
  }
  if (values.topic === undefined) throw new UsageError('give a sample: --topic TOPIC [--payload P] or --event NAME');
  const qos = Number(values.qos ?? '0');
  if (![0, 1, 2].includes(qos) || !/^\d$/.test(values.qos ?? '0')) throw new UsageError('--qos is 0, 1 or 2');
  return {
    message: {
      topic: values.topic,
      payload: Buffer.from(values.payload ?? ''),
      qos,
      retain: values.retain === true,
      clientid: values.clientid,
      username: values.username,
      timestamp: Date.now(),
    },
  };
}
