// A peer's value as it goes into a message: never throws and never grows
// long, whatever the value is (JSON.stringify overflows the stack on a value
// nested a few thousand deep, which a 10 KB protocol line can hold, and
// would put a 64 KB string whole into a warning).

/** How many characters of a string a message shows. */
export const SHOWN_CHARACTERS = 80;

/**
 * A string quoted (cut to `longest` characters, its length said), a number,
 * boolean or null as JSON writes it, a bigint with its type, undefined as
 * "nothing", an array or object by its kind only.
 */
export function describeValue(value: unknown, longest = SHOWN_CHARACTERS): string {
  if (typeof value === 'string')
    return value.length > longest ? `${JSON.stringify(value.slice(0, longest))}… (${value.length} characters)` : JSON.stringify(value);
  if (value === undefined) return 'nothing';
  if (value === null || typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (typeof value === 'bigint') return `a bigint (${value}n)`; // no JSON holds one: a caller's, which 5 would misname
  if (Array.isArray(value)) return `an array of ${value.length} value${value.length === 1 ? '' : 's'}`;
  return typeof value === 'object' ? 'an object' : `a ${typeof value}`;
}
