/**
 * provably's diagnostics logger. Instrumentation must never throw into the host, so the
 * interesting failures are reported here instead: to stderr, at the level chosen by
 * PROVABLY_LOG_LEVEL (default `warn`). `once()` keeps a repeating failure (a store that stays
 * down, a hook that always throws) from flooding the host's logs.
 */

export type LogLevel = 'silent' | 'error' | 'warn' | 'info' | 'debug';

const ORDER: Record<LogLevel, number> = { silent: 0, error: 1, warn: 2, info: 3, debug: 4 };

export interface DiagLogger {
  error(message: string, detail?: unknown): void;
  warn(message: string, detail?: unknown): void;
  info(message: string, detail?: unknown): void;
  debug(message: string, detail?: unknown): void;
  /** Logs `message` at `level` the first time `key` is seen, then stays quiet for that key. */
  once(key: string, level: Exclude<LogLevel, 'silent'>, message: string, detail?: unknown): void;
}

export function parseLogLevel(value: string | undefined): LogLevel | undefined {
  if (value === undefined || value === '') return undefined;
  const v = value.trim().toLowerCase();
  return v in ORDER ? (v as LogLevel) : undefined;
}

type Sink = (line: string) => void;

let level: LogLevel = parseLogLevel(process.env.PROVABLY_LOG_LEVEL) ?? 'warn';
let sink: Sink = (line) => {
  try {
    process.stderr.write(`${line}\n`);
  } catch {
    // stderr closed: nowhere left to report; never throw into the host.
  }
};
const seen = new Set<string>();

function emit(at: Exclude<LogLevel, 'silent'>, message: string, detail?: unknown): void {
  if (ORDER[at] > ORDER[level]) return;
  let line = `provably ${at}: ${message}`;
  if (detail !== undefined) line += ` ${describe(detail)}`;
  sink(line);
}

function describe(detail: unknown): string {
  if (detail instanceof Error) return `(${detail.name}: ${detail.message})`;
  try {
    return JSON.stringify(detail);
  } catch {
    return String(detail);
  }
}

export const diag: DiagLogger = {
  error: (m, d) => emit('error', m, d),
  warn: (m, d) => emit('warn', m, d),
  info: (m, d) => emit('info', m, d),
  debug: (m, d) => emit('debug', m, d),
  once(key, at, m, d) {
    if (seen.has(key)) return;
    seen.add(key);
    emit(at, m, d);
  },
};

/** Changes the level and/or the sink (tests capture lines; the CLI keeps stderr). */
export function configureDiag(options: { level?: LogLevel; sink?: Sink }): void {
  if (options.level) level = options.level;
  if (options.sink) sink = options.sink;
}
