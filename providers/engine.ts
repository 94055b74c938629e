/**
 * A provider implementation as the engine calls it: properties arrive and leave grouped
 * (wire.ts), and the implementation, which does the work, sees them flat. A failure recorded as
 * partial state (RecordedFailure) leaves grouped too. A Codec says how, per resource.
 */
import type * as pulumi from "@pulumi/pulumi";
import { fromWire, fromWireByHost, type Groups, isWire, toWire, toWireByHost } from "./wire";
import { RecordedFailure } from "./state";

type Props = Record<string, unknown>;

/** What the serialized providers call. */
export interface Implementation<P> {
  check(olds: P, news: P): Promise<pulumi.dynamic.CheckResult>;
  diff(id: string, olds: P, news: P): Promise<pulumi.dynamic.DiffResult>;
  create(inputs: P): Promise<pulumi.dynamic.CreateResult>;
  update(id: string, olds: P, news: P): Promise<pulumi.dynamic.UpdateResult>;
  read(id: string, props: P): Promise<pulumi.dynamic.ReadResult>;
  remove(id: string, props: P): Promise<void>;
}

/** What an implementation (impl.ts, fleetBuildImpl.ts) does on flat properties: all but the check, which the adapter makes. */
export type Operations<P> = Omit<Implementation<P>, "check">;

/** How a resource's properties cross the engine: `flat` for the implementation, `wire` for the engine and the state. */
export interface Codec<P> {
  flat(props: Readonly<Props>): P;
  wire(props: object): Props;
  /** Whether recorded state has this version's shape; a diff of state that has not reports a change (engineFacing says why). */
  current(props: Readonly<Props>): boolean;
}

/** The codec of a resource whose settings are grouped by `groups` (wire.ts); state written flat (0.1.0) is not current. */
export function grouped<P>(groups: Groups): Codec<P> {
  return { flat: (props) => fromWire<P>(groups, props), wire: (props) => toWire(groups, props), current: isWire };
}

/** The codec of a bag of hosts (a FleetBuild): each host's settings grouped by `groups`. Its shape is the only one written. */
export function groupedByHost<P>(groups: Groups): Codec<P> {
  return { flat: (props) => fromWireByHost<P>(groups, props), wire: (props) => toWireByHost(groups, props), current: () => true };
}

/** A RecordedFailure with its properties in the engine's shape: the dynamic provider server reads `id`, `properties` and `reasons`. */
export class WireFailure extends Error {
  readonly id: string;
  readonly properties: Props;
  readonly reasons: string[];
  constructor(failure: RecordedFailure<object>, codec: Codec<unknown>) {
    super(failure.message, { cause: failure.cause });
    this.name = failure.name;
    this.id = failure.id;
    this.properties = codec.wire(failure.properties);
    this.reasons = failure.reasons;
  }
}

/**
 * `impl` (impl.ts, fleetBuildImpl.ts, on flat properties) facing the engine with properties in
 * the shape `codec` gives. Its diff also reports a change for state written in an older shape
 * (flat, by 0.1.0): the engine keeps a state it sees no change in as it is, so without an update
 * the outputs would stay where this version's program no longer reads them. Such an update of
 * nothing but the shape is the implementation's quiet update: no host is contacted.
 */
export function engineFacing<P>(impl: Operations<P>, codec: Codec<P>): Implementation<Props> {
  // State written by 0.1.0 stores a build provider whose delete passes no properties.
  const flat = (props: Props | undefined) => codec.flat(props ?? {});
  const wired = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw error instanceof RecordedFailure ? new WireFailure(error, codec) : error;
    }
  };
  return {
    // The inputs are taken as the program declared them: the inventory was checked before any resource was.
    check: async (_olds, news) => ({ inputs: news }),
    diff: async (id, olds, news) => {
      const result = await impl.diff(id, flat(olds), flat(news));
      return codec.current(olds) ? result : { ...result, changes: true };
    },
    create: async (inputs) => {
      const { id, outs } = await wired(() => impl.create(flat(inputs)));
      return { id, outs: codec.wire(outs ?? {}) };
    },
    update: async (id, olds, news) => {
      const { outs } = await wired(() => impl.update(id, flat(olds), flat(news)));
      return { outs: codec.wire(outs ?? {}) };
    },
    read: async (id, props) => {
      const result = await impl.read(id, flat(props));
      return { id: result.id, props: codec.wire(result.props ?? {}) };
    },
    remove: (id, props) => impl.remove(id, flat(props)),
  };
}
