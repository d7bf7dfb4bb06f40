// Builds the C helpers with plain cc into builddir-bench/ (not meson: the
// benchmark stays out of the product build). Rebuilds when a source is newer.
import fs from 'node:fs';
import path from 'node:path';
import { run } from './proc.mjs';

const CFLAGS = ['-O2', '-std=c11', '-D_GNU_SOURCE', '-Wall'];

function newer(out, sources) {
  if (!fs.existsSync(out)) return true;
  const t = fs.statSync(out).mtimeMs;
  return sources.some((s) => fs.statSync(s).mtimeMs > t);
}

/** Compiles zb-bench and gst-run if needed; returns their paths. */
export async function buildHelpers(repo) {
  const out = path.join(repo, 'builddir-bench');
  fs.mkdirSync(out, { recursive: true });
  const coreDir = path.join(repo, 'native', 'core');
  const core = fs.readdirSync(path.join(coreDir, 'src')).filter((f) => f.endsWith('.c'))
    .map((f) => path.join(coreDir, 'src', f));
  const zbBench = path.join(out, 'zb-bench');
  const zbSrc = path.join(repo, 'scripts', 'bench', 'zb-bench.c');
  const measure = path.join(repo, 'scripts', 'bench', 'measure.h');
  if (newer(zbBench, [zbSrc, measure, ...core])) {
    await run('cc', [...CFLAGS, '-I', path.join(coreDir, 'include'), '-I', path.join(coreDir, 'src'),
      ...core, zbSrc, '-o', zbBench, '-lpthread', '-lrt']);
  }
  const gstRun = path.join(out, 'gst-run');
  const gstSrc = path.join(repo, 'scripts', 'bench', 'gst-run.c');
  if (newer(gstRun, [gstSrc, measure])) {
    const flags = (await run('pkg-config', ['--cflags', '--libs', 'gstreamer-1.0'])).stdout.trim().split(/\s+/);
    await run('cc', [...CFLAGS, gstSrc, '-o', gstRun, ...flags]);
  }
  return { zbBench, gstRun };
}
