#!/usr/bin/env node
// The `zerobuffer` command (see main.ts; `zerobuffer --help`).
// SIGINT/SIGTERM/SIGHUP stop the command gracefully (status 0). They are
// listened for before main.js loads: its imports (yargs, execa, the addon)
// take about half a second, and a Ctrl-C in them must stop the command as a
// later one does, not kill the process. The same listener serves the whole
// run, so no signal falls between two of them or reaches two.
const STOP_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP'] as const;
const stop = new AbortController();
const onStop = (): void => stop.abort();
for (const s of STOP_SIGNALS) process.on(s, onStop);

const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2), stop.signal);
// The command is over: a signal now has its default effect again, and
// signal-exit (cleanup.ts), alone to listen, closes what is still open.
for (const s of STOP_SIGNALS) process.off(s, onStop);
// A filter's script may have left timers, sockets or workers running, which
// would keep the process for ever: it ends once its output is written.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((done) => stream.write('', done))));
process.exit();
