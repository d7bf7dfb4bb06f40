// Checks of an options argument as a whole: an object, of known option names
// only. Without the addon (unlike ./options.ts): the CLI's help and
// plugin-path, which work without one, parse options too.

/**
 * A buffer whose contents were transferred away (postMessage, structuredClone)
 * or that the addon detached (a frame's view after release()). Only an empty
 * buffer is asked; Node 20 has no ArrayBuffer.prototype.detached (Node 22
 * has), and there a view made over a detached buffer throws, copying nothing.
 */
export function isDetached(buffer: ArrayBufferLike): boolean {
  if (buffer.byteLength !== 0) return false;
  const detached = (buffer as { detached?: boolean }).detached;
  if (detached !== undefined) return detached;
  try {
    new Uint8Array(buffer, 0, 0);
    return false;
  } catch {
    return true;
  }
}

/**
 * A value as an error message shows what it received: a number as is, a
 * string quoted, other values with their type (0n printed as 0 would read as
 * the number an integer check then seems to refuse).
 */
export function received(v: unknown): string {
  if (typeof v === 'string') return JSON.stringify(v);
  if (typeof v === 'number' || v == null) return String(v);
  if (typeof v === 'bigint') return `a bigint (${v}n)`;
  if (typeof v === 'boolean') return `a boolean (${v})`;
  if (Array.isArray(v)) return 'an array';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}

/**
 * The option names of the options type T, all and only them: the compiler
 * checks the record against T, so an option added to T cannot be missed here.
 */
export function optionNames<T extends object>(names: Record<keyof T, true>): readonly string[] {
  return Object.keys(names);
}

/**
 * Refuses an option name that is not one of `accepted`: a misspelt option
 * would otherwise be ignored (plain JavaScript gets no compiler to say so).
 */
export function refuseUnknownOptions(options: object, accepted: readonly string[], within = ''): void {
  for (const key of Object.keys(options)) {
    if (!accepted.includes(key)) {
      throw new TypeError(`unknown option "${within}${key}": the options are ` +
        accepted.map((name) => `"${within}${name}"`).join(', '));
    }
  }
}

/** A call's options argument: left out ({}), or an object of the `accepted` options only. */
export function validateOptions<T extends object>(value: T | undefined, accepted: readonly string[]): T {
  if (value === undefined) return {} as T;
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TypeError(`options must be an object (or left out), received ${received(value)}`);
  refuseUnknownOptions(value, accepted);
  return value;
}
