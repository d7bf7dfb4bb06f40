// A pipeline description → gst-launch arguments, split like a POSIX shell
// splits words (quotes and backslashes), so `zerobuffer run "<pipeline>"`
// means what `gst-launch-1.0 <pipeline>` means at a shell prompt. No shell
// runs: nothing is expanded.
import { fail } from '../options.js';

/** Words of a pipeline description; throws TypeError on an unclosed quote. */
export function splitPipeline(text: string): string[] {
  const words: string[] = [];
  let word = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else word += c;
    } else if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1]!)) word += text[++i];
      else word += c;
    } else if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      word += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(word);
      word = '';
      inWord = false;
    } else {
      word += c;
      inWord = true;
    }
  }
  if (quote !== undefined) throw new TypeError(`pipeline has an unclosed ${quote} quote: ${text}`);
  if (inWord) words.push(word);
  return words;
}

/** `name=value` words for element properties (booleans as true/false). */
export function propertyWords(properties: Record<string, string | number | boolean | undefined>): string[] {
  return Object.entries(properties)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `${k}=${String(v)}`);
}

/**
 * A property value as gst-launch reads it back whole: gst-launch joins its
 * arguments into one description (escaping spaces, but a `"` turns that
 * off, and a `\` escapes the next character), so a ring name such as
 * `nm cam:1`, `a"b c` or `x\y` goes in double quotes with `\` and `"`
 * escaped. Letters, digits, `.`, `-` and `_` go as they are.
 */
export function gstValue(value: string): string {
  return /^[A-Za-z0-9._-]+$/.test(value) ? value : `"${value.replace(/[\\"]/g, '\\$&')}"`;
}

/** A word for a POSIX shell, as the hints print commands: single-quoted unless plain. */
export function shellWord(word: string): string {
  return /^[A-Za-z0-9._:=@%+,\/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `buffer-name=NAME` (or another property) as a shell word that gst-launch reads back whole. */
export function gstPropertyWord(property: string, value: string): string {
  return shellWord(`${property}=${gstValue(value)}`);
}

/** Whether the last element of a pipeline's words is ELEMENT. */
export function endsIn(words: readonly string[], element: string): boolean {
  const last = words.join(' ').split('!').at(-1)!.trim();
  return last === element || last.startsWith(`${element} `);
}

/**
 * The words of a source pipeline given as a description or as words; a
 * TypeError (naming `option`) when it is empty, has a null byte (no
 * process argument can hold one: execa would throw as the pipeline
 * starts), or already ends in zerosink, which run, watch and
 * PipelineRunner append themselves.
 */
export function sourceWords(option: string, value: unknown): string[] {
  const words = typeof value === 'string' ? splitPipeline(value)
    : Array.isArray(value) && value.every((w) => typeof w === 'string') ? [...value as string[]]
    : fail(option, 'a pipeline description (string or string[])', value);
  if (words.length === 0) fail(option, 'a non-empty pipeline description', value);
  const withNull = words.find((w) => w.includes('\0'));
  if (withNull !== undefined) fail(option, 'a pipeline description without null bytes', withNull);
  if (endsIn(words, 'zerosink'))
    throw new TypeError(
      'the pipeline already ends in zerosink, but zerobuffer run and watch add "! zerosink buffer-name=<ring>" ' +
        "themselves: end it before zerosink and give zerosink's properties with --sink-property name=value " +
        '(sinkProperties in the API)',
    );
  return words;
}
