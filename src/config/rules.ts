/**
 * The rule engine's directives (docs/rules.md):
 *
 *   sink NAME TYPE URL [key=value ...]
 *   rule NAME
 *   sql SELECT ... | FOREACH ...        (once, after its rule line)
 *   action republish TOPIC [QOS] [key=value ...] | action SINK [TEMPLATE]   (one or more)
 *
 * The lines are collected into `BrokerOptions.rules`; once the whole file is read, everything
 * is compiled by src/rules, so a bad SQL statement, template or option stops the broker at
 * load with `file:line:column`.
 */
import type { RuleDeclaration, RulesDeclaration } from '../broker/options.js';
import type { BrokerOptions } from './schema.js';
import { compileRules, RulesConfigError } from '../rules/index.js';
import { ConfigError, type ConfigLine } from './directives.js';

/** What a directive's setter gets (directives.ts's context). */
interface Ctx {
  line: ConfigLine;
  state: { options: BrokerOptions };
  fail(msg: string): never;
}
type Fail = (msg: string) => never;

const NAME = /^[A-Za-z0-9_-]{1,64}$/;

function declarations(options: BrokerOptions): RulesDeclaration {
  return (options.rules ??= { sinks: [], rules: [] });
}

function where(line: ConfigLine): { at: string; column: number } {
  return { at: `${line.file}:${line.line}`, column: line.restColumn ?? 1 };
}

function name(text: string | undefined, what: string, fail: Fail): string {
  if (text === undefined || !NAME.test(text)) fail(`expects a ${what} name (letters, digits, _ and -, at most 64)`);
  return text;
}

export function declareSink(ctx: Ctx): void {
  const { line, state: { options } } = ctx;
  const fail: Fail = (msg) => ctx.fail(msg);
  const [sinkName, type] = line.args;
  name(sinkName, 'sink', fail);
  if (type === undefined) fail('expects NAME TYPE URL [options]');
  // The text after NAME TYPE, its column in the line kept for errors.
  const match = /^\S+\s+\S+\s*/.exec(line.rest) as RegExpExecArray;
  const text = line.rest.slice(match[0].length);
  declarations(options).sinks.push({ name: sinkName as string, type, text, at: `${line.file}:${line.line}`, column: (line.restColumn ?? 1) + match[0].length });
}

export function declareRule(ctx: Ctx): void {
  const { line, state: { options } } = ctx;
  const fail: Fail = (msg) => ctx.fail(msg);
  if (line.args.length !== 1) fail('expects one rule name (then sql and action lines)');
  const ruleName = name(line.args[0], 'rule', fail);
  declarations(options).rules.push({ name: ruleName, sql: { text: '' }, actions: [], at: `${line.file}:${line.line}` });
}

function currentRule(options: BrokerOptions, fail: Fail): RuleDeclaration {
  const rule = options.rules?.rules.at(-1);
  if (rule === undefined) fail('belongs to a rule: put it after a `rule NAME` line');
  return rule;
}

export function declareSql(ctx: Ctx): void {
  const { line, state: { options } } = ctx;
  const fail: Fail = (msg) => ctx.fail(msg);
  const rule = currentRule(options, fail);
  if (rule.sql.text !== '') fail(`rule ${rule.name} already has its sql (one statement per rule)`);
  if (line.rest === '') fail('expects a SELECT or FOREACH statement');
  rule.sql = { text: line.rest, ...where(line) };
}

export function declareAction(ctx: Ctx): void {
  const { line, state: { options } } = ctx;
  const fail: Fail = (msg) => ctx.fail(msg);
  const rule = currentRule(options, fail);
  if (line.rest === '') fail('expects republish TOPIC ... or the name of a sink');
  rule.actions.push({ text: line.rest, ...where(line) });
}

/** Compile what was declared: any error is a ConfigError at file:line:column. */
export function checkRules(options: BrokerOptions): void {
  const declared = options.rules;
  if (declared === undefined) return;
  for (const rule of declared.rules) if (rule.sql.text === '') throw new ConfigError(`${rule.at}: rule ${rule.name} has no sql line`);
  try {
    compileRules(declared);
  } catch (error) {
    if (error instanceof RulesConfigError) throw new ConfigError(error.message, { cause: error });
    throw error;
  }
}
