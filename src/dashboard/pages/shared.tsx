/** @jsxImportSource hono/jsx */
/** Views shared by the audit and records pages: a body preview and a verify report. */
import { decodeBody, type InterceptRecord } from '../../record/index.js';
import type { VerifyReport } from '../verify.js';

export const PREVIEW_BYTES = 2048;

/** The first bytes of a recorded body, decoded (gzip, br…) and shown as text when it is text. */
export function BodyPreview(props: { record: InterceptRecord }) {
  const r = props.record;
  if (r.responseBody === null) return <p class="muted tight">No response body.</p>;
  let bytes: Uint8Array;
  let note = '';
  try {
    bytes = decodeBody(r, { maxOutputBytes: 1024 * 1024 });
  } catch (err) {
    bytes = r.responseBody;
    note = ` (shown as stored: ${(err as Error).message})`;
  }
  const head = bytes.subarray(0, PREVIEW_BYTES);
  const text = new TextDecoder('utf-8', { fatal: false }).decode(head);
  // Mostly control characters: not text, so show a hex dump instead of mojibake.
  const binary = isBinary(head) || text.includes('\ufffd');
  return (
    <>
      <p class="muted tight">
        body {r.bodySize} bytes{r.bodyTruncated ? ' (truncated when stored)' : ''}
        {bytes.byteLength > PREVIEW_BYTES ? `, first ${PREVIEW_BYTES} shown` : ''}
        {r.contentEncoding ? `, ${r.contentEncoding}-encoded` : ''}
        {note}
      </p>
      <pre class="body">
        {binary
          ? Buffer.from(head)
              .toString('hex')
              .replace(/(.{64})/g, '$1\n')
          : text}
      </pre>
    </>
  );
}

/** Control bytes other than tab, CR, LF, FF: the body is not text. */
function isBinary(bytes: Uint8Array): boolean {
  return bytes.some((b) => b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x0c);
}

export function VerifyResult(props: { report: VerifyReport }) {
  const { report } = props;
  const broken = report.items.some((i) => i.status === 'broken');
  const allOk = report.items.length > 0 && report.items.every((i) => i.status === 'verified');
  return (
    <div class="verify-result" role="status">
      <p class={broken ? 'bad' : allOk ? 'ok' : 'warn'}>
        <strong>
          {broken ? 'BROKEN: evidence does not verify' : allOk ? 'Verified' : 'Not fully verified'}
        </strong>
      </p>
      {report.checkpoint ? (
        <p class="muted tight">
          under the signed checkpoint of tree size {report.checkpoint.treeSize}, key {report.checkpoint.keyId}
          , {report.checkpoint.timestamp}
        </p>
      ) : null}
      {report.problem ? <p class="warn">{report.problem}</p> : null}
      <ul>
        {report.items.map((i) => (
          <li>
            <span class={i.status === 'verified' ? 'ok' : i.status === 'broken' ? 'broken' : 'warn'}>
              {i.status}
            </span>{' '}
            {i.kind} <code>{i.id}</code>: {i.detail}
          </li>
        ))}
      </ul>
    </div>
  );
}
