// A parser for GStreamer caps strings as gst_caps_to_string() prints them:
//   video/x-raw(memory:DMABuf), format=(string){ I420, NV12 }, width=(int)[ 1, 2147483647 ],
//   framerate=(fraction)30/1; image/jpeg, ...
// Fields keep their type; values are strings, numbers, booleans, fractions,
// lists { }, arrays < > and ranges [ ].
import { ZeroBufferError } from './errors.js';

/** A GStreamer fraction, e.g. framerate 30000/1001. */
export interface Fraction {
  numerator: number;
  denominator: number;
}

/** `{ a, b }`: any one of the values. */
export interface CapsList {
  list: CapsValue[];
}
/** `< a, b >`: all of the values, in order. */
export interface CapsArray {
  array: CapsValue[];
}
/** `[ min, max ]` or `[ min, max, step ]`. */
export interface CapsRange {
  min: CapsValue;
  max: CapsValue;
  step?: CapsValue;
}

export type CapsValue = string | number | bigint | boolean | Fraction | CapsList | CapsArray | CapsRange;

export interface CapsField {
  /** The type as written, e.g. 'string', 'int', 'fraction', 'GstVideoMultiviewFlagsSet'; inferred when absent. */
  type: string;
  value: CapsValue;
}

export interface CapsStructure {
  /** e.g. 'video/x-raw' */
  mediaType: string;
  /** Caps features, e.g. ['memory:DMABuf']; empty for system memory. */
  features: string[];
  fields: Record<string, CapsField>;
}

export interface Caps {
  /** 'ANY' and 'EMPTY'/'NONE' caps have no structures. */
  any: boolean;
  structures: CapsStructure[];
}

/**
 * Caps strings often come from another process (a ring's metadata): longer
 * ones are refused before parsing, and values nested deeper are refused while
 * parsing (the parser recurses once per level). The plugin's limits.
 */
export const CAPS_MAX_LENGTH = 65536;
export const CAPS_MAX_DEPTH = 32;

/** At most this much of the input is quoted in a message. */
const QUOTED_INPUT = 200;

