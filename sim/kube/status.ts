/**
 * meta/v1 Status objects, the way the API server reports every failure (and a few successes).
 */

/** One entry of Status.details.causes (`reason` is the Go field Type). */
export interface StatusCause {
  readonly reason?: string;
  readonly message: string;
  readonly field?: string;
}

interface StatusDetails {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly StatusCause[];
}

/** A Status with code and reason; thrown by handlers, rendered by the server. */
export class ApiError extends Error {
  constructor(
    readonly code: number,
    readonly reason: string,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = "ApiError";
  }

  toStatus(): Record<string, unknown> {
    return {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: this.message,
      reason: this.reason,
      ...(this.details === undefined ? {} : { details: this.details }),
      code: this.code,
    };
  }

  static notFound(resource: string, name: string, group?: string): ApiError {
    const qualified = group === undefined || group === "" ? resource : `${resource}.${group}`;
    return new ApiError(404, "NotFound", `${qualified} "${name}" not found`, {
      name,
      ...(group === undefined || group === "" ? {} : { group }),
      kind: resource,
    });
  }

  static noRoute(): ApiError {
    return new ApiError(404, "NotFound", "the server could not find the requested resource", {});
  }

  static badRequest(message: string): ApiError {
    return new ApiError(400, "BadRequest", message);
  }

  static unauthorized(): ApiError {
    return new ApiError(401, "Unauthorized", "Unauthorized");
  }

  static methodNotAllowed(message = "the server does not allow this method on the requested resource"): ApiError {
    return new ApiError(405, "MethodNotAllowed", message, {});
  }

  static conflict(resource: string, name: string, why: string): ApiError {
    return new ApiError(409, "Conflict", `Operation cannot be fulfilled on ${resource} "${name}": ${why}`, { name, kind: resource });
  }

  static alreadyExists(resource: string, name: string): ApiError {
    return new ApiError(409, "AlreadyExists", `${resource} "${name}" already exists`, { name, kind: resource });
  }

  static unsupportedMediaType(contentType: string, accepted: readonly string[]): ApiError {
    return new ApiError(
      415,
      "UnsupportedMediaType",
      `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
      { causes: [{ reason: "UnsupportedMediaType", message: contentType }] },
    );
  }

  static invalid(resource: string, name: string, message: string): ApiError {
    return new ApiError(422, "Invalid", `${resource} "${name}" is invalid: ${message}`, { name, kind: resource });
  }

  static tooManyRequests(message: string, causes: readonly StatusCause[]): ApiError {
    return new ApiError(429, "TooManyRequests", message, { causes });
  }

  static internal(message: string): ApiError {
    return new ApiError(500, "InternalError", `Internal error occurred: ${message}`, { causes: [{ message }] });
  }
}

/** The Status a successful deletion or eviction answers with. */
export function successStatus(code: number, details?: StatusDetails): Record<string, unknown> {
  return {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Success",
    ...(details === undefined ? {} : { details }),
    code,
  };
}
