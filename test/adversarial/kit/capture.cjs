// The CommonJS twin of capture.mjs, loaded with `--require` BEFORE the preload's `--import`:
// what a CJS app's early-loaded dependency would have captured.
'use strict';
const http = require('node:http');
const https = require('node:https');
const net = require('node:net');
const tls = require('node:tls');
const undici8 = require('undici');
const undici7 = require('undici7');

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
