/* zb_test_hooks.h — internal entry points for the test suites only. */
#ifndef ZB_TEST_HOOKS_H
#define ZB_TEST_HOOKS_H

#include "zerobuffer.h"

/* A reader laid over a segment written elsewhere (the golden dumps)
 * continues that stream at `sequence`. */
void zb__reader_expect_sequence(zb_reader *reader, uint64_t sequence);

/* The reader's own mapping of its segment (the fuzz target lays its input
 * over it and checks every pointer the reader hands out against it). */
uint8_t *zb__reader_segment(zb_reader *reader);

/* A reader whose segment was laid over (the golden dumps, the fuzz input)
 * reads on from the payload_read_pos laid there, if within the ring:
 * otherwise it keeps its own and refuses the segment's (ZB_EPROTO). */
void zb__reader_adopt_read_pos(zb_reader *reader);

/* Rings inspected by creates so far in this process: the one being created
 * and each one a full sweep visited (so a test can show that a create's cost
 * does not grow with the rings on the machine). */
uint64_t zb__rings_visited(void);

/* Sets the minimum time between two full sweeps of this user's stale rings
 * (default ZB_SWEEP_INTERVAL_MS; 0: a full sweep at every create); returns
 * the previous value. */
int zb__set_sweep_interval_ms(int ms);

/* Sets how long a range retired by keep_address_range reads zeros before a
 * later reader create or close unmaps it (default ZB_RETIRE_GRACE_MS);
 * returns the previous value. */
int zb__set_retire_grace_ms(int ms);

/* Stands in for vm.overcommit_memory when a keep_address_range reader's
 * range is retired (2: read-only zero pages; 0 or 1: writable ones); -1,
 * the default, reads the sysctl. Returns the previous value. */
int zb__set_overcommit_mode(int mode);

/* The writer's early wrap (zb_ring.h) for every frame, or for none; by
 * default it is for frames of ZB_WRAP_EARLY_FROM bytes and more. */
void zb__writer_set_wrap_early(zb_writer *writer, bool on);

/* Calls hook(arg) each time a reserve of the writer is about to sleep in
 * its wait for room, the writer's lock released (a test knows the waits
 * in progress); NULL: no more. */
void zb__writer_before_wait(zb_writer *writer, void (*hook)(void *),
                            void *arg);

/* The sequence number the writer's next published frame carries (a faulty
 * duplex server, test/peer/zb-duplex-server: a response out of turn). */
void zb__writer_set_next_sequence(zb_writer *writer, uint64_t sequence);

/* Calls hook(arg) once, in the reader's next look, between its loads of
 * metadata_written_bytes and writer_pid (a writer that leaves between the
 * two: the metadata note of docs/PROTOCOL.md §9.5). */
void zb__reader_between_loads(zb_reader *reader, void (*hook)(void *),
                              void *arg);

/* Calls hook(arg) once, when the reader next puts back room a peer writer
 * lost (repair_lost_room, repair_at_end): after its load of the free bytes
 * and its checks, before its compare-and-swap, with pending_lock held (a
 * release on another thread meanwhile waits for the swap). */
void zb__reader_before_room_swap(zb_reader *reader, void (*hook)(void *),
                                 void *arg);

#endif /* ZB_TEST_HOOKS_H */
