#!/usr/bin/env node
// Checks that a built GStreamer plugin calls nothing newer than the oldest
// GStreamer it claims to support: every gst_* symbol it imports is looked
// up in the installed GIR files (libgstreamer1.0-dev and the -plugins-base
// -dev package ship them), whose "version" attributes are the API's "Since:"
// versions. The headers cannot tell (GStreamer 1.22 has no
// GST_VERSION_MAX_ALLOWED), so this is what backs the minimum.
//
// Usage: node scripts/check-gst-api.mjs PLUGIN.so MIN_VERSION [GIR_DIR]
//   e.g. node scripts/check-gst-api.mjs builddir/gst-plugin/libgstzerobuffer.so 1.20
// Exit 0: all known symbols are old enough; 1: some are newer (listed);
// 2: usage or tools missing.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const [plugin, minimum, girDir = '/usr/share/gir-1.0'] = process.argv.slice(2);
if (plugin === undefined || !/^1\.\d+$/.test(minimum ?? '')) {
  console.error('usage: check-gst-api.mjs PLUGIN.so 1.MINOR [GIR_DIR]');
  process.exit(2);
}
const GIRS = ['Gst-1.0.gir', 'GstBase-1.0.gir', 'GstVideo-1.0.gir', 'GstAudio-1.0.gir'];

/** "1.22" → 22 (the minor version; GStreamer 1.x only). */
const minor = (version) => Number(version.split('.')[1] ?? 0);

/** C symbol → "Since" version, from a GIR file (inherited from the enclosing type). */
function sinceVersions(file) {
  const since = new Map();
  const stack = [];
  const attr = (attrs, name) => new RegExp(`\\s${name}="([^"]*)"`).exec(attrs)?.[1];
  for (const m of fs.readFileSync(file, 'utf8').matchAll(/<(\/?)([A-Za-z:-]+)([^>]*?)(\/?)>/g)) {
    const [, closing, tag, attrs, selfClosing] = m;
    if (tag.startsWith('?') || tag.startsWith('!')) continue;
    if (closing) {
      stack.pop();
      continue;
    }
    const version = attr(attrs, 'version') ?? stack.at(-1)?.version;
    for (const name of ['c:identifier', 'glib:get-type']) {
      const symbol = attr(attrs, name);
      if (symbol !== undefined && version !== undefined) since.set(symbol, version);
      else if (symbol !== undefined && !since.has(symbol)) since.set(symbol, '1.0');
    }
    if (!selfClosing) stack.push({ tag, version });
  }
  return since;
}

const since = new Map();
for (const gir of GIRS) {
  const file = path.join(girDir, gir);
  if (!fs.existsSync(file)) {
    console.error(`check-gst-api: ${file} not found (install libgstreamer1.0-dev and libgstreamer-plugins-base1.0-dev)`);
    process.exit(2);
  }
  for (const [symbol, version] of sinceVersions(file)) since.set(symbol, version);
}

let imported;
try {
  imported = execFileSync('nm', ['-D', '--undefined-only', plugin], { encoding: 'utf8' })
    .split('\n').map((l) => l.trim().split(/\s+/).at(-1)).filter((s) => s && /^_?gst_/.test(s));
} catch (e) {
  console.error(`check-gst-api: nm -D ${plugin} failed: ${e.message}`);
  process.exit(2);
}

const tooNew = [];
const unknown = [];
for (const symbol of imported) {
  const version = since.get(symbol);
  if (version === undefined) unknown.push(symbol);
  else if (minor(version) > minor(minimum)) tooNew.push(`${symbol} (since ${version})`);
}
console.log(`check-gst-api: ${path.basename(plugin)} imports ${imported.length} GStreamer symbols; ` +
  `${imported.length - unknown.length} found in the GIR files` +
  (unknown.length ? `; not described there (private or variables): ${unknown.join(' ')}` : ''));
if (tooNew.length > 0) {
  console.error(`check-gst-api: newer than GStreamer ${minimum}: ${tooNew.join(', ')}`);
  process.exit(1);
}
console.log(`check-gst-api: nothing newer than GStreamer ${minimum}`);
