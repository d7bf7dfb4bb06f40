// What the addon exports, and whose zb_* its calls reach. Only what Node
// loads it by (NAPI_MODULE), and none of the core compiled into it: in a
// process that also has libzerobuffer.so.0 (an application's, of this build
// or another 0.x), its calls would bind to that library's code, run on the
// addon's structures. The standard library's C++ template instantiations
// (std::) stay exported: libstdc++'s headers give them default visibility,
// as in every C++ module. With another zb_validate_name preloaded
// (test/install/interpose.c, which aborts when called), a frame goes
// through a ring all the same.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { leftovers, repoRoot, ringName, run } from './helpers.js';

const addon = path.join(repoRoot, 'build', 'Release', 'zerobuffer.node');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-exports-'));

afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
  expect(leftovers()).toEqual([]);
});

test('the addon exports napi_register_module_v1 and node_api_module_get_api_version_v1, and nothing of its own besides', () => {
  const names = execFileSync('nm', ['-D', '--defined-only', addon], { encoding: 'utf8' }).split('\n').filter(Boolean)
    .map((l) => l.split(' ')[2]!.replace(/@.*/, ''));
  expect(names).toContain('napi_register_module_v1');
  // std:: names mangled: _ZNSt…, _ZSt…, typeinfo/name/vtable _ZT[ISV]…St…, local statics _ZZNSt…
  expect(names.filter((n) => !['napi_register_module_v1', 'node_api_module_get_api_version_v1'].includes(n) &&
    !/^_Z(?:T[ISV]|Z)?N?St/.test(n))).toEqual([]);
});

test('with another zb_validate_name preloaded, a reader and a writer move a frame through the addon\'s own core', async () => {
  const interposer = path.join(tmp, 'libzb-interpose.so');
  execFileSync('cc', ['-shared', '-fPIC', '-o', interposer, path.join(repoRoot, 'test', 'install', 'interpose.c')]);
  const name = ringName('exports');
  const script = `
    import { ZeroBufferReader, ZeroBufferWriter } from ${JSON.stringify(path.join(repoRoot, 'dist', 'index.js'))};
    const reader = await ZeroBufferReader.create({ name: ${JSON.stringify(name)}, metadataSize: 64, payloadSize: 1024 });
    const writer = await ZeroBufferWriter.connect(reader.name);
    await writer.write(new Uint8Array([1, 2, 3]));
    const frame = await reader.next({ timeoutMs: 5000 });
    console.log(Array.from(frame.data).join(','));
    frame.release();
    await writer.close();
    await reader.close();`;
  const child = run(process.execPath, ['--input-type=module', '-e', script], { LD_PRELOAD: interposer, NODE_OPTIONS: '' });
  const code = await child.exit();
  expect(child.stderr).not.toContain('INTERPOSED');
  expect({ code, stdout: child.stdout }).toEqual({ code: 0, stdout: ['1,2,3'] });
});
