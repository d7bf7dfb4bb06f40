// Types of frame-content.mjs, for the TypeScript tests.
export function makeFrame(seed: number, seq: number, min: number, max: number): Uint8Array;
export function makeEdgeFrame(seed: number, seq: number, min: number, max: number, ringSize: number, writePos: number): Uint8Array;
export function fnv1a(h: number, bytes: Uint8Array): number;
export function fnv1aSize(h: number, size: number): number;
