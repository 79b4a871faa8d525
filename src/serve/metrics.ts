// The service's Prometheus metrics, in a registry of its own (so several servers in one process,
// as in tests, count apart): requests, errors, latency, batch sizes and times, whether a batch is
// in the model, queue depth, and the process's own (memory, CPU, event-loop lag) from prom-client.
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

export class ServiceMetrics {
  readonly registry = new Registry();
  readonly requests = new Counter({ name: 'mdprop_http_requests_total', help: 'HTTP requests answered, by route and status', labelNames: ['method', 'route', 'status'] as const, registers: [this.registry] });
  readonly errors = new Counter({ name: 'mdprop_http_errors_total', help: 'HTTP requests answered with a 4xx or 5xx status, by route and status', labelNames: ['route', 'status'] as const, registers: [this.registry] });
  readonly latency = new Histogram({
    name: 'mdprop_http_request_duration_seconds',
    help: 'Time from receiving a request to sending its answer, by route',
    labelNames: ['route'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly batchSize = new Histogram({ name: 'mdprop_batch_size', help: 'Images per forward pass of the model', buckets: [1, 2, 4, 8, 16, 32, 64, 128], registers: [this.registry] });
  readonly inferenceRunning = new Gauge({ name: 'mdprop_inference_running', help: 'Batches in the model now (0 or 1)', registers: [this.registry] });
  readonly inferenceSeconds = new Histogram({
    name: 'mdprop_inference_duration_seconds',
    help: "Time of one batch in the model: its forward pass and search, the worker's messages included",
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly workerRestarts = new Counter({ name: 'mdprop_inference_worker_restarts_total', help: 'Inference workers started again after one stopped', registers: [this.registry] });
  readonly queueDepth: Gauge;

  constructor(depth: () => number) {
    this.queueDepth = new Gauge({
      name: 'mdprop_queue_depth',
      help: 'Requests waiting for a batch',
      registers: [this.registry],
      collect() {
        this.set(depth());
      },
    });
    collectDefaultMetrics({ register: this.registry });
  }

  observe(method: string, route: string, status: number, seconds: number): void {
    this.requests.inc({ method, route, status: String(status) });
    if (status >= 400) this.errors.inc({ route, status: String(status) });
    this.latency.observe({ route }, seconds);
  }
}
