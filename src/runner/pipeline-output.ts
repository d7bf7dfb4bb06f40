// What gst-launch prints, read for the runner: when the pipeline plays, and
// gst-launch's own words when it fails (kept for the error message).

/** gst-launch printed this when the pipeline reached PLAYING. */
export function isPlayingLine(line: string): boolean {
  return line.startsWith('Setting pipeline to PLAYING');
}

/** gst-launch refused the description itself (it never ran). */
export function isRejection(line: string): boolean {
  return /^WARNING: erroneous pipeline/.test(line) || /^ERROR: pipeline could not be constructed/.test(line);
}

/** Keeps the last lines printed, and the error lines among them. */
export class OutputTail {
  readonly #limit: number;
  #lines: string[] = [];
  #errors: string[] = [];
  #debugNext = false;
  rejected = false;

  constructor(limit = 60) {
    this.#limit = limit;
  }

  add(line: string): void {
    this.#lines.push(line);
    if (this.#lines.length > this.#limit) this.#lines.shift();
    if (isRejection(line)) this.rejected = true;
    if (this.#debugNext) {
      this.#errors.push(`  ${line.trim()}`);
      this.#debugNext = false;
    } else if (/^(ERROR|WARNING: erroneous|setpriv:)/.test(line)) {
      this.#errors.push(line);
    } else if (line.startsWith('Additional debug info:') && this.#errors.length > 0) {
      this.#debugNext = true;
    }
    if (this.#errors.length > 12) this.#errors.shift();
  }

  /** The error lines gst-launch printed (empty when none). */
  get errors(): string {
    return this.#errors.join('\n');
  }

  get text(): string {
    return this.#lines.join('\n');
  }

  reset(): void {
    this.#lines = [];
    this.#errors = [];
    this.#debugNext = false;
    this.rejected = false;
  }
}
