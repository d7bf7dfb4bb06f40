// signal-guard.h — unlinks the rings of readers off the main thread when a
// signal ends the process. No Node-API include here.
#ifndef ZEROBUFFER_ADDON_SIGNAL_GUARD_H
#define ZEROBUFFER_ADDON_SIGNAL_GUARD_H

#include <vector>

namespace zbnode {

// Only the main thread hears signals in JS (src/cleanup.ts), and a process
// whose main thread never loaded zerobuffer, or has no ring of its own,
// does not listen at all: a signal would end it with its workers' rings
// still in /dev/shm. While a reader of a worker is open, one thread of the
// process (its own libuv loop) holds the signals JS passed, as SignalHold
// does: the process's handler stays installed. When one arrives it looks
// whether anyone else hears it (a libuv handle of any loop: a JS listener
// of the main thread, SignalHold); if someone does, what happens is theirs
// to decide (src/cleanup.ts unlinks every ring before the process ends). If
// no one does, the signal's default action would have ended the process:
// the guard unlinks every open ring of the process (ReaderSession::UnlinkAll:
// their memory stays for the threads still reading it) and raises the
// signal again, which then ends the process as it would have.
class SignalGuard {
 public:
  // One reader more: the guard runs (started with these signals when it was
  // not) and holds them when this returns. False when it cannot (no loop).
  static bool Acquire(const std::vector<int> &signals);
  // One reader fewer: the last stops the guard and joins its thread.
  static void Release();
};

}  // namespace zbnode

#endif
