/**
 * src/exit: provably's one listener for SIGINT / SIGTERM / beforeExit, in real child processes
 * (the signal is real, so is the process's end). Every registered flush runs, each bounded by its
 * own timeout; alone, the listener re-raises the signal so the process still dies by it; with an
 * application listener, the application decides; a flush that throws or hangs holds nothing up.
 */
import { describe, expect, it } from 'vitest';
import { runSourceChild, srcModule } from '../helpers/backends.js';

const exit = srcModule('exit/index.ts');

/** A child body: imports flushAtExit, registers `flushes`, then runs `then`. */
function child(flushes: string, then: string): string {
  return `
import { flushAtExit } from ${JSON.stringify(exit)};
const later = (ms) => new Promise((r) => setTimeout(r, ms));
${flushes}
setInterval(() => {}, 1_000); // still running when the signal comes
${then}
`;
}

describe('flushAtExit', () => {
  it('SIGTERM, provably alone: both flushes finish (a slow one too), then the process dies by SIGTERM', async () => {
    const r = await runSourceChild(
      child(
        `flushAtExit({ what: 'slow', timeoutMs: 5_000, flush: async () => { await later(150); console.log('slow done'); } });
         flushAtExit({ what: 'fast', timeoutMs: 5_000, flush: async () => { console.log('fast done'); } });`,
        `process.kill(process.pid, 'SIGTERM');`,
      ),
    );
    expect(r.signal, r.stderr).toBe('SIGTERM');
    expect(r.stdout.split('\n').filter(Boolean).sort()).toEqual(['fast done', 'slow done']);
  });

  it('SIGINT with an application listener: provably flushes alongside it and does not end the process', async () => {
    const r = await runSourceChild(
      child(
        `flushAtExit({ what: 'rows', timeoutMs: 5_000, flush: async () => { console.log('flushed');
           // Had provably re-raised the signal, the process would die by SIGINT before this exit.
           setTimeout(() => process.exit(3), 100); } });`,
        `process.on('SIGINT', () => console.log('app saw SIGINT'));
         process.kill(process.pid, 'SIGINT');`,
      ),
    );
    expect(r.signal, r.stderr).toBe(null);
    expect(r.code).toBe(3);
    expect(r.stdout).toContain('app saw SIGINT');
    expect(r.stdout).toContain('flushed');
  });

  it('a flush that hangs is given up after its timeout (warned), one that throws is logged; the signal still ends the process', async () => {
    const r = await runSourceChild(
      child(
        `flushAtExit({ what: 'stuck writes', timeoutMs: 200, flush: () => new Promise(() => {}) });
         flushAtExit({ what: 'broken', timeoutMs: 5_000, flush: () => { throw new Error('boom'); } });
         flushAtExit({ what: 'good', timeoutMs: 5_000, flush: async () => { console.log('good done'); } });`,
        `process.kill(process.pid, 'SIGTERM');`,
      ),
      { env: { PROVABLY_LOG_LEVEL: 'warn' } },
    );
    expect(r.signal, r.stderr).toBe('SIGTERM');
    expect(r.stdout).toContain('good done');
    expect(r.stderr).toContain('stuck writes not flushed within 200 ms');
    expect(r.stderr).toContain('flushing broken failed');
  });

  it('unregistered: no listener is left behind, SIGTERM kills at once as without provably', async () => {
    const r = await runSourceChild(
      child(
        `const off = flushAtExit({ what: 'x', timeoutMs: 5_000, flush: async () => { console.log('should not run'); } });
         off();
         console.log('listeners', process.listenerCount('SIGTERM'), process.listenerCount('beforeExit'));`,
        `process.kill(process.pid, 'SIGTERM');`,
      ),
    );
    expect(r.signal).toBe('SIGTERM');
    expect(r.stdout).toContain('listeners 0 0');
    expect(r.stdout).not.toContain('should not run');
  });

  it('beforeExit runs only the flushes that asked for it, and the process then exits normally', async () => {
    const r = await runSourceChild(`
import { flushAtExit } from ${JSON.stringify(exit)};
let pending = 1;
flushAtExit({ what: 'outcomes', timeoutMs: 5_000, beforeExit: true, flush: async () => {
  if (pending === 0) return;
  pending = 0;
  await new Promise((r) => setTimeout(r, 50));
  console.log('outcomes flushed');
} });
flushAtExit({ what: 'signals only', timeoutMs: 5_000, flush: async () => { console.log('must not run'); } });
`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('outcomes flushed');
    expect(r.stdout).not.toContain('must not run');
  });
});
