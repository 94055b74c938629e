/**
 * What a command run in a simulated pod answers (`kubectl exec`): the simulated pods run no
 * processes, so the fleet's exec answers file says what a command prints and how it exits,
 * e.g. that `ceph status` in rook-ceph's toolbox prints HEALTH_OK. A command with no answer is
 * reported as the container runtime reports a program that is not in the image. The answers
 * file is read at every exec, so a test or a user can change the answer while the fleet runs.
 * Pure apart from readExecAnswers.
 */
import * as fs from "node:fs";

/**
 * The answers file in the fleet's state folder: a JSON list of ExecAnswer. It is the user's
 * and stays when a fleet starts or stops.
 */
export const EXEC_ANSWERS_FILE = "exec-answers.json";

/** One configured answer. Unset fields match anything. */
export interface ExecAnswer {
  readonly namespace?: string;
  /** A pod whose name is this or starts with it (a Deployment's pods carry suffixes). */
  readonly pod?: string;
  readonly container?: string;
  /** The command's words joined by single spaces, e.g. "ceph status". */
  readonly command: string;
  readonly stdout?: string;
  readonly stderr?: string;
  /** 0 when unset. */
  readonly exitCode?: number;
}

/** What an exec request names. */
export interface ExecRequest {
  readonly namespace: string;
  readonly pod: string;
  readonly container: string;
  readonly command: readonly string[];
}

/** How a command ended: it ran (with its output and exit code), or it could not start. */
export type ExecOutcome =
  | { readonly kind: "ran"; readonly stdout: string; readonly stderr: string; readonly exitCode: number }
  | { readonly kind: "cannot-start"; readonly message: string };

/** The answer to `r`: the first matching entry, else the runtime's "not found" for its program. */
export function execOutcome(answers: readonly ExecAnswer[], r: ExecRequest): ExecOutcome {
  const command = r.command.join(" ");
  const a = answers.find(
    (x) =>
      x.command === command &&
      (x.namespace === undefined || x.namespace === r.namespace) &&
      (x.pod === undefined || r.pod === x.pod || r.pod.startsWith(`${x.pod}-`)) &&
      (x.container === undefined || x.container === r.container),
  );
  if (a !== undefined) return { kind: "ran", stdout: a.stdout ?? "", stderr: a.stderr ?? "", exitCode: a.exitCode ?? 0 };
  const program = r.command[0] ?? "";
  return {
    kind: "cannot-start",
    message:
      `error executing command in container: failed to exec in container: failed to start exec: OCI runtime exec failed: exec failed: ` +
      `unable to start container process: exec: ${JSON.stringify(program)}: executable file not found in $PATH: unknown`,
  };
}

/** The metav1.Status a kubelet sends on the error channel when the command ended. */
export function execStatus(o: ExecOutcome, command: readonly string[]): Record<string, unknown> {
  if (o.kind === "cannot-start") return { metadata: {}, status: "Failure", message: o.message, reason: "InternalError", code: 500 };
  if (o.exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${o.exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(o.exitCode) }] },
  };
}

/** Parses an answers file's text; throws naming the entry that is wrong. */
export function parseExecAnswers(text: string, file: string): ExecAnswer[] {
  const data: unknown = JSON.parse(text);
  if (!Array.isArray(data)) throw new Error(`${file}: expected a JSON list of exec answers`);
  return data.map((e: unknown, i) => {
    const x = e as Record<string, unknown> | null;
    const str = (k: string) => x?.[k] === undefined || typeof x[k] === "string";
    if (x === null || typeof x !== "object" || typeof x.command !== "string" || !["namespace", "pod", "container", "stdout", "stderr"].every(str)) {
      throw new Error(`${file}[${i}]: an exec answer needs "command" (a string) and optional string namespace, pod, container, stdout, stderr`);
    }
    if (x.exitCode !== undefined && !(Number.isInteger(x.exitCode) && (x.exitCode as number) >= 0 && (x.exitCode as number) < 256)) {
      throw new Error(`${file}[${i}].exitCode: expected an integer from 0 to 255`);
    }
    return x as unknown as ExecAnswer;
  });
}

/** The answers in `file`; none when it does not exist. */
export function readExecAnswers(file: string): ExecAnswer[] {
  let text: string;
  try {
    text = fs.readFileSync(file, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw e;
  }
  return parseExecAnswers(text, file);
}
