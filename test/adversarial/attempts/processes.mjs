// Workers and child processes started inside a scope: the call they make must be governed by the
// same scope (refused), and a non-Node executable making its own TCP connection must be refused.
import { exec, execFile, fork, spawn, spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { firstMessage, revive } from '../kit/child-lib.mjs';

const ESCAPE = fileURLToPath(new URL('../kit/escape.mjs', import.meta.url));
const LIB = new URL('../kit/child-lib.mjs', import.meta.url).href;

/** A reported { ok, value | error } → the value, or a thrown error carrying the reported cause. */
function unwrap(report) {
  if (report?.ok) return report.value;
  throw revive(report?.error ?? { message: `no report: ${JSON.stringify(report)}` });
}

/** Runs a process to its end; the report is the `@escape` line on stdout. */
function processReport(child, what) {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    child.stdout?.on('data', (d) => (out += d));
    child.stderr?.on('data', (d) => (err += d));
    child.on('error', reject);
    child.on('close', (code) => {
      const line = out.split('\n').find((l) => l.startsWith('@escape '));
      if (line) resolve(JSON.parse(line.slice('@escape '.length)));
      else reject(new Error(`${what} exited ${code} without a report: ${err.slice(0, 300)}`));
    });
  });
}

/** bash opening a TCP connection with /dev/tcp and writing to it; resolves with bash's exit. */
function bashTcp(start) {
  return new Promise((resolve, reject) => {
    const child = start();
    child.on('error', reject);
    child.on('close', (code) =>
      code === 0 ? resolve({ status: 0, body: 'bash connected' }) : reject(new Error(`bash exited ${code}`)),
    );
  });
}
const bashScript = (port) =>
  `exec 3<>/dev/tcp/127.0.0.1/${port}; printf 'GET /bash HTTP/1.0\\r\\n\\r\\n' >&3; cat <&3 >/dev/null`;

