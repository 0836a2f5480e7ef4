/**
 * Turning call params into Cedar context values, fail-closed.
 *
 * Cedar's JSON reads `{"__entity": …}` and `{"__extn": …}` as entity references and extension
 * values: a tool argument must never be able to smuggle one in, so those keys are refused.
 * Cedar has no null, no floating point and 64-bit integers only: null / undefined members are
 * left out (a policy tests them with `has`), integers pass as Long, other finite numbers become
 * `decimal` values when Cedar's decimal (4 fraction digits) holds them exactly, else the
 * request is refused — a number the policy cannot see exactly must not be guessed at.
 */
import { PolicyInputError } from '../errors/index.js';

export type CedarValue = boolean | number | string | CedarValue[] | { [key: string]: CedarValue };

const RESERVED = new Set(['__entity', '__extn', '__expr']);
export const MAX_PARAM_DEPTH = 32;
const DECIMAL = /^-?\d{1,15}(\.\d{1,4})?$/;

export function toCedarValue(value: unknown, path: string, depth = 0): CedarValue | undefined {
  if (depth > MAX_PARAM_DEPTH)
    throw new PolicyInputError(path, `nested deeper than ${MAX_PARAM_DEPTH} levels`);
  if (value === null || value === undefined) return undefined;
  switch (typeof value) {
    case 'boolean':
    case 'string':
      return value;
    case 'number': {
      if (Number.isSafeInteger(value)) return value;
      const text = String(value);
      if (Number.isFinite(value) && DECIMAL.test(text)) {
        return { __extn: { fn: 'decimal', arg: text } } as unknown as CedarValue;
      }
      throw new PolicyInputError(
        path,
        `${text} cannot be given to Cedar exactly (integers up to 2^53, or decimals with at most 4 fraction digits)`,
      );
    }
    case 'object': {
      if (Array.isArray(value)) {
        return value.map((v, i) => {
          const cv = toCedarValue(v, `${path}[${i}]`, depth + 1);
          // A Cedar set has no null member, and dropping one would change what the list says.
          if (cv === undefined)
            throw new PolicyInputError(`${path}[${i}]`, 'null in a list cannot be given to Cedar');
          return cv;
        });
      }
      const out: Record<string, CedarValue> = {};
      for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
        if (RESERVED.has(k)) throw new PolicyInputError(`${path}.${k}`, `the key ${k} is reserved by Cedar`);
        const cv = toCedarValue(v, `${path}.${k}`, depth + 1);
        if (cv !== undefined) out[k] = cv;
      }
      return out;
    }
    default:
      throw new PolicyInputError(path, `a ${typeof value} cannot be given to a policy`);
  }
}
