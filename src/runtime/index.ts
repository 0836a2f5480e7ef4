/** runtime — the running provably of this process: start, controls, status. */
export type { ProvablyStatus } from './controller.js';
export {
  disable,
  enable,
  isEnabled,
  provablyStatus,
  setInterceptBodyHook,
  setInterceptUrlAllowlist,
} from './controls.js';
export { type StartOptions, startProvably } from './start.js';