const attempts = [
  {
    id: 'worker-file-fetch',
    description: 'new Worker(file) started in scope; the worker fetch()es the untrusted URL',
    run: async (c) =>
      unwrap(await firstMessage(new Worker(ESCAPE, { workerData: { url: `${c.T.url}/w` } }), 'worker')),
  },
  {
    id: 'worker-file-http',
    description: 'new Worker(file) started in scope; the worker http.get()s the untrusted URL',
    run: async (c) =>
      unwrap(
        await firstMessage(
          new Worker(ESCAPE, { workerData: { url: `${c.T.url}/w`, client: 'http' } }),
          'worker',
        ),
      ),
  },
  {
    id: 'worker-eval-fetch',
    description: 'new Worker(code, { eval: true }) in scope: eval workers never got the preload',
    run: async (c) => {
      const code = `
        const { parentPort } = require('node:worker_threads');
        fetch(${JSON.stringify(`${c.T.url}/w`)}).then(
          async (r) => parentPort.postMessage({ ok: true, value: { status: r.status, body: await r.text() } }),
          (e) => parentPort.postMessage({ ok: false, error: { name: e.name, message: e.message, code: e.code ?? null,
            cause: e.cause ? { name: e.cause.name, message: e.cause.message, code: e.cause.code ?? null } : undefined } }));`;
      return unwrap(await firstMessage(new Worker(code, { eval: true }), 'eval worker'));
    },
  },
  {
    id: 'worker-eval-esm-http',
    description: 'an ESM eval worker (data: URL import) using node:http',
    run: async (c) => {
      const code = `
        import { parentPort } from 'node:worker_threads';
        import http from 'node:http';
        const { call, shapeOf } = await import(${JSON.stringify(LIB)});
        call(http, ${JSON.stringify(`${c.T.url}/w`)}).then(
          (value) => parentPort.postMessage({ ok: true, value }),
          (e) => parentPort.postMessage({ ok: false, error: shapeOf(e) }));`;
      return unwrap(
        await firstMessage(new Worker(new URL(`data:text/javascript,${encodeURIComponent(code)}`)), 'worker'),
      );
    },
  },
  {
    id: 'worker-execargv-empty',
    description: 'new Worker(file, { execArgv: [] }) — tries to drop the preload',
    run: async (c) =>
      unwrap(
        await firstMessage(
          new Worker(ESCAPE, { execArgv: [], workerData: { url: `${c.T.url}/w` } }),
          'worker',
        ),
      ),
  },
  {
    id: 'worker-env-share-stripped',
    description: 'new Worker(file, { env: {} }) with an empty environment',
    run: async (c) =>
      unwrap(
        await firstMessage(new Worker(ESCAPE, { env: {}, workerData: { url: `${c.T.url}/w` } }), 'worker'),
      ),
  },
  {
    id: 'fork-node-child',
    description: 'child_process.fork(file) in scope; the child fetch()es the untrusted URL',
    run: async (c) =>
      unwrap(await firstMessage(fork(ESCAPE, [JSON.stringify({ url: `${c.T.url}/f` })]), 'fork')),
  },
  {
    id: 'fork-execargv-empty',
    description: 'fork(file, { execArgv: [] }) — no preload flag passed on',
    run: async (c) =>
      unwrap(
        await firstMessage(fork(ESCAPE, [JSON.stringify({ url: `${c.T.url}/f` })], { execArgv: [] }), 'fork'),
      ),
  },
  {
    id: 'spawn-node-clean-env',
    description: 'spawn(process.execPath, [file]) with env {} (no NODE_OPTIONS)',
    run: async (c) =>
      unwrap(
        await processReport(
          spawn(process.execPath, [ESCAPE, JSON.stringify({ url: `${c.T.url}/s` })], {
            env: {},
            stdio: 'pipe',
          }),
          'node',
        ),
      ),
  },
  {
    id: 'spawn-node-inherit-env',
    description: 'spawn(process.execPath, [file]) inheriting the environment',
    run: async (c) =>
      unwrap(
        await processReport(
          spawn(process.execPath, [ESCAPE, JSON.stringify({ url: `${c.T.url}/s` })], { stdio: 'pipe' }),
          'node',
        ),
      ),
  },
  {
    id: 'spawn-node-e',
    description: "spawn(node, ['-e', fetch(untrusted)])",
    run: async (c) => {
      const code = `fetch(${JSON.stringify(`${c.T.url}/e`)}).then(async r=>console.log('@escape '+JSON.stringify({ok:true,value:{status:r.status,body:await r.text()}})),e=>console.log('@escape '+JSON.stringify({ok:false,error:{name:e.name,message:e.message,code:e.code??null,cause:e.cause?{name:e.cause.name,message:e.cause.message,code:e.cause.code??null}:undefined}})))`;
      return unwrap(await processReport(spawn(process.execPath, ['-e', code], { stdio: 'pipe' }), 'node -e'));
    },
  },
  {
    id: 'exec-bash-dev-tcp',
    description: 'exec("bash -c \'exec 3<>/dev/tcp/127.0.0.1/PORT\'") — a non-Node executable connects',
    run: (c) => bashTcp(() => exec(`bash -c "${bashScript(c.T.http)}"`)),
  },
  {
    id: 'spawn-bash-dev-tcp',
    description: "spawn('bash', ['-c', '… /dev/tcp …'])",
    run: (c) => bashTcp(() => spawn('bash', ['-c', bashScript(c.T.http)], { stdio: 'ignore' })),
  },
  {
    id: 'execfile-bash-dev-tcp',
    description: "execFile('/bin/bash', ['-c', '… /dev/tcp …'])",
    run: (c) => bashTcp(() => execFile('/bin/bash', ['-c', bashScript(c.T.http)])),
  },
  {
    id: 'spawn-shell-true-dev-tcp',
    description: 'spawn(command, { shell: true }) running the /dev/tcp script',
    run: (c) => bashTcp(() => spawn(bashScript(c.T.http), { shell: '/bin/bash', stdio: 'ignore' })),
  },
  {
    id: 'spawnsync-bash-dev-tcp',
    description: 'spawnSync(bash, /dev/tcp) — synchronous',
    run: async (c) => {
      const r = spawnSync('bash', ['-c', bashScript(c.T.http)], { timeout: 3_000 });
      if (r.error) throw r.error;
      if (r.status !== 0) throw new Error(`bash exited ${r.status}`);
      return { status: 0, body: 'bash connected' };
    },
  },
  {
    id: 'spawn-curl',
    description: 'spawn curl to the untrusted URL',
    run: (c) =>
      bashTcp(() =>
        spawn('curl', ['-s', '-o', '/dev/null', '--max-time', '3', `${c.T.url}/curl`], { stdio: 'ignore' }),
      ),
  },
];

export default attempts.map((a) => ({ class: 'workers-children', needs: ['http'], ...a }));
