// Plays a database superuser who rewrites history: opens the embedded store directly (no
// provably code), switches the append-only triggers off for the session and rewrites the body of
// one recorded call — consistently, with a matching body_sha256 and body_size, as a careful forger
// would. Only the Merkle log can tell.
//   PROVABLY_DATA_DIR=… node examples/tamper.mjs <record-id>
import { createHash } from 'node:crypto';
import { join } from 'node:path';
import { PGlite } from '@electric-sql/pglite';

const [recordId] = process.argv.slice(2);
const db = await PGlite.create({ dataDir: join(process.env.PROVABLY_DATA_DIR, 'pglite') });
const { rows } = await db.query('SELECT response_body FROM provably_intercepts WHERE id = $1', [recordId]);
const original = JSON.parse(Buffer.from(rows[0].response_body).toString('utf8'));
const forged = Buffer.from(JSON.stringify({ ...original, balance: 1_000_000 }));
await db.exec('SET session_replication_role = replica');
await db.query(
  'UPDATE provably_intercepts SET response_body = $2, body_sha256 = $3, body_size = $4 WHERE id = $1',
  [recordId, forged, createHash('sha256').update(forged).digest('hex'), forged.length],
);
await db.close();
process.stdout.write(
  `  tamper | record ${recordId}: balance ${original.balance} -> 1000000 (body and hash rewritten)\n`,
);
