/** Time as a dependency: services ask the clock they were given, so tests can set it. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }
