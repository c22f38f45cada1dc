/** The one source of time. Tests move a TestClock instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch. */
  now(): number;
}

export const systemClock: Clock = { now: () => Date.now() };

/** Wall time plus an offset the tests (or the MAMORI_TEST_CLOCK endpoint) can move. */
export class TestClock implements Clock {
  #offsetMs = 0;
  constructor(private readonly base: Clock = systemClock) {}
  now(): number {
    return this.base.now() + this.#offsetMs;
  }
  advance(ms: number): void {
    this.#offsetMs += ms;
  }
  get offsetMs(): number {
    return this.#offsetMs;
  }
  set offsetMs(ms: number) {
    this.#offsetMs = ms;
  }
}

export const MINUTE = 60_000;
export const HOUR = 60 * MINUTE;
