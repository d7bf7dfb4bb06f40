// Types of frame-content.mjs, for the TypeScript tests.
export function makeFrame(seed: number, seq: number, min: number, max: number): Uint8Array;
export function fnv1a(h: number, bytes: Uint8Array): number;
