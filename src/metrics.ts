import { Counter, Registry, collectDefaultMetrics } from 'prom-client';
import { LatencyHistogram } from './latency-histogram.js';

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
  readonly httpDuration = new LatencyHistogram({
    name: 'mamori_http_request_duration_seconds',
    help: 'HTTP request latency',
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  observeHttp(method: string, route: string, status: number, seconds: number): void {
    this.httpDuration.record(method, route, status, seconds);
  }

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'mamori_' });
  }
}
