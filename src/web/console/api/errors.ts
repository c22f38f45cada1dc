/** The problem+json document of a refused request (only the parts the console reads). */
export interface Problem {
  code?: string;
  title?: string;
  detail?: string;
  reason?: string;
  retryAfter?: number;
  [field: string]: unknown;
}

/** A request the server refused, or one that never reached it (`status` 0, code `network_error`). */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly code: string | null;
  /** Seconds until another try may pass (Retry-After), when the server said. */
  readonly retryAfter: number | null;

  constructor(status: number, problem: Problem, retryAfter: number | null) {
    super(problem.title ?? `HTTP ${status}`);
    this.name = 'ApiError';
    this.status = status;
    this.problem = problem;
    this.code = typeof problem.code === 'string' ? problem.code : null;
    this.retryAfter = retryAfter;
  }
}

/** The user closed a dialog an action was waiting for: shown as nothing. */
export class Cancelled extends Error {
  override readonly name = 'Cancelled';
}

/** A refusal of the console's own, already in the user's words ("the passwords do not match"). */
export class LocalError extends Error {
  override readonly name = 'LocalError';
}
