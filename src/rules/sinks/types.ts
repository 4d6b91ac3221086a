/**
 * What each sink type declares (sync, no client library imported): its options, how it checks
 * its URL and compiles an action's template at load, what the dry run shows, and `open`, which
 * imports the client library lazily (the broker's start-up never pays for pg, ioredis, kafkajs
 * or undici unless a sink of that type is declared, and then only at its first write).
 */
import type { Value } from '../ast.js';
import type { SinkDriver } from '../sink.js';
import type { Word } from '../words.js';

export interface SinkConfig {
  name: string;
  url: string;
  /** The type's own options (`key=value` words), by key. */
  options: Map<string, Word>;
}

export interface SinkType<P = unknown> {
  readonly options: readonly string[];
  /** Check URL and options at load; throw RuleSyntaxError at the word's column. */
  check(config: SinkConfig, urlWord: Word): void;
  /** Compile an action's template (the words after the sink's name), or the default. */
  prepare(template: Word | undefined, config: SinkConfig): P;
  /** What the action would write for one output row (the dry run's answer). */
  preview(prepared: P, output: Record<string, Value>, config: SinkConfig): Value;
  open(config: SinkConfig): Promise<SinkDriver>;
}
