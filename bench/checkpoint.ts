/**
 * What a stack's checkpoint (`pulumi stack export`) holds per host: the bytes of each host's
 * resources, split into their inputs, their outputs and the serialized provider text the
 * outputs carry. Pure.
 */

/** Bytes of one resource type's part of the checkpoint, per host. */
export interface TypeBytes {
  readonly type: string;
  readonly resources: number;
  /** Each resource as the checkpoint holds it, on average. */
  readonly perResource: number;
  readonly inputs: number;
  readonly outputs: number;
  /** The `__provider` text among the outputs (also among the inputs). */
  readonly provider: number;
}

export interface CheckpointFigures {
  /** The whole export. */
  readonly totalBytes: number;
  readonly hosts: number;
  /** The whole export over the hosts. */
  readonly perHost: number;
  readonly types: readonly TypeBytes[];
}

interface ExportedResource {
  readonly type?: string;
  readonly inputs?: Record<string, unknown>;
  readonly outputs?: Record<string, unknown>;
}

const bytes = (v: unknown) => (v === undefined ? 0 : Buffer.byteLength(JSON.stringify(v)));

/** Figures of an export's text, for a stack of `hosts` hosts; per-type figures for the types that end in one of `hostTypes`. */
export function checkpointFigures(exported: string, hosts: number, hostTypes: readonly string[] = [":FleetBuild", ":NixosHost"]): CheckpointFigures {
  const resources = ((JSON.parse(exported) as { deployment?: { resources?: ExportedResource[] } }).deployment?.resources ?? []) as ExportedResource[];
  const types = hostTypes.map((suffix) => {
    const of = resources.filter((r) => (r.type ?? "").endsWith(suffix));
    const n = Math.max(1, of.length);
    const sum = (f: (r: ExportedResource) => number) => of.reduce((s, r) => s + f(r), 0) / n;
    return {
      type: suffix.slice(1),
      resources: of.length,
      perResource: Math.round(sum(bytes)),
      inputs: Math.round(sum((r) => bytes(r.inputs))),
      outputs: Math.round(sum((r) => bytes(r.outputs))),
      provider: Math.round(sum((r) => bytes(r.outputs?.__provider))),
    };
  });
  const totalBytes = Buffer.byteLength(exported);
  return { totalBytes, hosts, perHost: Math.round(totalBytes / hosts), types };
}

/** The figures as lines. */
export function checkpointLines(f: CheckpointFigures): string[] {
  return [
    `checkpoint: ${f.totalBytes} bytes for ${f.hosts} hosts, ${f.perHost} bytes per host`,
    ...f.types.map((t) => `  ${t.type} (${t.resources}): ${t.perResource} bytes each: inputs ${t.inputs}, outputs ${t.outputs} (of which the provider text ${t.provider})`),
  ];
}
