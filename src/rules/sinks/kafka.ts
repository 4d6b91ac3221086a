/**
 * The Kafka sink, with kafkajs: thin glue on the shared sink contract (buffer, retries, batching
 * and status are BufferedSink's, tested with the other sinks). No Kafka broker can be installed
 * on the machines this project is tested on, so the wire exchange here is untested: only the
 * declaration, templates and dry run are.
 *
 *   sink NAME kafka kafka://host:9092[,host2:9092] topic=TEMPLATE [key=TEMPLATE] [client_id=cicada]
 *   action NAME [VALUE-TEMPLATE]          (default value: the output row as JSON)
 */
import type { Value } from '../ast.js';
import { RuleSyntaxError } from '../errors.js';
import { encodeJson } from '../json.js';
import { templateAt } from '../republish.js';
import type { ItemOutcome, SinkDriver, SinkItem } from '../sink.js';
import { render, type Template } from '../template.js';
import type { SinkConfig, SinkType } from './types.js';

type Prepared = Template | undefined;

function message(prepared: Prepared, output: Record<string, Value>, config: SinkConfig): { topic: string; key: string | null; value: string } {
  const key = config.options.get('key');
  return {
    topic: render(templateAt(config.options.get('topic') as { text: string; column: number }), output),
    key: key === undefined ? null : render(templateAt(key), output),
    value: prepared === undefined ? encodeJson(output) : render(prepared, output),
  };
}

export const kafkaType: SinkType<Prepared> = {
  options: ['topic', 'key', 'client_id'],
  check(config, urlWord) {
    if (!/^kafka:\/\/[^/]+$/.test(config.url)) throw new RuleSyntaxError('a kafka URL is kafka://host:port[,host:port...]', urlWord.column);
    const topic = config.options.get('topic');
    if (topic === undefined) throw new RuleSyntaxError('a kafka sink needs topic=...', urlWord.column);
    templateAt(topic);
    const key = config.options.get('key');
    if (key !== undefined) templateAt(key);
  },
  prepare(template) {
    return template === undefined ? undefined : templateAt(template);
  },
  preview(prepared, output, config) {
    return message(prepared, output, config);
  },
  async open(config) {
    const { Kafka } = await import('kafkajs');
    const kafka = new Kafka({ clientId: config.options.get('client_id')?.text ?? 'cicada', brokers: config.url.slice('kafka://'.length).split(','), retry: { retries: 0 } });
    const producer = kafka.producer();
    await producer.connect();
    const driver: SinkDriver = {
      async write(batch: SinkItem[]): Promise<ItemOutcome[]> {
        const byTopic = new Map<string, Array<{ key: string | null; value: string }>>();
        for (const item of batch) {
          const m = message(item.prepared as Prepared, item.output, config);
          byTopic.set(m.topic, [...(byTopic.get(m.topic) ?? []), { key: m.key, value: m.value }]);
        }
        try {
          await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
          return batch.map(() => 'ok');
        } catch (error) {
          if ((error as { retriable?: boolean }).retriable === false) return batch.map(() => 'failed');
          throw error;
        }
      },
      close: () => producer.disconnect(),
    };
    return driver;
  },
};
