// Children that never outlive us: each runs in its own process group
// (killed as a whole), under `setpriv --pdeathsig` where util-linux has it
// (the kernel sends the signal when we die, even by SIGKILL), and every
// group still running is killed when this process exits. The death signal
// is the only one such a child gets, nobody follows it up: SIGTERM (the
// default) ends anything that does not catch it; SIGINT lets a command that
// owns a ring clean up as on Ctrl-C (gst-launch dies of SIGTERM with its
// zerosrc ring left behind) but a gst-launch -e would wait for an EOS that a
// stuck source may never give. A child that gets SIGINT also ignores
// SIGPIPE (as Node and Python do): its stdout may be a pipe to us, read by
// nobody once we are dead, and gst-launch's "handling interrupt." into it
// killed it before its cleanup (one time in four).
import { execa, type Options, type ResultPromise } from 'execa';
import fs from 'node:fs';
import path from 'node:path';

const groups = new Set<number>();
let installed = false;
let setpriv: string | null | undefined;

function killAll(): void {
  for (const pid of groups) killGroup(pid, 'SIGKILL');
  groups.clear();
}

/** setpriv's path, or null when there is none on PATH. */
export function findSetpriv(): string | null {
  if (setpriv !== undefined) return setpriv;
  setpriv = null;
  for (const dir of (process.env['PATH'] ?? '/usr/bin:/bin').split(path.delimiter)) {
    const candidate = path.join(dir || '.', 'setpriv');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      setpriv = candidate;
      break;
    } catch {
      // not here
    }
  }
  return setpriv;
}

/** Sends signal to the process group led by pid; false when it is gone. */
export function killGroup(pid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Stops the process group led by pid as Ctrl-C in its terminal would: SIGINT
 * now (gst-launch -e sends EOS, and without -e still stops its pipeline, so
 * zerosrc removes its ring; Python raises KeyboardInterrupt; SIGTERM would
 * kill either without cleanup), then each later signal of `then` at its time
 * (ms from now) for a group that ignores or outlasts it. Returns what cancels
 * the signals still to come: call it once the leader has exited.
 */
export function interruptGroup(pid: number, then: ReadonlyArray<readonly [NodeJS.Signals, number]>): () => void {
  killGroup(pid, 'SIGINT');
  const timers = then.map(([signal, afterMs]) => setTimeout(() => killGroup(pid, signal), afterMs));
  return () => timers.forEach(clearTimeout);
}

export type GuardedOptions = Omit<Options, 'detached' | 'cleanup' | 'shell'>;

export interface GuardOptions {
  /** What the child gets when we die without running exit handlers (with setpriv). @default 'SIGTERM' */
  deathSignal?: 'SIGTERM' | 'SIGINT';
  /**
   * Run it with SIGPIPE ignored (set by sh, kept across exec, and inherited
   * by its children, whose shells cannot undo it): for a gst-launch given
   * SIGINT at our death, which prints into its stdout, a pipe to us, on its
   * way out and would die of SIGPIPE before its cleanup.
   */
  ignoreSigpipe?: boolean;
}

/**
 * Starts file with args in a new process group (no shell parses them); the
 * group is killed if we exit first. With setpriv, the child also gets
 * guard.deathSignal when we die without running exit handlers.
 */
export function spawnGuarded(
  file: string,
  args: readonly string[],
  options: GuardedOptions = {},
  guard: GuardOptions = {},
): ResultPromise {
  if (!installed) {
    process.on('exit', killAll);
    installed = true;
  }
  const wrapper = findSetpriv();
  const deathSignal = guard.deathSignal ?? 'SIGTERM';
  const guarded = wrapper === null ? null : [wrapper, '--pdeathsig', deathSignal.slice(3), '--', file, ...args];
  const [cmd, argv] =
    guarded === null
      ? [file, args]
      : guard.ignoreSigpipe === true
        ? ['/bin/sh', ['-c', 'trap "" PIPE; exec "$0" "$@"', ...guarded]]
        : [guarded[0]!, guarded.slice(1)];
  const child = execa(cmd, argv, { ...options, detached: true, cleanup: false, shell: false } as Options);
  const pid = child.pid;
  if (pid !== undefined) {
    groups.add(pid);
    // The group may hold grandchildren: kill what is left once the leader is gone.
    child.once('exit', () => {
      killGroup(pid, 'SIGKILL');
      groups.delete(pid);
    });
  }
  return child;
}
