/**
 * The `republish` action: publish each output row as a new message, through the broker like any
 * other (so subscribers, retained storage and other rules see it). Topic, payload and user
 * property values are templates; a rendered topic that is not a valid topic name (empty, with
 * a wildcard) fails the action for that row and is logged, at most once per interval.
 *
 *   action republish TOPIC [QOS] [qos=0|1|2] [retain=true|false] [payload=TEMPLATE] [user_property.NAME=TEMPLATE]
 */
import type { BrokerPublish } from '../broker/api.js';
import type { Logger } from '../broker/logger.js';
import type { QoS } from '../protocol/packets.js';
import { isValidTopicName } from '../protocol/validate.js';
import type { Value } from './ast.js';
import { actionCounters, type ActionCounters } from './counters.js';
import { RuleSyntaxError } from './errors.js';
import { encodeJson } from './json.js';
import { compileTemplate, render, type Template } from './template.js';
import { keyValues, type Word } from './words.js';

/** Where republished messages go: the broker. */
export interface RepublishTarget {
  publish(message: BrokerPublish): void;
}

export interface RepublishSpec {
  topic: Template;
  qos: QoS;
  retain: boolean;
  /** Undefined: the output row as JSON. */
  payload: Template | undefined;
  userProperties: Array<[string, Template]>;
}

/** Parse `TOPIC [QOS] [options]` (the words after `republish`). */
export function parseRepublish(words: Word[], at: number): RepublishSpec {
  const [topicWord, ...rest] = words;
  if (topicWord === undefined) throw new RuleSyntaxError('republish expects a topic', at);
  let qos: QoS = 0;
  if (rest[0] !== undefined && /^\d+$/.test(rest[0].text)) qos = parseQos(rest.shift() as Word);
  const options = keyValues(rest, ['qos', 'retain', 'payload', 'user_property.']);
  const qosWord = options.get('qos');
  if (qosWord !== undefined) qos = parseQos(qosWord);
  const retainWord = options.get('retain');
  if (retainWord !== undefined && retainWord.text !== 'true' && retainWord.text !== 'false') throw new RuleSyntaxError('retain is true or false', retainWord.column);
  const topic = templateAt(topicWord);
  if (!topic.parts.some((p) => typeof p !== 'string') && !isValidTopicName(topicWord.text)) throw new RuleSyntaxError(`invalid topic name ${JSON.stringify(topicWord.text)}`, topicWord.column);
  const payloadWord = options.get('payload');
  const userProperties: Array<[string, Template]> = [];
  for (const [key, word] of options) if (key.startsWith('user_property.')) userProperties.push([key.slice('user_property.'.length), templateAt(word)]);
  return { topic, qos, retain: retainWord?.text === 'true', payload: payloadWord === undefined ? undefined : templateAt(payloadWord), userProperties };
}

function parseQos(word: Word): QoS {
  if (word.text !== '0' && word.text !== '1' && word.text !== '2') throw new RuleSyntaxError('QoS is 0, 1 or 2', word.column);
  return Number(word.text) as QoS;
}

/** A template from a word, its errors placed at their column in the line. */
export function templateAt(word: Word): Template {
  try {
    return compileTemplate(word.text);
  } catch (error) {
    if (error instanceof RuleSyntaxError) throw new RuleSyntaxError(error.reason, word.column + error.column - 1);
    throw error;
  }
}

/** What a republish would publish for an output row (also the dry run's answer). */
export function republishMessage(spec: RepublishSpec, output: Record<string, Value>): BrokerPublish {
  const message: BrokerPublish = {
    topic: render(spec.topic, output),
    payload: spec.payload === undefined ? encodeJson(output) : render(spec.payload, output),
    qos: spec.qos,
    retain: spec.retain,
  };
  if (spec.userProperties.length > 0) message.properties = { userProperties: spec.userProperties.map(([k, t]) => [k, render(t, output)]) };
  return message;
}

/** Interval between two log lines about the same failing action. */
export const LOG_INTERVAL_MS = 10_000;

export class RepublishAction {
  private loggedAt = -Infinity;

  constructor(
    readonly spec: RepublishSpec,
    private readonly target: RepublishTarget,
    private readonly log: Logger,
    readonly label: string,
    readonly counters: ActionCounters = actionCounters(),
  ) {}

  run(output: Record<string, Value>): void {
    const message = republishMessage(this.spec, output);
    if (!isValidTopicName(message.topic)) {
      this.counters.failed++;
      this.logOnce({ topic: message.topic }, 'republish: the rendered topic is not a valid topic name');
      return;
    }
    this.target.publish(message);
    this.counters.success++;
  }

  private logOnce(details: object, msg: string): void {
    const now = Date.now();
    if (now - this.loggedAt < LOG_INTERVAL_MS) return;
    this.loggedAt = now;
    this.log.warn({ action: this.label, ...details, failed: this.counters.failed }, msg);
  }
}
