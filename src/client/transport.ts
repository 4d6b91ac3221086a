/**
 * Opens the byte stream under an MQTT connection: TCP, TLS, WebSocket or secure WebSocket
 * (subprotocol `mqtt`, binary frames, via the `ws` package). Resolves once the stream is open.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import { WebSocket, createWebSocketStream } from 'ws';
import type { ConnectOptions, Endpoint } from './options.js';
import { ConnectionClosedError } from './errors.js';

export function openTransport(endpoint: Endpoint, options: ConnectOptions): Promise<Duplex> {
  switch (endpoint.scheme) {
    case 'mqtt':
      return opened(net.connect({ host: endpoint.host, port: endpoint.port, noDelay: true }), 'connect', endpoint);
    case 'mqtts':
      return opened(tls.connect({ host: endpoint.host, port: endpoint.port, ...tlsOptions(endpoint, options) }), 'secureConnect', endpoint);
    case 'ws':
    case 'wss':
      return openWebSocket(endpoint, options);
  }
}

function tlsOptions(endpoint: Endpoint, options: ConnectOptions): tls.ConnectionOptions {
  const out: tls.ConnectionOptions = { rejectUnauthorized: options.rejectUnauthorized ?? true };
  if (options.ca !== undefined) out.ca = options.ca;
  if (options.cert !== undefined) out.cert = options.cert;
  if (options.key !== undefined) out.key = options.key;
  const servername = options.servername ?? (net.isIP(endpoint.host) === 0 ? endpoint.host : undefined);
  if (servername !== undefined) out.servername = servername;
  return out;
}

function where(endpoint: Endpoint): string {
  return `${endpoint.scheme}://${endpoint.host}:${endpoint.port}`;
}

function opened(socket: net.Socket, event: 'connect' | 'secureConnect', endpoint: Endpoint): Promise<Duplex> {
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

function openWebSocket(endpoint: Endpoint, options: ConnectOptions): Promise<Duplex> {
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
