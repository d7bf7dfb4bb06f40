// The package's type declarations as tsc emits them with the project's
// tsconfig: the types a user names are exported from the entry (a writer's
// stats(): WriterStats), and what only the package calls (@internal:
// reader.releaseFrame, streamStartsAhead, heldViews, frame.bytes) is not in them
// (stripInternal), as if public. Bytes over an ArrayBuffer (frame.copy(),
// frame.data, a reservation) are typed so. The constructors of Frame, Stream and
// Watcher stay: stripped, the classes seemed to have public constructors
// without arguments, and `new Frame()` compiled (and crashed at run time).
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './helpers.js';

test('the .d.ts export the types of public signatures, leave the @internal members out, make new Frame(), new Stream() and new Watcher() compile errors, and type a copy\'s bytes as an ArrayBuffer\'s', () => {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.json'), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); },
  })!;
  const dts: Record<string, string> = {};
  const program = ts.createProgram(config.fileNames, { ...config.options, emitDeclarationOnly: true, sourceMap: false });
  const emitted = program.emit(undefined, (name, text) => { dts[path.relative(config.options.outDir!, name)] = text; });
  expect(emitted.diagnostics).toEqual([]);
  expect(dts['index.d.ts']).toMatch(/\btype WriterStats\b/);
  expect(dts['writer.d.ts']).toMatch(/stats\(\): WriterStats;/);
  expect(dts['index.d.ts']).not.toMatch(/FrameInit|FrameOwner/);
  expect(dts['reader.d.ts']).not.toMatch(/releaseFrame|streamStartsAhead|heldViews|FrameOwner/);
  expect(dts['frame.d.ts']).not.toMatch(/\bbytes\(/); // copy() and image() share it
  // what the reader's stats() tells of held frames stays
  expect(dts['reader.d.ts']).toMatch(/heldFrames: number;/);

  // a user's code, strict, against them: the package's classes cannot be made without their arguments
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-types-'));
  try {
    for (const [name, text] of Object.entries(dts)) {
      fs.mkdirSync(path.dirname(path.join(dir, name)), { recursive: true });
      fs.writeFileSync(path.join(dir, name), text);
    }
    fs.writeFileSync(path.join(dir, 'package.json'), '{ "type": "module" }');
    const user = path.join(dir, 'user.ts');
    fs.writeFileSync(user, [
      "import { Frame, Stream, Watcher } from './index.js';",
      'export const made = [new Frame(), new Stream(), new Watcher()];',
      'export const isFrame = (v: unknown): v is Frame => v instanceof Frame;',
      // bytes over an ArrayBuffer say so (TypeScript 5.7 and later: Uint8Array<ArrayBuffer>, not <ArrayBufferLike>):
      // a copy's buffer goes in a transfer list, a Blob, a Response, an ArrayBuffer
      "import type { ZeroBufferWriter } from './index.js';",
      "import { parentPort } from 'node:worker_threads';",
      'declare const frame: Frame, writer: ZeroBufferWriter;',
      'const copy = frame.copy();',
      'parentPort?.postMessage(copy, [copy.buffer]);',
      'export const parts = [new Blob([copy]), new Response(frame.copy())];',
      'export const buffers: ArrayBuffer[] = [copy.buffer, frame.data.buffer, frame.image().data.buffer, (await writer.reserve(1)).buffer];',
    ].join('\n'));
    const userProgram = ts.createProgram([user], {
      strict: true, noEmit: true, target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext, types: ['node'], typeRoots: [path.join(repoRoot, 'node_modules', '@types')],
    });
    const errors = ts.getPreEmitDiagnostics(userProgram).map((d) => {
      const at = d.file?.getLineAndCharacterOfPosition(d.start!);
      return `${path.basename(d.file?.fileName ?? '?')}:${at === undefined ? '?' : `${at.line + 1}:${at.character + 1}`} ` +
        ts.flattenDiagnosticMessageText(d.messageText, ' ');
    });
    expect(errors).toEqual([
      'user.ts:2:22 Expected 2 arguments, but got 0.',
      'user.ts:2:35 Expected 2-4 arguments, but got 0.',
      'user.ts:2:49 Expected 1 arguments, but got 0.',
    ]);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, 120000);
