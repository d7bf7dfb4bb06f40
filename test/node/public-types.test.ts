// The package's type declarations as tsc emits them with the project's
// tsconfig: the types a user names are exported from the entry (a writer's
// stats(): WriterStats), and what only the package calls (@internal: the
// Frame constructor and its init, reader.releaseFrame, streamStartsAhead,
// heldViews) is not in them (stripInternal), as if public.
import path from 'node:path';
import ts from 'typescript';
import { repoRoot } from './helpers.js';

test('the .d.ts export the types of public signatures and leave the @internal members out', () => {
  const config = ts.getParsedCommandLineOfConfigFile(path.join(repoRoot, 'tsconfig.json'), {}, {
    ...ts.sys, onUnRecoverableConfigFileDiagnostic: (d) => { throw new Error(String(d.messageText)); },
  })!;
  const dts: Record<string, string> = {};
  const program = ts.createProgram(config.fileNames, { ...config.options, emitDeclarationOnly: true, sourceMap: false });
  const emitted = program.emit(undefined, (name, text) => { dts[path.relative(config.options.outDir!, name)] = text; });
  expect(emitted.diagnostics).toEqual([]);
  expect(dts['index.d.ts']).toMatch(/\btype WriterStats\b/);
  expect(dts['writer.d.ts']).toMatch(/stats\(\): WriterStats;/);
  expect(dts['frame.d.ts']).not.toMatch(/constructor\(|FrameInit|FrameOwner/);
  expect(dts['reader.d.ts']).not.toMatch(/releaseFrame|streamStartsAhead|heldViews|FrameOwner/);
  // what the reader's stats() tells of held frames stays
  expect(dts['reader.d.ts']).toMatch(/heldFrames: number;/);
}, 120000);
