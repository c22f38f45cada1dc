/** Bad usage: exit 2. */
export class UsageError extends Error {}
/** A refused operation: exit 1 with the message on stderr. */
export class RefusedError extends Error {}
