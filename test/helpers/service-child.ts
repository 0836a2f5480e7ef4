/**
 * A long-running provably service (`provably serve`, `provably gateway`: the BUILT CLI) in its
 * own process, as an operator runs it. Resolves once the service printed its "listening on
 * <url>" line; rejects with its stderr if it exits first or prints nothing within `timeoutMs`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { CLI, ROOT } from './cli.js';

export interface ServiceChild {
  url: string;
  proc: ChildProcess;
  stdout(): string;
  /** The service's log: one JSON object per line. */
  stderr(): string;
  /** Settles with the exit code once the process is gone. */
  readonly exited: Promise<number | null>;
  /** SIGTERM, then the exit code. */
  stop(): Promise<number | null>;
}

export async function startService(
  command: string,
  env: NodeJS.ProcessEnv,
  args: string[],
  timeoutMs: number,
): Promise<ServiceChild> {
  const proc = spawn(process.execPath, [CLI, command, '--port', '0', ...args], { env, cwd: ROOT });
  let stdout = '';
  let stderr = '';
  proc.stdout?.setEncoding('utf8').on('data', (d: string) => {
    stdout += d;
  });
  proc.stderr?.setEncoding('utf8').on('data', (d: string) => {
    stderr += d;
  });
  const exited = new Promise<number | null>((resolve) => proc.on('close', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => {
      clearInterval(poll);
      proc.kill('SIGKILL');
      reject(new Error(`provably ${command} printed no URL within ${timeoutMs / 1000} s: ${stderr}`));
    }, timeoutMs);
    const poll = setInterval(() => {
      const m = /listening on (http:\/\/\S+)/.exec(stdout);
      if (m || proc.exitCode !== null) {
        clearTimeout(timer);
        clearInterval(poll);
        if (m) resolve(m[1] as string);
        else reject(new Error(`provably ${command} exited (${proc.exitCode}): ${stderr}`));
      }
    }, 20);
  });
  return {
    url,
    proc,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      return exited;
    },
  };
}
