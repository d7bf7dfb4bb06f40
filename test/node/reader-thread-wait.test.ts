// reader.test.ts once more with every read sleeping on the reader's wait
// thread (ZEROBUFFER_NO_URING=1), the fallback where io_uring is refused;
// reader.test.ts itself runs on the event-loop path where the kernel has it.
process.env.ZEROBUFFER_NO_URING = '1';
await import('./reader.test.js');
