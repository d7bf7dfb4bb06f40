// Hostile and odd input at the CLI's edges, end to end: a protocol line
// nested deep, img= streams whose timestamps or attributes the frame header
// cannot carry as they are, a foreign writer's attributes that img= cannot
// carry, a peer announcing many rings. Each is told clearly and loses
// nothing else: never a stack trace, never "unexpected error".
import { jest } from '@jest/globals';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXIT } from '../../src/cli/exit-codes.js';
import { repoRoot, run } from './helpers.js';

jest.setTimeout(60000);

const bin = path.join(repoRoot, 'dist', 'cli', 'bin.js');
const gstEnv = { GST_PLUGIN_PATH: path.join(repoRoot, 'builddir', 'gst-plugin') };
const prefix = `cl${process.pid}-`;
const clName = (tag: string): string => `${prefix}${tag}-${randomUUID().slice(0, 8)}`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-cl-'));

afterAll(() => {
  fs.rmSync(dir, { recursive: true, force: true });
  expect(fs.readdirSync('/dev/shm').filter((n) => n.includes(prefix))).toEqual([]);
});

/** A command for watch: a node script printing `lines` one by one, flushed. */
function printer(lines: string[], pauseMs = 100): string[] {
  const script = `const lines = ${JSON.stringify(lines)};
    (async () => { for (const l of lines) { process.stdout.write(l + '\\n'); await new Promise((r) => setTimeout(r, ${pauseMs})); } })();`;
  return [process.execPath, '-e', script];
}

test('watch: a protocol line nested 5,000 deep (10 KB) is a warning, a deep name a refused ring (status 3), never a stack trace', async () => {
  const deep = `> {"jsonrpc":${'['.repeat(5000)}${']'.repeat(5000)}}`;
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer(['hello before', deep, `> {"jsonrpc":"2.0","method":"start-stream","params":[${'['.repeat(5000)}${']'.repeat(5000)},1,1]}`,
      'after 0', 'after 1'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.pipeline); // the deep name is one no ring can have: a permanent failure, said
  expect(child.stdout).toEqual(expect.arrayContaining(['hello before']));
  expect(child.stderr).toMatch(/ignored protocol line: "jsonrpc" must be "2.0", received an array of 1 value/);
  expect(child.stderr).toMatch(/name must be a string, received an array of 1 value/);
  expect(child.stderr).not.toMatch(/RangeError|Maximum call stack|unexpected error|\n\s+at /);
});

test('watch: a bad line nested deep among logs ends nothing: every later line passes, status 0', async () => {
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer(['hello before', `> {"jsonrpc":"2.0","method":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`, 'after 0', 'after 1', 'after 2'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.ok);
  expect(child.stdout).toEqual(['hello before', 'after 0', 'after 1', 'after 2']);
  expect(child.stderr).toMatch(/ignored protocol line: unknown method an object \(expected/);
  expect(child.stderr).not.toMatch(/RangeError|Maximum call stack|unexpected error/);
});

test('watch: a refused name of 60,000 characters is shown cut, not whole', async () => {
  const child = run(process.execPath, [bin, 'watch', '--pipeline', 'videotestsrc', '--',
    ...printer([`> {"jsonrpc":"2.0","method":"start-stream","params":["${'n'.repeat(60000)}",4096,65536]}`, 'after'])], gstEnv);
  expect(await child.exit()).toBe(EXIT.pipeline);
  expect(child.stderr).toMatch(/invalid ring name "n{80}…"/);
  expect(child.stderr.length).toBeLessThan(5000);
});
