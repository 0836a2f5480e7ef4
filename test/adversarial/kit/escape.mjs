// A program run in a worker thread or a Node child process by the "processes" attempts: it makes
// one call to the untrusted URL it is given and reports what happened (an error shape or the
// response), by postMessage (worker), process.send (fork) or stdout (spawn/exec).
import http from 'node:http';
import { parentPort, workerData } from 'node:worker_threads';
import { call, shapeOf, text } from './child-lib.mjs';

const input = workerData ?? JSON.parse(process.argv[2] ?? '{}');
let out;
try {
  const value = input.client === 'http' ? await call(http, input.url) : await text(fetch(input.url));
  out = { ok: true, value };
} catch (error) {
  out = { ok: false, error: shapeOf(error) };
}
if (parentPort) parentPort.postMessage(out);
else if (process.send) process.send(out, () => process.disconnect?.());
else process.stdout.write(`@escape ${JSON.stringify(out)}\n`);
