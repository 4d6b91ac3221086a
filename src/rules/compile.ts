/**
 * Declarations (from the configuration file or the API) to runnable rules and sinks. Everything
 * that can be checked is checked here, once, at load: the SQL, every template, every sink's URL
 * and options, every action's sink. An error is a RulesConfigError naming where the
 * declaration was made (`file:line`) and the column in that line.
 */
import type { Logger } from '../broker/logger.js';
import type { RuleDeclaration, RulesDeclaration, SinkDeclaration } from '../broker/options.js';
import type { RuleSql } from './ast.js';
import { ruleCounters, actionCounters, type ActionCounters, type RuleCounters } from './counters.js';
import { RuleSyntaxError } from './errors.js';
import { parseRuleSql } from './parser.js';
import { parseRepublish, type RepublishSpec } from './republish.js';
import { BufferedSink, DEFAULT_SINK_SETTINGS, type SinkSettings } from './sink.js';
import { SINK_TYPES } from './sinks/index.js';
import type { SinkConfig, SinkType } from './sinks/types.js';
import { keyValues, splitWords, type Word } from './words.js';

export class RulesConfigError extends Error {
  override readonly name = 'RulesConfigError';
}

export type ActionSpec = { kind: 'republish'; spec: RepublishSpec; label: string } | { kind: 'sink'; sink: string; prepared: unknown; label: string };

export interface CompiledRule {
  name: string;
  sqlText: string;
  sql: RuleSql;
  actions: ActionSpec[];
  counters: RuleCounters;
  actionCounters: ActionCounters[];
}

export interface CompiledSink {
  name: string;
  typeName: string;
  type: SinkType;
  config: SinkConfig;
  settings: SinkSettings;
}

export interface CompiledRules {
  rules: CompiledRule[];
  sinks: Map<string, CompiledSink>;
}

const COMMON_SINK_OPTIONS = ['buffer_size', 'batch_size', 'max_backoff'];

/** Run `compile`, turning a RuleSyntaxError into a RulesConfigError at `where`. */
function at<T>(where: { at?: string; column?: number }, what: string, compile: () => T): T {
  try {
    return compile();
  } catch (error) {
    if (!(error instanceof RuleSyntaxError)) throw error;
    const column = (where.column ?? 1) + error.column - 1;
    throw new RulesConfigError(`${where.at ?? 'rules'}:${column}: ${what}: ${error.reason}`, { cause: error });
  }
}

export function compileRules(declaration: RulesDeclaration): CompiledRules {
  const sinks = new Map<string, CompiledSink>();
  for (const decl of declaration.sinks) {
    if (sinks.has(decl.name)) throw new RulesConfigError(`${decl.at ?? 'rules'}: sink ${decl.name} declared twice`);
    sinks.set(decl.name, at(decl, `sink ${decl.name}`, () => compileSink(decl)));
  }
  const names = new Set<string>();
  const rules = declaration.rules.map((decl) => {
    if (names.has(decl.name)) throw new RulesConfigError(`${decl.at ?? 'rules'}: rule ${decl.name} declared twice`);
    names.add(decl.name);
    return compileRule(decl, sinks);
  });
  return { rules, sinks };
}

function compileSink(decl: SinkDeclaration): CompiledSink {
  const type = SINK_TYPES[decl.type];
  if (type === undefined) throw new RuleSyntaxError(`unknown sink type ${JSON.stringify(decl.type)} (known: ${Object.keys(SINK_TYPES).join(', ')})`, 1);
  const [urlWord, ...rest] = splitWords(decl.text);
  if (urlWord === undefined) throw new RuleSyntaxError('expects a URL after the type', decl.text.length + 1);
  const options = keyValues(rest, [...COMMON_SINK_OPTIONS, ...type.options]);
  const settings = { ...DEFAULT_SINK_SETTINGS };
  const number = (key: string, min: number, max: number): number | undefined => {
    const word = options.get(key);
    if (word === undefined) return undefined;
    options.delete(key);
    const n = Number(word.text);
    if (!/^\d+$/.test(word.text) || n < min || n > max) throw new RuleSyntaxError(`${key} is a whole number from ${min} to ${max}`, word.column);
    return n;
  };
  settings.bufferSize = number('buffer_size', 1, 10_000_000) ?? settings.bufferSize;
  settings.batchSize = number('batch_size', 1, 10_000) ?? settings.batchSize;
  settings.maxBackoffMs = number('max_backoff', 100, 3_600_000) ?? settings.maxBackoffMs;
  const config: SinkConfig = { name: decl.name, url: urlWord.text, options };
  type.check(config, urlWord);
  return { name: decl.name, typeName: decl.type, type, config, settings };
}

function compileRule(decl: RuleDeclaration, sinks: Map<string, CompiledSink>): CompiledRule {
  const sql = at(decl.sql, `rule ${decl.name}: sql`, () => parseRuleSql(decl.sql.text));
  if (decl.actions.length === 0) throw new RulesConfigError(`${decl.at ?? 'rules'}: rule ${decl.name} has no action`);
  const actions = decl.actions.map((action, i) => at(action, `rule ${decl.name}: action`, () => compileAction(action.text, sinks, i + 1)));
  return { name: decl.name, sqlText: decl.sql.text, sql, actions, counters: ruleCounters(), actionCounters: actions.map(() => actionCounters()) };
}

function compileAction(text: string, sinks: Map<string, CompiledSink>, position: number): ActionSpec {
  const words = splitWords(text);
  const [first, ...rest] = words;
  if (first === undefined) throw new RuleSyntaxError('expects republish or the name of a sink', 1);
  if (first.text === 'republish') return { kind: 'republish', spec: parseRepublish(rest, first.column + first.text.length), label: `${position}:republish` };
  const sink = sinks.get(first.text);
  if (sink === undefined) {
    const known = [...sinks.keys()];
    throw new RuleSyntaxError(`unknown action ${JSON.stringify(first.text)}: republish, or a sink declared before the rule${known.length > 0 ? ` (${known.join(', ')})` : ''}`, first.column);
  }
  const template: Word | undefined = rest.length === 0 ? undefined : rest.length === 1 ? rest[0] : { text: text.slice((rest[0] as Word).column - 1), column: (rest[0] as Word).column };
  return { kind: 'sink', sink: sink.name, prepared: sink.type.prepare(template, sink.config), label: `${position}:${sink.name}` };
}

/** The running sinks of compiled declarations. */
export function openSinks(compiled: CompiledRules, log: Logger): Map<string, BufferedSink> {
  const out = new Map<string, BufferedSink>();
  for (const sink of compiled.sinks.values()) {
    out.set(sink.name, new BufferedSink(sink.name, sink.typeName, () => sink.type.open(sink.config), sink.settings, log));
  }
  return out;
}
