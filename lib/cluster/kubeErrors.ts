/**
 * Errors from the Kubernetes API, carrying the operation, the HTTP status and the server's
 * Status reason and message, with a hint on what to do next.
 */

/** A failed API call. `status` is undefined when no HTTP answer came (network, timeout). */
export class KubeApiError extends Error {
  constructor(
    readonly operation: string,
    readonly status: number | undefined,
    readonly reason: string | undefined,
    readonly serverMessage: string,
    readonly server: string,
    override readonly cause?: unknown,
  ) {
    super(
      `Kubernetes API ${operation} failed` +
        (status === undefined ? "" : ` with HTTP ${status}${reason ? ` ${reason}` : ""}`) +
        `: ${serverMessage}. ${hint(status, server)}`,
    );
    this.name = "KubeApiError";
  }
}

function hint(status: number | undefined, server: string): string {
  if (status === undefined) return `Check that the API server at ${server} is reachable and the kubeconfig's server address and CA are right.`;
  if (status === 401) return "Check the kubeconfig's credentials (token or client certificate).";
  if (status === 403) return "The kubeconfig's user lacks the RBAC permission for this; grant it or use another user.";
  if (status === 429) return "The server asks to retry later.";
  if (status >= 500) return `The API server at ${server} had a problem; retry later.`;
  return "Check the object and the request.";
}

/** The parts of client-node's ApiException we read (its body is the raw response text). */
interface ApiExceptionLike {
  readonly code: number;
  readonly body?: unknown;
}

function isApiException(e: unknown): e is ApiExceptionLike {
  return typeof e === "object" && e !== null && typeof (e as { code?: unknown }).code === "number" && "body" in e;
}

/** The HTTP status of a failed call, if it got one. */
export function httpStatus(e: unknown): number | undefined {
  return isApiException(e) ? e.code : undefined;
}

/** Reason, message and cause messages from the Status body of a failed call. */
export function statusOf(e: unknown): { reason?: string; message: string; causes?: string[] } {
  if (!isApiException(e)) {
    const err = e as { name?: string; message?: string };
    if (err?.name === "AbortError") return { message: "no answer before the request deadline" };
    return { message: err?.message ?? String(e) };
  }
  let body: unknown = e.body;
  if (typeof e.body === "string") {
    const text = e.body;
    try {
      body = JSON.parse(text);
    } catch {
      return { message: text.trim().slice(0, 500) || `HTTP ${e.code}` };
    }
  }
  const s = (typeof body === "object" && body !== null ? body : {}) as {
    reason?: unknown;
    message?: unknown;
    details?: { causes?: ReadonlyArray<{ message?: unknown }> };
  };
  const causes = (Array.isArray(s.details?.causes) ? s.details.causes : [])
    .map((c) => c.message)
    .filter((m): m is string => typeof m === "string" && m !== "");
  return {
    ...(typeof s.reason === "string" ? { reason: s.reason } : {}),
    message: typeof s.message === "string" ? s.message : `HTTP ${e.code}`,
    ...(causes.length === 0 ? {} : { causes }),
  };
}

/** Wraps any failure of `operation` into a KubeApiError. */
export function toKubeApiError(operation: string, server: string, e: unknown): KubeApiError {
  if (e instanceof KubeApiError) return e;
  const { reason, message } = statusOf(e);
  return new KubeApiError(operation, httpStatus(e), reason, message, server, e);
}
