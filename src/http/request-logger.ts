import type { FastifyBaseLogger } from 'fastify';
import type { Bindings, ChildLoggerOptions } from 'pino';

type Level = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace';

/**
 * A request's logger, made only when it writes a line. Fastify gives every request a child of
 * the server's logger (bound to its request id), and pino builds each child at once: at the
 * server's usual `warn`, that was a tenth of a /healthz answer's CPU for a logger that never
 * writes. A line at an enabled level makes the real child then, with the same bindings, so what
 * is written is exactly what Fastify's own child would have written.
 */
export class RequestLogger implements FastifyBaseLogger {
  #child: FastifyBaseLogger | undefined;

  readonly #parent: FastifyBaseLogger;
  readonly #bindings: Bindings;
  readonly #options: ChildLoggerOptions;

  constructor(parent: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions) {
    this.#parent = parent;
    this.#bindings = bindings;
    this.#options = options;
  }

  #real(): FastifyBaseLogger {
    this.#child ??= this.#parent.child(this.#bindings, this.#options);
    return this.#child;
  }

  #write(level: Level, obj: unknown, msg: string | undefined, args: unknown[]): void {
    // The parent's level decides as pino's child would (a per-route level makes the child at once).
    if (this.#child === undefined && !isEnabled(this.#parent, level)) return;
    this.#real()[level](obj, msg, ...args);
  }

  get level(): string {
    return (this.#child ?? this.#parent).level;
  }

  set level(level: string) {
    this.#real().level = level;
  }

  fatal(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('fatal', obj, msg, args);
  }

  error(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('error', obj, msg, args);
  }

  warn(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('warn', obj, msg, args);
  }

  info(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('info', obj, msg, args);
  }

  debug(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('debug', obj, msg, args);
  }

  trace(obj: unknown, msg?: string, ...args: unknown[]): void {
    this.#write('trace', obj, msg, args);
  }

  silent(): void {}

  child(bindings: Bindings, options?: ChildLoggerOptions): FastifyBaseLogger {
    return this.#real().child(bindings, options);
  }
}

function isEnabled(logger: FastifyBaseLogger, level: Level): boolean {
  // pino's loggers say; a logger without the check (none Mamori makes) is asked every time.
  return !('isLevelEnabled' in logger) || typeof logger.isLevelEnabled !== 'function' || logger.isLevelEnabled(level) === true;
}

/** Fastify's `childLoggerFactory`: a RequestLogger, unless the route sets a level or serializers of its own. */
export function requestLogger(logger: FastifyBaseLogger, bindings: Bindings, options: ChildLoggerOptions): FastifyBaseLogger {
  if (options.level !== undefined || options.serializers !== undefined) return logger.child(bindings, options);
  return new RequestLogger(logger, bindings, options);
}
