/**
 * The dry run (`cicada rules test`, and later the API): a rule and a sample message or event
 * in; whether FROM matches, the output rows, and what each action would be given (the message a
 * republish would publish, the request, statement, line or command a sink would write). Nothing
 * is published or written.
 */
import { topicMatches } from '../topics/index.js';
import type { RuleEvent, Value } from './ast.js';
import { eventColumns, messageColumns, type RuleMessage } from './columns.js';
import type { CompiledRule, CompiledRules } from './compile.js';
import { RuleEvalError } from './errors.js';
import { Row, runSql } from './evaluate.js';
import { republishMessage } from './republish.js';

export type DryRunInput = { message: RuleMessage } | { event: RuleEvent; columns: Record<string, Value> };

export interface DryRunResult {
  rule: string;
  /** Whether the message's topic or the event matched FROM. */
  matched: boolean;
  /** WHERE let it through (at least one output row). */
  passed: boolean;
  /** The evaluation error, when the rule would count `failed`. */
  error?: string;
  outputs: Array<Record<string, Value>>;
  /** Per output row, per action: what the action would be given. */
  actions: Array<{ action: string; input: unknown }>;
}

function matches(rule: CompiledRule, input: DryRunInput): boolean {
  return rule.sql.from.some((source) => ('message' in input ? source.kind === 'topic' && topicMatches(source.filter, input.message.topic) : source.kind === 'event' && source.event === input.event));
}

export function dryRun(compiled: CompiledRules, ruleName: string, input: DryRunInput): DryRunResult {
  const rule = compiled.rules.find((r) => r.name === ruleName);
  if (rule === undefined) throw new Error(`no rule named ${ruleName} (declared: ${compiled.rules.map((r) => r.name).join(', ') || 'none'})`);
  const result: DryRunResult = { rule: rule.name, matched: matches(rule, input), passed: false, outputs: [], actions: [] };
  if (!result.matched) return result;
  const row = 'message' in input ? new Row(messageColumns(input.message), input.message.payload) : new Row(eventColumns(input.event, input.columns, Date.now()), undefined);
  try {
    result.outputs = runSql(rule.sql, row);
  } catch (error) {
    if (!(error instanceof RuleEvalError)) throw error;
    result.error = error.message;
    return result;
  }
  result.passed = result.outputs.length > 0;
  for (const output of result.outputs) {
    for (const action of rule.actions) {
      if (action.kind === 'republish') {
        const message = republishMessage(action.spec, output);
        result.actions.push({ action: action.label, input: { ...message, payload: message.payload.toString() } });
      } else {
        const sink = compiled.sinks.get(action.sink);
        result.actions.push({ action: action.label, input: sink?.type.preview(action.prepared, output, sink.config) });
      }
    }
  }
  return result;
}
