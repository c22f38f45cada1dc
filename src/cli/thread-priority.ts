import { pbkdf2 } from 'node:crypto';
import { readdirSync } from 'node:fs';
import os from 'node:os';

/**
 * The nice value of every thread of the server but its main one (libuv's pool, which runs the
 * argon2id hashes, and V8's helpers). The main thread runs the event loop, which answers every
 * request. At equal priority, while two hashes held both cores, the scheduler gave the event loop
 * a third of the machine: a TOTP step beside a load of password checks that kept both hashing
 * slots busy took twice its idle time (p50 11–12 ms against 5 on a slow host, p99 25 ms). At
 * nice 10 the event loop gets a core whenever it has work and the hashes take the rest, which is
 * nearly all of it: the step's p50 fell to 6.0–6.4 ms and its p99 to 16–18 ms, and the password
 * checks per second beside it did not change (interleaved runs, bench/ scratch scripts).
 */
export const HELPER_THREAD_NICE = 10;

/**
 * Lowers the priority of the process's other threads, once they exist; answers how many it
 * lowered. Linux only: there each thread is a task of its own, setpriority takes its id, and a
 * thread inherits the value of the thread that makes it, so threads made later (libuv makes its
 * whole pool at its first job, V8 its helpers at start) run at the main thread's. Elsewhere
 * setpriority would take the id for a process's, so nothing is done.
 */
export async function lowerHelperThreads(nice = HELPER_THREAD_NICE): Promise<number> {
  if (process.platform !== 'linux') return 0;
  // The pool is made at its first job: a job of no cost makes sure its threads are there.
  await new Promise<void>((resolve, reject) => pbkdf2('', '', 1, 1, 'sha256', (err) => (err ? reject(err) : resolve())));
  let lowered = 0;
  for (const task of readdirSync('/proc/self/task')) {
    const tid = Number(task);
    if (tid === process.pid) continue;
    try {
      os.setPriority(tid, nice);
      lowered++;
    } catch {
      // The thread ended between the listing and the call.
    }
  }
  return lowered;
}
