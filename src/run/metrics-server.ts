/**
 * `run --metrics-port`: the run's live metrics (src/load/metrics.ts) over HTTP for Prometheus to scrape, at
 * /metrics in the Prometheus text format (prom-client's). Bound to 127.0.0.1 unless --metrics-host says otherwise
 * (a pod scraped by its cluster's Prometheus: 0.0.0.0). Started before anything connects: a port that is taken
 * is refused at once, with nothing measured.
 */
import { createServer, type Server } from 'node:http';
import { DowntimeError, ExitCode } from '../errors.js';
import { RunMetrics } from '../load/metrics.js';

export interface MetricsServer {
  metrics: RunMetrics;
  /** Where it listens, e.g. http://127.0.0.1:9464/metrics. */
  url: string;
  close(): Promise<void>;
}

export async function startMetricsServer(host: string, port: number): Promise<MetricsServer> {
  const metrics = new RunMetrics();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('downtime serves /metrics only\n');
      return;
    }
    metrics.registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${String(err)}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? `port ${port} on ${host} is taken; choose another --metrics-port`
          : err.code === 'EADDRNOTAVAIL'
            ? `${host} is no address of this machine; fix --metrics-host`
            : `${err.code ?? err.message}; check --metrics-host and --metrics-port`;
      reject(new DowntimeError(`cannot serve metrics: ${why}`, ExitCode.Usage));
    });
    server.listen(port, host, () => resolve());
  });
  // Scrapes keep no connection open past the run's end.
  server.keepAliveTimeout = 1000;
  const shownHost = host.includes(':') ? `[${host}]` : host;
  return {
    metrics,
    url: `http://${shownHost}:${port}/metrics`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
