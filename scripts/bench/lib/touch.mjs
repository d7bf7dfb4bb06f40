// What every Node consumer does with a frame: read one byte per 4 KiB page,
// so every page is really faulted in and read, as a consumer that looks at
// its frames must (otherwise a transport could "win" by never mapping them).
export const PAGE = 4096;

/** Sum of one byte per page (and the last byte); keep the result somewhere. */
export function touch(bytes) {
  let sum = 0;
  for (let i = 0; i < bytes.length; i += PAGE) sum += bytes[i];
  return bytes.length > 0 ? sum + bytes[bytes.length - 1] : sum;
}

/** This process's CPU seconds (user + system) so far. */
export function cpuSeconds() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** Peak resident set of this process in KiB (ru_maxrss = VmHWM). */
export function peakRssKb() {
  return process.resourceUsage().maxRSS;
}

/** CLOCK_MONOTONIC in ns as a number (libuv's hrtime reads CLOCK_MONOTONIC on Linux). */
export function nowNs() {
  return Number(process.hrtime.bigint());
}
