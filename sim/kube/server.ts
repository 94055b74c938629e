/**
 * The HTTPS front of the simulated API server: bearer-token authentication, body reading and
 * JSON decoding, Status answers for every failure, and a clean shutdown.
 */
import { timingSafeEqual } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import * as https from "node:https";
import type { AddressInfo } from "node:net";
import { SIM_KUBE_DEFAULTS } from "./constants";
import { type KubeRequest, type KubeResponse, type RouteContext, route } from "./router";
import { ApiError } from "./status";
import type { ServingCredentials } from "./tls";

/** How startServer listens and whom it asks to route. */
export interface ServerOptions {
  readonly creds: ServingCredentials;
  readonly host: string;
  readonly port: number;
  /** The route context; serverAddress is filled in once the port is known. */
  readonly context: (serverAddress: string) => RouteContext;
  /** Called with a one-line summary of every request (for snapshot()). */
  readonly log: (line: string) => void;
}

function tokenMatches(header: string | undefined, token: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? "");
  if (m === null) return false;
  const a = Buffer.from(m[1].trim());
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size > SIM_KUBE_DEFAULTS.maxBodyBytes) {
        reject(new ApiError(413, "RequestEntityTooLarge", "Request entity too large: limit is 3145728"));
        req.destroy();
      } else {
        chunks.push(c);
      }
    });
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

function send(res: ServerResponse, r: KubeResponse): void {
  const text = r.text === true ? String(r.body) : JSON.stringify(r.body);
  res.writeHead(r.status, {
    "Content-Type": r.text === true ? "text/plain; charset=utf-8" : "application/json",
    "Content-Length": Buffer.byteLength(text),
    "Cache-Control": "no-cache, private",
  });
  res.end(text);
}

async function handle(ctx: RouteContext, token: string, req: IncomingMessage, log: (l: string) => void): Promise<KubeResponse> {
  const url = new URL(req.url ?? "/", "https://sim.invalid");
  const started = Date.now();
  let result: KubeResponse;
  try {
    if (!tokenMatches(req.headers.authorization, token)) throw ApiError.unauthorized();
    const raw = await readBody(req);
    const contentType = (req.headers["content-type"] ?? "").split(";")[0].trim().toLowerCase();
    let body: unknown;
    if (raw.length > 0) {
      try {
        body = JSON.parse(raw.toString("utf8"));
      } catch (e) {
        throw ApiError.badRequest(`error decoding request body: ${(e as Error).message}`);
      }
    }
    const kreq: KubeRequest = {
      method: (req.method ?? "GET").toUpperCase(),
      path: url.pathname,
      query: url.searchParams,
      accept: req.headers.accept ?? "application/json",
      contentType,
      body,
    };
    result = route(ctx, kreq);
  } catch (e) {
    const err = e instanceof ApiError ? e : ApiError.internal((e as Error).message ?? String(e));
    result = { status: err.code, body: err.toStatus() };
  }
  log(`${req.method ?? "?"} ${url.pathname}${url.search} ${result.status} ${Date.now() - started}ms`);
  return result;
}

/** A listening server; close() ends keep-alive connections too. */
export interface RunningServer {
  readonly url: string;
  close(): Promise<void>;
}

/** Listens with TLS on host:port (0 = any) and serves the API. */
export function startServer(opts: ServerOptions): Promise<RunningServer> {
  return new Promise((resolve, reject) => {
    let ctx: RouteContext | undefined;
    const server = https.createServer({ key: opts.creds.keyPem, cert: opts.creds.certPem }, (req, res) => {
      if (ctx === undefined) {
        send(res, { status: 503, body: new ApiError(503, "ServiceUnavailable", "starting").toStatus() });
        return;
      }
      handle(ctx, opts.creds.token, req, opts.log).then(
        (r) => send(res, r),
        (e: unknown) => send(res, { status: 500, body: ApiError.internal(String(e)).toStatus() }),
      );
    });
    server.keepAliveTimeout = 5000;
    server.once("error", (e) =>
      reject(new Error(`simulated Kubernetes: cannot listen on ${opts.host}:${opts.port}: ${e.message}`)),
    );
    server.listen(opts.port, opts.host, () => {
      const addr = server.address() as AddressInfo;
      const hostPart = addr.family === "IPv6" ? `[${addr.address}]` : addr.address;
      ctx = opts.context(`${hostPart}:${addr.port}`);
      resolve({
        url: `https://${hostPart}:${addr.port}`,
        close: () =>
          new Promise<void>((done) => {
            server.close(() => done());
            server.closeAllConnections();
          }),
      });
    });
  });
}
