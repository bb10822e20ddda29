// Precompresses the built page (dist/assets) at build time: NAME.br (Brotli, quality 11) and
// NAME.gz (gzip, level 9) beside each file that shrinks by at least a tenth, so the server
// answers `Accept-Encoding` from embedded bytes and never compresses per request.
// Run by `npm run build` after vite; index.html is left alone (the server adds boot data).

import { readdirSync, readFileSync, statSync, writeFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { brotliCompressSync, constants, gzipSync } from 'node:zlib';

const DIR = 'dist/assets';
const MIN_BYTES = 1024;

let before = 0;
let after = 0;
for (const name of readdirSync(DIR).sort()) {
  const path = join(DIR, name);
  if (name.endsWith('.br') || name.endsWith('.gz')) {
    rmSync(path);
    continue;
  }
  if (!statSync(path).isFile()) continue;
  const bytes = readFileSync(path);
  before += bytes.length;
  if (bytes.length < MIN_BYTES) {
    after += bytes.length;
    continue;
  }
  const br = brotliCompressSync(bytes, {
    params: {
      [constants.BROTLI_PARAM_QUALITY]: 11,
      [constants.BROTLI_PARAM_SIZE_HINT]: bytes.length,
    },
  });
  const gz = gzipSync(bytes, { level: 9 });
  const worth = (c) => c.length <= bytes.length * 0.9;
  if (worth(br)) writeFileSync(`${path}.br`, br);
  if (worth(gz)) writeFileSync(`${path}.gz`, gz);
  after += worth(br) ? br.length : bytes.length;
  console.log(`  ${name}: ${bytes.length} B, br ${br.length} B, gzip ${gz.length} B`);
}
console.log(`compressed dist/assets: ${before} B -> ${after} B with Brotli`);
