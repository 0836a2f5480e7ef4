/** A tenant set up for gateway tests: its keys (made through the library) and a policy. */
import { createApiKey, createTenant, putPolicySet, revokeApiKey } from '../../src/gateway/index.js';
import type { Store } from '../../src/store/types.js';

export const GATEWAY_POLICY = `
@id("small-payments")
@reason("small payments are fine")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount <= 100 };

@id("large-payments")
@escalate("payments over 100 need a human")
@hold("600")
permit(principal == Agent::"billing-agent", action == Action::"payments.initiate", resource)
  when { context.params.amount > 100 };

@id("quick-expiry")
@escalate("expires quickly")
@hold("2")
permit(principal == Agent::"billing-agent", action == Action::"payments.expiring", resource);

@id("no-crypto")
@reason("crypto recipients are forbidden")
forbid(principal, action == Action::"payments.initiate", resource)
  when { context.params has currency && context.params.currency == "BTC" };

@id("tools")
permit(principal, action == Action::"tool.ok", resource);

@id("open-refunds")
permit(principal, action == Action::"refunds.create", resource);

@id("refund-limit")
@reason("refunds over 10 are forbidden")
forbid(principal, action == Action::"refunds.create", resource)
  when { context.params.amount > 10 };
`;

export interface TenantKeys {
  id: string;
  admin: string;
  reviewer: string;
  /** Bound to billing-agent. */
  agent: string;
  /** Not bound: may act as any agent. */
  anyAgent: string;
  revoked: string;
}

export async function setUpTenant(
  store: Store,
  id: string,
  policy: string | null = GATEWAY_POLICY,
): Promise<TenantKeys> {
  await createTenant(store, { name: `Tenant ${id}`, id });
  const make = async (role: 'agent' | 'reviewer' | 'admin', o: { name?: string; agentId?: string } = {}) =>
    (await createApiKey(store, { tenant: id, role, ...o })).key;
  const keys: TenantKeys = {
    id,
    admin: await make('admin', { name: `admin-${id}` }),
    reviewer: await make('reviewer', { name: `reviewer-${id}` }),
    agent: await make('agent', { agentId: 'billing-agent' }),
    anyAgent: await make('agent'),
    revoked: await make('reviewer', { name: 'gone' }),
  };
  await revokeApiKey(store, (/^pvk_([a-z0-9]{8})_/.exec(keys.revoked) as RegExpExecArray)[1] as string);
  if (policy !== null) await putPolicySet(store, { tenant: id, text: policy, createdBy: 'test' });
  return keys;
}
