import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { Subscription } from 'rxjs';
import type { ErrorSummary } from './recentErrors';
import type { PoolStats } from './stats';

/** What `GET /stats` answers: the pool's {@link PoolStats} and its recent errors. */
export interface InspectStats extends PoolStats {
  /** Errors reported in the last minute, and the last one. */
  readonly errors: ErrorSummary;
}

/** What the inspect server reads of its pool's monitor. */
export interface InspectSource {
  readonly name: string;
  /** The figures now, as `/stats` serves them. */
  stats(): InspectStats;
  /** The Prometheus text of the figures now, as `/metrics` serves it. */
  metrics(): string;
  /** Keeps the workers' own figures fresh while the subscription lasts. */
  keepSampled(): Subscription;
}

/**
 * The `inspect` option: an HTTP server on loopback that answers `GET /stats` with
 * {@link InspectStats} as JSON and `GET /metrics` with the Prometheus text of the pool's
 * figures. While it runs, the workers are measured every `statsInterval` ms. Its socket is
 * unref'd: it never keeps the process alive.
 */
export class InspectServer {
  private readonly server: Server;
  /** `http://host:port`, once listening; rejects if the port cannot be had. */
  readonly url: Promise<string>;
  /** Keeps the workers' own figures sampled while the server runs. */
  private readonly sampling: Subscription;

  constructor(
    private readonly source: InspectSource,
    options: { readonly port: number; readonly host: string },
  ) {
    this.sampling = source.keepSampled();
    this.server = createServer((request, response) => this.answer(request, response));
    this.url = new Promise<string>((resolve, reject) => {
      this.server.once('error', (error) => {
        process.emitWarning(`looppool: the inspect server of pool '${source.name}' cannot listen on ${options.host}:${options.port}: ${error.message}`);
        reject(error);
      });
      this.server.listen(options.port, options.host, () => {
        const address = this.server.address();
        const port = typeof address === 'object' && address ? address.port : options.port;
        resolve(`http://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`);
      });
    });
    this.url.catch(() => {}); // said in the warning; `await pool.inspectUrl` rejects with it
    this.server.unref();
  }

  /** Stops listening and ends every open connection. */
  close(): Promise<void> {
    this.sampling.unsubscribe();
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const path = (request.url ?? '/').split('?')[0];
    if (request.method !== 'GET' && request.method !== 'HEAD') return this.send(response, 405, 'text/plain', 'Only GET is served\n');
    if (path === '/stats') return this.send(response, 200, 'application/json', JSON.stringify(this.source.stats()));
    if (path === '/metrics') return this.send(response, 200, 'text/plain; version=0.0.4; charset=utf-8', this.source.metrics());
    this.send(response, 404, 'text/plain', 'Not found: GET /stats (JSON) or /metrics (Prometheus text)\n');
  }

  private send(response: ServerResponse, status: number, type: string, body: string): void {
    response.writeHead(status, { 'content-type': type, 'cache-control': 'no-store' });
    response.end(body);
  }
}
