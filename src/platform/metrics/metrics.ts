import { Counter, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/** Warden's Prometheus metrics, one registry per process (tests build several apps in one process). */
export class WardenMetrics {
  readonly registry = new Registry();
  readonly httpRequests = new Histogram({
    name: 'warden_http_request_duration_seconds',
    help: 'HTTP request duration by method, route and status',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 10],
    registers: [this.registry],
  });
  readonly auditEnqueued = new Counter({
    name: 'warden_audit_events_enqueued_total',
    help: 'Audit events accepted by this process and put on the queue',
    registers: [this.registry],
  });
  readonly auditCommitted = new Counter({
    name: 'warden_audit_events_committed_total',
    help: 'Audit events committed to the chain by this worker',
    registers: [this.registry],
  });
  readonly auditBatchSize = new Histogram({
    name: 'warden_audit_batch_size',
    help: 'Events per audit commit',
    buckets: [1, 5, 10, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  /** Metric families rendered as exposition text by their owner (many series: prom-client's per-series work is the cost). */
  private readonly texts: Array<() => Promise<string>> = [];

  constructor() {
    collectDefaultMetrics({ register: this.registry, prefix: 'warden_' });
  }

  addText(render: () => Promise<string>): void {
    this.texts.push(render);
  }

  /** The registry's metrics, then the families rendered by their owners. */
  async scrape(): Promise<string> {
    const [own, ...more] = await Promise.all([this.registry.metrics(), ...this.texts.map((t) => t())]);
    return own + more.join('');
  }
}
