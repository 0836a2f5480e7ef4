// Loaded BEFORE the preload (`--import <this> --import provably/register`): keeps the originals a
// library loaded early would have captured — the functions provably may later patch, the
// undici modules' own dispatch paths and the global fetch — for the "preloaded" attempts.
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import tls from 'node:tls';
import * as undici8 from 'undici';
import * as undici7 from 'undici7';

globalThis.__advCaptured = {
  addRequest: http.Agent.prototype.addRequest,
  httpRequest: http.request,
  httpGet: http.get,
  httpsRequest: https.request,
  netConnect: net.connect,
  socketConnect: net.Socket.prototype.connect,
  tlsConnect: tls.connect,
  fetch: globalThis.fetch,
  undici8,
  undici7,
  undici8Agent: new undici8.Agent(),
  undici7Agent: new undici7.Agent(),
  httpAgent: new http.Agent({ keepAlive: true }),
};
