import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Prometheus metrics, one registry per service instance so tests can run several side by side. */
export class Metrics {
  readonly registry = new Registry();
  readonly signIns = new Counter({
    name: 'mamori_sign_ins_total',
    help: 'Sign-in steps by step and result',
    labelNames: ['step', 'result'] as const,
    registers: [this.registry],
  });
  readonly mfaVerifications = new Counter({
    name: 'mamori_mfa_verifications_total',
    help: 'Second-factor verifications by method and result',
    labelNames: ['method', 'result'] as const,
    registers: [this.registry],
  });
  readonly lockouts = new Counter({
    name: 'mamori_lockouts_total',
    help: 'Accounts locked or throttled, by kind',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly httpDuration = new Histogram({
    name: 'mamori_http_request_duration_seconds',
    help: 'HTTP request latency',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  /**
   * The histogram's child for one route and status, made once: prom-client checks and hashes
   * the label values at every `observe(labels, …)`, on the path of every request. There are only
   * as many children as routes × methods × statuses (unmatched URLs share one route label).
   */
  private readonly durationChildren = new Map<string, ReturnType<Histogram<'method' | 'route' | 'status'>['labels']>>();

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    const key = `${method} ${status} ${route}`;
    let child = this.durationChildren.get(key);
    if (child === undefined) {
      child = this.httpDuration.labels({ method, route, status: String(status) });
      this.durationChildren.set(key, child);
    }
    child.observe(seconds);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mamori_' });
  }
}
