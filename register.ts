/**
 * The preload: `node --import provably/register app.js` (or NODE_OPTIONS="--import
 * provably/register"). Installs the interception so calls made inside a provably scope are
 * checked against the trusted endpoints and recorded; everything else passes through.
 *
 * PROVABLY_DISABLED=1 makes it a no-op. Invalid PROVABLY_* settings stop the process at start
 * with a ProvablyConfigError (a misconfigured guard must not run half-open); any other failure is
 * logged and the host continues without governance.
 */
import { diag } from './src/diag/index.js';
import { ProvablyConfigError } from './src/errors/index.js';
import { startProvably } from './src/runtime/index.js';

const disabled = /^(1|true|yes|on)$/i.test(process.env.PROVABLY_DISABLED?.trim() ?? '');
if (!disabled) {
  try {
    startProvably();
  } catch (err) {
    if (err instanceof ProvablyConfigError) throw err;
    diag.error('could not start; outbound calls are NOT governed in this process', err);
  }
}
