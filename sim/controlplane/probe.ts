/**
 * Readiness probes of the control plane over HTTPS with our CA and a client certificate, and
 * the wait that polls them under one deadline. A wait gives up at once when a component has
 * exited, quoting its log, instead of running into its deadline.
 */
import * as https from "node:https";
import { messageOf, sleep } from "../proc";

/** What a client trusts and who it is. */
export interface TlsClient {
  readonly ca: string;
  readonly cert: string;
  readonly key: string;
}

/** An HTTP answer, body as text. */
export interface Answer {
  readonly status: number;
  readonly body: string;
}

/** GET `url`; rejects on a connection error or after `timeoutMs`. */
export function httpsGet(url: string, tls: TlsClient, timeoutMs: number): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca: tls.ca, cert: tls.cert, key: tls.key, timeout: timeoutMs, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on("data", (c: Buffer) => chunks.push(c));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
      res.on("error", reject);
    });
    req.on("timeout", () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on("error", reject);
  });
}

/** One probe: undefined when satisfied, else what it saw instead (for the timeout message). */
export type Probe = () => Promise<string | undefined>;

/** A probe that GETs `url` and is satisfied by a 200 whose body passes `ok` (any body by default). */
export function httpProbe(url: string, tls: TlsClient, timeoutMs: number, ok: (body: string) => boolean = () => true): Probe {
  return async () => {
    try {
      const a = await httpsGet(url, tls, timeoutMs);
      if (a.status === 200 && ok(a.body)) return undefined;
      return `HTTP ${a.status}: ${a.body.trim().split("\n").slice(-6).join(" | ").slice(0, 600)}`;
    } catch (e) {
      return messageOf(e);
    }
  };
}

/** Why waiting makes no sense any more (a component exited), or undefined. */
export type Abort = () => string | undefined;

/**
 * Polls `probe` every `pollMs` until it is satisfied; rejects with "timed out ... waiting for
 * <what> (last: ...)" at `deadline`, or with the abort reason as soon as there is one.
 */
export async function waitUntil(what: string, probe: Probe, deadline: number, abort: Abort, pollMs: number, startedAt: number): Promise<void> {
  let last = "not asked yet";
  for (;;) {
    const stop = abort();
    if (stop !== undefined) throw new Error(`${stop} while waiting for ${what}`);
    const seen = await probe();
    if (seen === undefined) return;
    last = seen;
    if (Date.now() >= deadline) {
      throw new Error(`timed out after ${Date.now() - startedAt} ms waiting for ${what} (last: ${last})`);
    }
    await sleep(Math.min(pollMs, Math.max(1, deadline - Date.now())));
  }
}
