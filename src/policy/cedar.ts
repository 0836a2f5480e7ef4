/**
 * The Cedar engine, loaded on first need. The `/nodejs` entry is CommonJS and loads its wasm
 * synchronously (the package root imports a .wasm file directly, which Node refuses or warns
 * about), so it is required, not imported; loading costs 50–200 ms, which processes that never
 * use a policy must not pay.
 */
import { createRequire } from 'node:module';

export type CedarModule = typeof import('@cedar-policy/cedar-wasm/nodejs');
export type {
  AuthorizationAnswer,
  DetailedError,
  PolicySet as CedarPolicySet,
} from '@cedar-policy/cedar-wasm/nodejs';

let cedar: CedarModule | undefined;

export function loadCedar(): CedarModule {
  if (cedar === undefined) {
    const require = createRequire(import.meta.url);
    cedar = require('@cedar-policy/cedar-wasm/nodejs') as CedarModule;
  }
  return cedar;
}
