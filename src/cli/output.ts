/**
 * CLI output conventions: results on stdout (human text, or JSON with --json), diagnostics on
 * stderr, colour only on a TTY and never when NO_COLOR is set (https://no-color.org).
 */
import { ProvablyError, ProvablyStoreError } from '../errors/index.js';

export interface Output {
  json: boolean;
  line(text?: string): void;
  data(value: unknown): void;
  warn(text: string): void;
  color: Colors;
}

export interface Colors {
  green(s: string): string;
  red(s: string): string;
  yellow(s: string): string;
  dim(s: string): string;
  bold(s: string): string;
}

export function colorEnabled(stream: { isTTY?: boolean }, env = process.env): boolean {
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return false;
  if (env.FORCE_COLOR !== undefined) return env.FORCE_COLOR !== '0';
  return stream.isTTY === true;
}

function colors(on: boolean): Colors {
  const wrap = (open: number, close: number) => (s: string) =>
    on ? `\u001b[${open}m${s}\u001b[${close}m` : s;
  return {
    green: wrap(32, 39),
    red: wrap(31, 39),
    yellow: wrap(33, 39),
    dim: wrap(2, 22),
    bold: wrap(1, 22),
  };
}

/** Where a command's text goes: the process's streams, or a caller's (runCli in a program). */
export interface CliStreams {
  stdout(text: string): void;
  stderr(text: string): void;
  /** stdout is a terminal: colour. */
  isTTY: boolean;
  /** stderr is a terminal: progress bars. */
  stderrIsTTY: boolean;
}

export const processStreams: CliStreams = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  get isTTY() {
    return process.stdout.isTTY === true;
  },
  get stderrIsTTY() {
    return process.stderr.isTTY === true;
  },
};

export function createOutput(json: boolean, streams: CliStreams = processStreams): Output {
  return {
    json,
    line: (text = '') => streams.stdout(`${text}\n`),
    data: (value) => streams.stdout(`${JSON.stringify(value, null, 2)}\n`),
    warn: (text) => streams.stderr(`${text}\n`),
    color: colors(!json && colorEnabled({ isTTY: streams.isTTY })),
  };
}

/** Renders rows as aligned columns (no dependency: a table this small needs none). */
export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const fmt = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd();
  return [fmt(headers), ...rows.map(fmt)].join('\n');
}

// Errors caused by what the user typed or passed in (fixable input), by stable code.
const INPUT_ERROR_CODES = new Set([
  'PROVABLY_INVALID_URL',
  'PROVABLY_CONFIG_ERROR',
  'PROVABLY_INVALID_ID',
  'PROVABLY_HANDOFF_INVALID',
  'PROVABLY_MODEL_CLAIMS_INVALID',
  'PROVABLY_SIGNING_KEY',
  'PROVABLY_POLICY_SET_ERROR',
  'PROVABLY_POLICY_INPUT',
]);

/** Exit codes: 2 for input the user can fix, 1 for everything else. */
export function exitCodeFor(err: unknown): number {
  return err instanceof ProvablyError && INPUT_ERROR_CODES.has(err.code) ? 2 : 1;
}

/** One line, no stack: the reason a command failed. */
export function describeFailure(err: unknown): string {
  if (err instanceof ProvablyStoreError || err instanceof ProvablyError) return err.message;
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  return String(err);
}
