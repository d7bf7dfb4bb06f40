// Element warnings as PipelineRunner reads them from a real child's output
// (fake gst-launch programs written at test time): a warning whose debug
// text is only GStreamer's location line has no hint (the next, unrelated
// line is not its hint); and OutputTail's lines added after its end() (the
// run's output over), which are not the run's.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { OutputTail, type ElementWarning } from '../../src/runner/pipeline-output.js';
import { PipelineRunner } from '../../src/runner/pipeline-runner.js';
import { ringName, within } from './helpers.js';

let tmp: string;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'zb-runner-warnings-'));
});
afterAll(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** An executable bash script whose path holds marker. */
function script(marker: string, body: string): string {
  const file = path.join(tmp, `fake-gst-${marker}`);
  fs.writeFileSync(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return file;
}

const ELEMENT = '/GstPipeline:pipeline0/GstQueue:queue0';

test('a warning without debug text (its location line ends without ":"): empty hint, the next stderr line not taken for it; one with debug text keeps its hint', async () => {
  const name = ringName('warn-nodebug');
  const fake = script(name, [
    `echo "WARNING: from element ${ELEMENT}: no debug text" >&2`,
    'echo "Additional debug info:" >&2',
    `echo "../plugins/elements/gstqueue.c(1): f (): ${ELEMENT}" >&2`,
    'echo "an unrelated line of another element" >&2',
    `echo "WARNING: from element ${ELEMENT}: with debug text" >&2`,
    'echo "Additional debug info:" >&2',
    `echo "../plugins/elements/gstqueue.c(2): f (): ${ELEMENT}:" >&2`,
    'echo "the hint" >&2',
  ].join('\n'));
  const runner = new PipelineRunner({ source: 'fakesrc', name, gstLaunch: fake });
  const warnings: ElementWarning[] = [];
  runner.on('elementWarning', (w) => warnings.push(w));
  runner.start();
  await within('the run', runner.done, 10000);
  expect(warnings).toEqual([
    { element: ELEMENT, message: 'no debug text', hint: '' },
    { element: ELEMENT, message: 'with debug text', hint: 'the hint' },
  ]);
});

test('OutputTail: lines added after end() are not the run\'s: a warning there is not told, nor kept', () => {
  const warnings: ElementWarning[] = [];
  const tail = new OutputTail(60, (w) => warnings.push(w));
  tail.end();
  for (const line of [`WARNING: from element ${ELEMENT}: late`, 'Additional debug info:', `gstqueue.c(1): f (): ${ELEMENT}:`, 'late hint', 'after'])
    tail.add(line);
  tail.end();
  expect(warnings).toEqual([]);
  expect(tail.text).toBe('');
  tail.reset(); // a new run's lines are read again
  tail.add(`WARNING: from element ${ELEMENT}: next run`);
  tail.end();
  expect(warnings).toEqual([{ element: ELEMENT, message: 'next run', hint: '' }]);
});

test('OutputTail: an element named with spaces (name="my q") is read by its whole path, its warning told and its error block kept with its debug text; a message with ": " in it stays whole', () => {
  // (before: the path was read up to its first space: the warning was not told, the error's debug text not kept)
  const element = '/GstPipeline:pipeline0/GstQueue:my q';
  const warnings: ElementWarning[] = [];
  const tail = new OutputTail(60, (w) => warnings.push(w));
  for (const line of [
    `WARNING: from element ${element}: late: by 2 s`, 'Additional debug info:', `gstqueue.c(1): f (): ${element}:`, 'the hint',
    `ERROR: from element ${element}: Internal data stream error.`, 'Additional debug info:', `gstqueue.c(2): f (): ${element}:`,
    'streaming stopped, reason not-linked (-1)',
  ]) tail.add(line);
  tail.end();
  expect(warnings).toEqual([{ element, message: 'late: by 2 s', hint: 'the hint' }]);
  expect(tail.errors).toBe(`ERROR: from element ${element}: Internal data stream error.\n  streaming stopped, reason not-linked (-1)`);
});
