// The wall clock: one per process, built in src/deps.ts and handed to every feature that reads the
// time it stores or compares with stored times; tests pin it.
export type Clock = {
  /** Milliseconds since the epoch. */
  now(): number;
};

export const systemClock: Clock = { now: () => Date.now() };
