/** Option values shared by the list commands (audit, escalations, intercepts). */
import { ProvablyConfigError } from '../errors/index.js';

/** An ISO-8601 time given to `flag` (--since, --until). */
export function parseTime(flag: string, value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new ProvablyConfigError(flag, `expected an ISO-8601 time, got ${JSON.stringify(value)}`);
  return d;
}

/** --limit of the decision-event and escalation lists: 1 to 1000. */
export function parseLimit(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 1000) {
    throw new ProvablyConfigError(
      '--limit',
      `expected an integer from 1 to 1000, got ${JSON.stringify(value)}`,
    );
  }
  return Number(value);
}
