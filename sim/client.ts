/**
 * Client side of the control protocol (protocol.ts), for the CLI and the tests.
 */
import * as http from "node:http";

/** The control server answered with an error status, or could not be reached. */
export class ControlError extends Error {
  constructor(readonly status: number | undefined, message: string) {
    super(message);
    this.name = "ControlError";
  }
}

/** One request to the fleet's control socket; resolves with the parsed JSON body (undefined for 204). */
export function controlRequest(socketPath: string, method: "GET" | "POST" | "PUT", urlPath: string, body?: unknown, timeoutMs = 10_000): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = http.request(
      { socketPath, method, path: urlPath, headers: payload ? { "content-type": "application/json", "content-length": Buffer.byteLength(payload) } : {} },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          clearTimeout(timer);
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown;
          try {
            parsed = text ? JSON.parse(text) : undefined;
          } catch {
            parsed = text;
          }
          const status = res.statusCode ?? 0;
          if (status >= 400) {
            const msg = typeof parsed === "object" && parsed !== null && "error" in parsed ? String((parsed as { error: unknown }).error) : text;
            reject(new ControlError(status, `${method} ${urlPath}: ${status} ${msg}`));
          } else resolve(parsed);
        });
      },
    );
    const timer = setTimeout(() => {
      req.destroy();
      reject(new ControlError(undefined, `${method} ${urlPath} on ${socketPath}: no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    req.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new ControlError(undefined, `cannot reach the fleet's control socket ${socketPath}: ${e.code ?? e.message}`));
    });
    req.end(payload);
  });
}