/** The input for a message: control characters escaped, long input cut short. */
function quote(input: string): string {
  const shown = input
    .slice(0, QUOTED_INPUT)
    .replace(/[\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return input.length > QUOTED_INPUT ? `"${shown}..." (${input.length} characters)` : `"${shown}"`;
}

/** Caps text that does not parse (code ECAPS): `position` is where in `input`. */
export class CapsParseError extends ZeroBufferError {
  constructor(message: string, readonly input: string, readonly position: number) {
    super(`${message} at position ${position} of caps ${quote(input)}`, { code: 'ECAPS' });
  }
}

export function isFraction(v: unknown): v is Fraction {
  return typeof v === 'object' && v !== null && 'numerator' in v && 'denominator' in v;
}

const INT_TYPES = new Set(['int', 'uint', 'gint', 'guint', 'int64', 'uint64', 'gint64', 'guint64', 'long', 'ulong']);
const FLOAT_TYPES = new Set(['double', 'float', 'gdouble', 'gfloat', 'd', 'f']);
const TYPE_ALIASES: Record<string, string> = { i: 'int', s: 'string', str: 'string', b: 'boolean', bool: 'boolean', d: 'double', f: 'float', fraction: 'fraction' };

// What may appear in an unquoted token (GST_ASCII_IS_STRING plus what
// numbers, fractions and flag sets use).
const TOKEN = /[A-Za-z0-9_+\-./:*]/;

class Parser {
  pos = 0;
  /** Lists, arrays and ranges open around the current position. */
  depth = 0;
  constructor(readonly s: string) {}

  fail(message: string): never {
    throw new CapsParseError(message, this.s, this.pos);
  }
  ws(): void {
    while (this.pos < this.s.length && /\s/.test(this.s[this.pos]!)) this.pos++;
  }
  peek(): string | undefined {
    return this.s[this.pos];
  }
  eat(c: string): boolean {
    this.ws();
    if (this.s[this.pos] === c) {
      this.pos++;
      return true;
    }
    return false;
  }
  expect(c: string): void {
    if (!this.eat(c)) this.fail(`expected '${c}'`);
  }
  token(): string {
    this.ws();
    const start = this.pos;
    while (this.pos < this.s.length && TOKEN.test(this.s[this.pos]!)) this.pos++;
    return this.s.slice(start, this.pos);
  }

  quoted(): string {
    // gst_value_serialize: "..." with \" \\ and \ooo (octal bytes) escapes.
    this.pos++; // opening quote
    const bytes: number[] = [];
    const enc = new TextEncoder();
    for (;;) {
      if (this.pos >= this.s.length) this.fail('unterminated string');
      const c = this.s[this.pos++]!;
      if (c === '"') break;
      if (c === '\\') {
        const n = this.s[this.pos];
        if (n === undefined) this.fail('unterminated escape');
        const oct = /^[0-7]{3}/.exec(this.s.slice(this.pos));
        if (oct) {
          bytes.push(parseInt(oct[0], 8) & 0xff);
          this.pos += 3;
        } else {
          bytes.push(...enc.encode(n));
          this.pos++;
        }
      } else {
        const cp = this.s.codePointAt(this.pos - 1)!;
        if (cp > 0xffff) this.pos++;
        bytes.push(...enc.encode(String.fromCodePoint(cp)));
      }
    }
    return new TextDecoder().decode(new Uint8Array(bytes));
  }

  // A scalar written as text, converted by its declared (or inferred) type.
  scalar(type: string | undefined): { type: string; value: CapsValue } {
    this.ws();
    const raw = this.peek() === '"' ? this.quoted() : this.token();
    const quoted = this.s[this.pos - 1] === '"';
    if (!quoted && raw === '') this.fail('expected a value');
    const t = type === undefined ? undefined : TYPE_ALIASES[type] ?? type;
    if (t === 'string' || quoted) return { type: t ?? 'string', value: raw };
    if (t === undefined) return infer(raw);
    if (INT_TYPES.has(t)) return { type: t, value: int(raw, this) };
    if (FLOAT_TYPES.has(t)) {
      const v = Number(raw);
      if (Number.isNaN(v)) this.fail(`"${raw}" is not a ${t}`);
      return { type: t, value: v };
    }
    if (t === 'boolean') return { type: t, value: bool(raw, this) };
    if (t === 'fraction') return { type: t, value: fraction(raw, this) };
    return { type: t, value: raw }; // enums, flags, bitmasks, structures: as written
  }

  value(type: string | undefined): { type: string; value: CapsValue } {
    this.ws();
    const c = this.peek();
    if (c !== '{' && c !== '<' && c !== '[') return this.scalar(type);
    if (++this.depth > CAPS_MAX_DEPTH) this.fail(`values nest more than ${CAPS_MAX_DEPTH} levels deep`);
    const v = this.nested(c, type);
    this.depth--;
    return v;
  }

  // A list `{ }`, an array `< >` or a range `[ ]` (c is its opening bracket).
  nested(c: string, type: string | undefined): { type: string; value: CapsValue } {
    if (c === '{' || c === '<') {
      const close = c === '{' ? '}' : '>';
      this.pos++;
      const items: CapsValue[] = [];
      let itemType = type;
      if (!this.eat(close)) {
        do {
          const v = this.typedValue(itemType);
          itemType ??= v.type;
          items.push(v.value);
        } while (this.eat(','));
        this.expect(close);
      }
      return { type: itemType ?? 'string', value: c === '{' ? { list: items } : { array: items } };
    }
    this.pos++;
    const min = this.typedValue(type);
    this.expect(',');
    const max = this.typedValue(type ?? min.type);
    const range: CapsRange = { min: min.value, max: max.value };
    if (this.eat(',')) range.step = this.typedValue(type ?? min.type).value;
    this.expect(']');
    return { type: type ?? min.type, value: range };
  }

  // `(type)value` or `value`.
  typedValue(type: string | undefined): { type: string; value: CapsValue } {
    this.ws();
    if (this.peek() === '(') {
      this.pos++;
      const t = this.token();
      if (t === '') this.fail('expected a type name');
      this.expect(')');
      return this.value(t);
    }
    return this.value(type);
  }

  structure(): CapsStructure {
    this.ws();
    const mediaType = this.token();
    if (mediaType === '') this.fail('expected a media type');
    const features: string[] = [];
    if (this.peek() === '(') {
      this.pos++;
      do {
        const f = this.token();
        if (f === '') this.fail('expected a caps feature');
        features.push(f);
      } while (this.eat(','));
      this.expect(')');
    }
    const fields: Record<string, CapsField> = {};
    for (;;) {
      this.ws();
      if (this.pos >= this.s.length || this.peek() === ';') break;
      this.expect(',');
      this.ws();
      if (this.pos >= this.s.length || this.peek() === ';') break; // trailing comma
      const name = this.token();
      if (name === '') this.fail('expected a field name');
      this.expect('=');
      fields[name] = this.typedValue(undefined);
    }
    return { mediaType, features, fields };
  }
}

/**
 * An integer as GStreamer reads one (g_ascii_strtoll, base 0): `0x` is hex and
 * a leading 0 octal, so `width=010` is 8 (not 10); undefined for what is none.
 */
function cInteger(raw: string): number | bigint | undefined {
  const m = /^([+-]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9]\d*)$/.exec(raw);
  if (!m) return undefined;
  const digits = m[2]!;
  const magnitude = digits.length > 1 && digits[0] === '0' && !/^0[xX]/.test(digits) ? BigInt(`0o${digits.slice(1)}`) : BigInt(digits);
  const big = m[1] === '-' ? -magnitude : magnitude;
  return big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(big) : big;
}

function int(raw: string, p: Parser): number | bigint {
  const value = cInteger(raw);
  return value ?? p.fail(`"${raw}" is not an integer`);
}

function bool(raw: string, p: Parser): boolean {
  const l = raw.toLowerCase();
  if (['true', 'yes', 't', '1'].includes(l)) return true;
  if (['false', 'no', 'f', '0'].includes(l)) return false;
  return p.fail(`"${raw}" is not a boolean`);
}

function fraction(raw: string, p: Parser): Fraction {
  const m = /^([+-]?\d+)(?:\/(\d+))?$/.exec(raw);
  if (!m) p.fail(`"${raw}" is not a fraction`);
  return { numerator: Number(m[1]), denominator: m[2] === undefined ? 1 : Number(m[2]) };
}

// Untyped values: what gst_value_deserialize tries, in order.
function infer(raw: string): { type: string; value: CapsValue } {
  const integer = cInteger(raw);
  if (integer !== undefined) return { type: 'int', value: integer };
  if (/^[+-]?\d+\/\d+$/.test(raw)) {
    const [a, b] = raw.split('/');
    return { type: 'fraction', value: { numerator: Number(a), denominator: Number(b) } };
  }
  if (/^[+-]?(\d+\.\d*|\.\d+|\d+)([eE][+-]?\d+)?$/.test(raw)) return { type: 'double', value: Number(raw) };
  if (raw === 'true' || raw === 'false') return { type: 'boolean', value: raw === 'true' };
  return { type: 'string', value: raw };
}

/**
 * Parses a caps string; throws CapsParseError with the position on bad input,
 * and on input longer than CAPS_MAX_LENGTH or nested deeper than CAPS_MAX_DEPTH.
 */
export function parseCaps(text: string): Caps {
  if (typeof text !== 'string') throw new TypeError(`caps must be a string, received ${typeof text}`);
  if (text.length > CAPS_MAX_LENGTH) throw new CapsParseError(`caps of ${text.length} characters are over the ${CAPS_MAX_LENGTH} parsed`, text, 0);
  const trimmed = text.trim();
  if (trimmed === 'ANY') return { any: true, structures: [] };
  if (trimmed === 'EMPTY' || trimmed === 'NONE' || trimmed === '') return { any: false, structures: [] };
  const p = new Parser(text);
  const structures: CapsStructure[] = [];
  do {
    p.ws();
    if (p.pos >= text.length) break; // trailing ';'
    structures.push(p.structure());
  } while (p.eat(';'));
  p.ws();
  if (p.pos < text.length) p.fail('unexpected text');
  return { any: false, structures };
}

/** One name per GLib type that caps spell two ways ('gint' is 'int'). */
const SAME_TYPE: Record<string, string> = {
  gint: 'int', guint: 'uint', gint64: 'int64', guint64: 'uint64', gdouble: 'double', gfloat: 'float',
};
const typeName = (t: string): string => SAME_TYPE[t] ?? t;
const isInteger = (v: number | bigint): boolean => typeof v === 'bigint' || Number.isInteger(v);

function valuesEqual(a: CapsValue, b: CapsValue): boolean {
  if (isFraction(a) || isFraction(b))
    return isFraction(a) && isFraction(b) && a.numerator * b.denominator === b.numerator * a.denominator;
  if ((typeof a === 'number' || typeof a === 'bigint') && (typeof b === 'number' || typeof b === 'bigint'))
    return isInteger(a) && isInteger(b) ? BigInt(a) === BigInt(b) : a === b;
  if (typeof a !== 'object' || typeof b !== 'object') return a === b;
  if ('list' in a || 'list' in b) // a list is a set of values: any order
    return 'list' in a && 'list' in b && a.list.length === b.list.length &&
      a.list.every((x) => b.list.some((y) => valuesEqual(x, y))) && b.list.every((y) => a.list.some((x) => valuesEqual(x, y)));
  if ('array' in a || 'array' in b)
    return 'array' in a && 'array' in b && a.array.length === b.array.length && a.array.every((x, i) => valuesEqual(x, b.array[i]!));
  return valuesEqual(a.min, b.min) && valuesEqual(a.max, b.max) &&
    (a.step === undefined || b.step === undefined ? a.step === b.step : valuesEqual(a.step, b.step));
}

function structuresEqual(a: CapsStructure, b: CapsStructure): boolean {
  const names = Object.keys(a.fields);
  return a.mediaType === b.mediaType && [...a.features].sort().join() === [...b.features].sort().join() &&
    names.length === Object.keys(b.fields).length &&
    names.every((n) => {
      const x = a.fields[n]!;
      const y = b.fields[n];
      return y !== undefined && typeName(x.type) === typeName(y.type) && valuesEqual(x.value, y.value);
    });
}

/**
 * Whether two caps say the same, however written: the same structures in
 * the same order, each with the same fields in any order, of the same types
 * and values (`format=GRAY8` is `format=(string)GRAY8`, `framerate=60/2` is
 * `framerate=30/1`), as GStreamer's gst_caps_is_equal finds fixed caps.
 */
export function capsEqual(a: Caps, b: Caps): boolean {
  return a.any === b.any && a.structures.length === b.structures.length &&
    a.structures.every((s, i) => structuresEqual(s, b.structures[i]!));
}

/** The value of a field of the first structure, or undefined. */
export function capsField(caps: Caps, name: string): CapsValue | undefined {
  return caps.structures[0]?.fields[name]?.value;
}
