/** Comma-separated settings (PROVABLY_EGRESS_PROXIES, PROVABLY_ALLOW_UDP, PROVABLY_REDACT_PARAMS, …). */

/** The entries of a comma-separated value: each trimmed, empty ones dropped (`a, ,b,` → a, b). */
export function splitList(raw: string | undefined): string[] {
  if (raw === undefined) return [];
  return raw
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s !== '');
}
