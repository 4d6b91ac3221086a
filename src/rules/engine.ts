/**
 * The rule engine: given messages and events (by the adapter in attach.ts, or a test), it finds
 * the rules whose FROM matches (topic filters in a SubscriptionIndex: one hash lookup plus a
 * cached trie walk, never a scan of the rules; events by name), runs their SQL and hands each
 * output row to each action. It knows nothing of the broker beyond RepublishTarget.
 *
 * Loops: a republish goes through the broker synchronously, so a message that a rule's
 * republish produces arrives here while that rule is on `chain`. A rule never runs on a message
 * it produced (directly or through other rules: counted `skippedLoop`), and a chain is at most
 * MAX_REPUBLISH_DEPTH rules long, so no set of rules can republish endlessly.
 *
 * Errors: a rule whose evaluation throws counts `failed` for that message; nothing thrown by a
 * rule or an action ever reaches the broker.
 */
import type { Logger } from '../broker/logger.js';
import { SubscriptionIndex } from '../topics/index.js';
import type { RuleEvent, Value } from './ast.js';
import { eventColumns, messageColumns, type RuleMessage } from './columns.js';
import type { CompiledRule, CompiledRules } from './compile.js';
import type { ActionCounters } from './counters.js';
import { RuleEvalError } from './errors.js';
import { Row, runSql } from './evaluate.js';
import { RepublishAction, type RepublishTarget } from './republish.js';
import type { BufferedSink } from './sink.js';

/** Longest chain of rules republishing into one another. */
export const MAX_REPUBLISH_DEPTH = 8;

interface Action {
  readonly counters: ActionCounters;
  run(output: Record<string, Value>): void;
}

interface Running {
  rule: CompiledRule;
  actions: Action[];
}

export class RuleEngine {
  private readonly byTopic = new SubscriptionIndex<string, Running>();
  private readonly byEvent = new Map<RuleEvent, Running[]>();
  private readonly running: Running[] = [];
  /** Rules whose actions are running now (republish re-enters `message`). */
  private readonly chain: Running[] = [];
  private loggedFailureAt = -Infinity;

  constructor(
    readonly compiled: CompiledRules,
    readonly sinks: Map<string, BufferedSink>,
    target: RepublishTarget,
    private readonly log: Logger,
  ) {
    for (const rule of compiled.rules) {
      const actions = rule.actions.map((spec, i): Action => {
        const counters = rule.actionCounters[i] as ActionCounters;
        if (spec.kind === 'republish') return new RepublishAction(spec.spec, target, log, `${rule.name}/${spec.label}`, counters);
        const sink = sinks.get(spec.sink) as BufferedSink;
        return { counters, run: (output) => sink.push({ prepared: spec.prepared, output, counters }) };
      });
      const entry = { rule, actions };
      this.running.push(entry);
      for (const source of rule.sql.from) {
        if (source.kind === 'topic') this.byTopic.add(source.filter, `${rule.name}\u0000${source.filter}`, entry);
        else {
          const list = this.byEvent.get(source.event) ?? [];
          if (!list.includes(entry)) list.push(entry);
          this.byEvent.set(source.event, list);
        }
      }
    }
  }

  /** Whether any rule reads this event (the adapter may skip building its columns). */
  wants(event: RuleEvent): boolean {
    return this.byEvent.has(event);
  }

  get hasTopicRules(): boolean {
    return this.byTopic.size > 0;
  }

  /** Whether a rule reads messages on this topic (cached: the adapter asks before building a message). */
  wantsTopic(topic: string): boolean {
    return this.byTopic.match(topic).length > 0;
  }

  message(m: RuleMessage): void {
    const matches = this.byTopic.match(m.topic);
    if (matches.length === 0) return;
    const columns = messageColumns(m);
    // One rule may list overlapping filters: run it once per message.
    for (let i = 0; i < matches.length; i++) {
      const entry = matches[i] as Running;
      if (matches.indexOf(entry) !== i) continue;
      this.run(entry, new Row(columns, m.payload));
    }
  }

  event(event: RuleEvent, data: Record<string, Value>): void {
    const list = this.byEvent.get(event);
    if (list === undefined) return;
    const columns = eventColumns(event, data, Date.now());
    for (const entry of list) this.run(entry, new Row(columns, undefined));
  }

  private run(entry: Running, row: Row): void {
    const counters = entry.rule.counters;
    if (this.chain.includes(entry) || this.chain.length >= MAX_REPUBLISH_DEPTH) {
      counters.skippedLoop++;
      return;
    }
    counters.matched++;
    let outputs: Array<Record<string, Value>>;
    try {
      outputs = runSql(entry.rule.sql, row);
    } catch (error) {
      counters.failed++;
      this.logFailure(entry.rule, error);
      return;
    }
    if (outputs.length === 0) return;
    counters.passed++;
    this.chain.push(entry);
    try {
      for (const output of outputs) for (const action of entry.actions) this.act(action, output);
    } finally {
      this.chain.pop();
    }
  }

  private act(action: Action, output: Record<string, Value>): void {
    try {
      action.run(output);
    } catch (error) {
      action.counters.failed++;
      this.log.warn({ error: error instanceof Error ? error.message : String(error) }, 'rule action failed');
    }
  }

  private logFailure(rule: CompiledRule, error: unknown): void {
    if (!(error instanceof RuleEvalError)) this.log.error({ rule: rule.name, error: String(error) }, 'rule evaluation failed unexpectedly');
    const now = Date.now();
    if (now - this.loggedFailureAt < 10_000) return;
    this.loggedFailureAt = now;
    this.log.warn({ rule: rule.name, error: error instanceof Error ? error.message : String(error), failed: rule.counters.failed }, 'rule failed on a message');
  }

  /** Stop the sinks (what they still buffer is reported as queued). */
  async close(): Promise<void> {
    await Promise.all([...this.sinks.values()].map((s) => s.close()));
  }
}
