// Yielding to the event loop in long work on the service's thread (parsing, chunk rows, index
// writes), so that requests waiting meanwhile are served between two slices of the work.

/**
 * Resolves on the next turn of the event loop in which sockets are polled. A timer, not
 * `setImmediate`: measured with 50 ms slices of work, a /healthz request waited up to 570 ms
 * across `setImmediate` yields (the request needs several turns to be read and answered, and
 * the work's next slice ran first) and at most ~120 ms across zero-delay timers.
 */
export const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));
