/**
 * Span visibility at start (src/scope/visibility.ts): the API's version rule, restated, checked
 * against the real API copies installed; the application's own API found on disk (a real
 * node_modules tree in a temp dir) and warned about when it refuses the registry; and the pinned
 * residual: a newer copy nested inside a dependency is not found.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configureDiag } from '../../src/diag/index.js';
import {
  apiAccepts,
  applicationApiVersions,
  checkApplicationApis,
  spanWarnings,
} from '../../src/scope/visibility.js';

const logged: string[] = [];
configureDiag({ level: 'warn', sink: (line) => logged.push(line) });

describe('apiAccepts: the @opentelemetry/api compatibility rule', () => {
  it.each([
    ['1.9.1', '1.10.0', true], // an older reader uses a newer registry
    ['1.10.0', '1.10.0', true],
    ['1.10.3', '1.10.0', true], // patch differences do not matter
    ['1.11.0', '1.10.0', false], // a newer reader may call what the registry lacks
    ['1.10.0', '1.9.1', false],
    ['2.0.0', '1.10.0', false], // majors never mix
    ['1.10.0-rc.1', '1.10.0', false], // a prerelease only matches itself
    ['1.10.0-rc.1', '1.10.0-rc.1', true],
    ['0.3.1', '0.3.2', true],
    ['0.3.2', '0.3.1', false],
    ['0.4.0', '0.3.9', false],
    ['not a version', '1.10.0', false],
  ])('reader %s, registry %s → %s', (reader, registry, accepted) => {
    expect(apiAccepts(reader, registry)).toBe(accepted);
  });

  it('agrees with the real copies: 1.9.1 reads a 1.10.0 registry, 1.10.0 refuses a 1.9.1 one', async () => {
    // The rule as the installed API copies apply it (their getGlobal): see handover.test.ts and
    // the e2e suite for the behaviour; here, the versions they carry.
    const { readFileSync } = await import('node:fs');
    const v = (p: string) => JSON.parse(readFileSync(p, 'utf8')).version as string;
    const own = v('node_modules/@opentelemetry/api/package.json');
    const old = v('node_modules/otel-api-19/package.json');
    expect(old).toBe('1.9.1');
    expect(apiAccepts(old, own)).toBe(true);
    expect(apiAccepts(own, old)).toBe(false);
  });
});

describe('the application’s own @opentelemetry/api, found on disk', () => {
  let app: string;
  beforeAll(() => {
    app = mkdtempSync(join(tmpdir(), 'provably-visibility-'));
    const pkg = (dir: string, version: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(
        join(dir, 'package.json'),
        JSON.stringify({ name: '@opentelemetry/api', version, main: './index.js' }),
      );
      writeFileSync(join(dir, 'index.js'), 'module.exports = {};\n');
    };
    // The app's top-level api (newer than the registry) and a framework's nested copy.
    pkg(join(app, 'node_modules/@opentelemetry/api'), '1.11.0');
    pkg(join(app, 'node_modules/framework/node_modules/@opentelemetry/api'), '1.12.0');
    writeFileSync(join(app, 'main.js'), '');
  });
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('reads the version next to the resolved entry', () => {
    const found = applicationApiVersions([join(app, 'main.js')]);
    expect([...found.values()]).toEqual(['1.11.0']);
  });

  it('a newer top-level copy refusing the registry → one warning, counted once', () => {
    const before = spanWarnings();
    checkApplicationApis('1.10.0', [join(app, 'main.js')]);
    checkApplicationApis('1.10.0', [join(app, 'main.js')]);
    expect(spanWarnings()).toBe(before + 1);
    expect(logged.join('\n')).toMatch(
      /the application's @opentelemetry\/api 1\.11\.0 \(.*\) refuses the OpenTelemetry globals registered at v1\.10\.0: .*NOT governed/,
    );
  });

  it('an accepted copy → no warning', () => {
    const before = spanWarnings();
    checkApplicationApis('1.11.0', [join(app, 'main.js')]);
    expect(spanWarnings()).toBe(before);
  });

  it('residual (README): a newer copy nested inside a dependency is not found, so not warned about', () => {
    const found = applicationApiVersions([join(app, 'main.js')]);
    expect([...found.values()]).not.toContain('1.12.0');
    const before = spanWarnings();
    checkApplicationApis('1.11.0', [join(app, 'main.js')]);
    expect(spanWarnings()).toBe(before);
  });

  it('no api installed for the application → nothing found, nothing thrown', () => {
    const bare = mkdtempSync(join(tmpdir(), 'provably-visibility-bare-'));
    try {
      expect(applicationApiVersions([join(bare, 'main.js')]).size).toBe(0);
    } finally {
      rmSync(bare, { recursive: true, force: true });
    }
  });
});
