// The softphone's weight: all its JavaScript and CSS, gzipped file by file
// (as a browser downloads them), must stay under 40 KB.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { repo } from './harness.js';

function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

it('keeps the softphone’s JS + CSS under 40 KB gzipped', () => {
  const assets = files(join(repo, 'static', 'softphone')).filter((f) => /\.(js|css)$/.test(f));
  const total = assets.reduce((n, f) => n + gzipSync(readFileSync(f), { level: 9 }).length, 0);
  console.log(`softphone JS + CSS: ${assets.length} files, ${(total / 1024).toFixed(1)} KB gzipped`);
  assert.ok(total < 40 * 1024, `${total} bytes`);
});
