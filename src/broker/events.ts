/**
 * `broker.on(event, listener)` / `off` of the public API, implemented on the hook chain: each
 * listener is a registration at HookPriority.listeners (after every callback that may change or
 * stop a message), removed by `off`. Only `fatal` is not a hook point: it is the broker stopping,
 * told by the composition root.
 */
import type { BrokerEvents } from './api.js';
import { HookPriority, type HookChain } from './hooks.js';

export class BrokerEventListeners {
  /** Each listener's removal functions, one per `on` (the same listener may be added twice). */
  private readonly removers = new Map<keyof BrokerEvents, Map<object, Array<() => void>>>();
  private readonly fatalListeners: Array<(error: Error) => void> = [];

  constructor(private readonly chain: HookChain) {}

  on<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): void {
    const remove = this.register(event, listener as unknown as (...args: unknown[]) => void);
    let byListener = this.removers.get(event);
    if (byListener === undefined) this.removers.set(event, (byListener = new Map<object, Array<() => void>>()));
    const list = byListener.get(listener) ?? [];
    list.push(remove);
    byListener.set(listener, list);
  }

  /** Removes the most recent registration of `listener` for `event`, as EventEmitter.off. */
  off<E extends keyof BrokerEvents>(event: E, listener: (...args: BrokerEvents[E]) => void): void {
    const byListener = this.removers.get(event);
    const list = byListener?.get(listener);
    if (byListener === undefined || list === undefined) return;
    list.pop()?.();
    if (list.length === 0) byListener.delete(listener);
  }

  /** The broker stopped because it cannot go on safely. */
  fatal(error: Error): void {
    for (const listener of [...this.fatalListeners]) listener(error);
  }

  private register(event: keyof BrokerEvents, listener: (...args: unknown[]) => void): () => void {
    const chain = this.chain;
    const at = HookPriority.listeners;
    switch (event) {
      case 'clientConnected':
        return chain.add('client.connected', (client) => void listener(client), at);
      case 'clientDisconnected':
        return chain.add('client.disconnected', (client, reason) => void listener(client, reason), at);
      case 'subscribed':
        return chain.add('session.subscribed', (client, filter, qos) => void listener(client, filter, qos), at);
      case 'unsubscribed':
        return chain.add('session.unsubscribed', (client, filter) => void listener(client, filter), at);
      case 'message':
        return chain.add('message.routed', (m, client) => void listener(m.topic, m.payload, m.qos, m.retain, client), at);
      case 'fatal': {
        const fatal = listener as (error: Error) => void;
        this.fatalListeners.push(fatal);
        return () => {
          const at = this.fatalListeners.indexOf(fatal);
          if (at !== -1) this.fatalListeners.splice(at, 1);
        };
      }
      default:
        throw new TypeError(`unknown broker event ${JSON.stringify(event)}`);
    }
  }
}
