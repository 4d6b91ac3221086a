/**
 * Opens the byte stream under an MQTT connection: TCP, TLS, WebSocket or secure WebSocket
 * (subprotocol `mqtt`, binary frames, via the `ws` package). Resolves once the stream is open.
 */
import net from 'node:net';
import type tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { ConnectOptions, Endpoint } from './options.js';
import { ConnectionClosedError } from './errors.js';

/** node:tls and `ws` are loaded with the first connection that needs them (start-up time of `cicada pub`). */
export async function openTransport(endpoint: Endpoint, options: ConnectOptions): Promise<Duplex> {
  switch (endpoint.scheme) {
    case 'mqtt':
      if (options.unixPath !== undefined) return opened(net.connect({ path: options.unixPath }), 'connect', { ...endpoint, scheme: 'unix', host: options.unixPath });
      return opened(net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true, ...local(options) }), 'connect', endpoint);
    case 'mqtts':
      return opened((await import('node:tls')).connect({ host: endpoint.host, port: endpoint.port, ...local(options), ...tlsOptions(endpoint, options) }), 'secureConnect', endpoint);
    case 'ws':
    case 'wss':
      return openWebSocket(endpoint, options);
  }
}

function local(options: ConnectOptions): { localAddress?: string } {
  return options.localAddress !== undefined ? { localAddress: options.localAddress } : {};
}

function tlsOptions(endpoint: Endpoint, options: ConnectOptions): tls.ConnectionOptions {
  const out: tls.ConnectionOptions = { rejectUnauthorized: options.rejectUnauthorized ?? true };
  if (options.minVersion !== undefined) out.minVersion = options.minVersion;
  if (options.maxVersion !== undefined) out.maxVersion = options.maxVersion;
  if (options.ca !== undefined) out.ca = options.ca;
  if (options.cert !== undefined) out.cert = options.cert;
  if (options.key !== undefined) out.key = options.key;
  const servername = options.servername ?? (net.isIP(endpoint.host) === 0 ? endpoint.host : undefined);
  if (servername !== undefined) out.servername = servername;
  return out;
}

function where(endpoint: Endpoint | { scheme: 'unix'; host: string }): string {
  return endpoint.scheme === 'unix' ? `unix:${endpoint.host}` : `${endpoint.scheme}://${endpoint.host}:${endpoint.port}`;
}

function opened(socket: net.Socket, event: 'connect' | 'secureConnect', endpoint: Endpoint | { scheme: 'unix'; host: string }): Promise<Duplex> {
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      socket.destroy();
      reject(new ConnectionClosedError(`cannot connect to ${where(endpoint)}: ${error.message}`, { cause: error }));
    };
    socket.once('error', onError);
    socket.once(event, () => {
      socket.off('error', onError);
      if (event === 'connect') socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

async function openWebSocket(endpoint: Endpoint, options: ConnectOptions): Promise<Duplex> {
  const { WebSocket, createWebSocketStream } = await import('ws');
  const host = endpoint.host.includes(':') ? `[${endpoint.host}]` : endpoint.host;
  const url = `${endpoint.scheme}://${host}:${endpoint.port}${endpoint.path}`;
  const ws = new WebSocket(url, 'mqtt', {
    ...(endpoint.scheme === 'wss' ? tlsOptions(endpoint, options) : {}),
    ...(options.wsHeaders !== undefined ? { headers: options.wsHeaders } : {}),
    perMessageDeflate: false,
  });
  return new Promise((resolve, reject) => {
    const onError = (error: Error): void => {
      ws.terminate();
      reject(new ConnectionClosedError(`cannot connect to ${url}: ${error.message}`, { cause: error }));
    };
    ws.once('error', onError);
    ws.once('open', () => {
      ws.off('error', onError);
      resolve(createWebSocketStream(ws));
    });
  });
}
