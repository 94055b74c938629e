/**
 * A provider implementation as the engine calls it: properties arrive and leave grouped
 * (wire.ts), and the implementation, which does the work, sees them flat. A failure recorded as
 * partial state (RecordedFailure) leaves grouped too.
 */
import type * as pulumi from "@pulumi/pulumi";
import { fromWire, type Groups, isWire, toWire } from "./wire";
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

/** What an implementation (impl.ts, buildImpl.ts) does on flat properties: all but the check, which the adapter makes. */
export type Operations<P> = Omit<Implementation<P>, "check">;

/** A RecordedFailure with its properties in the engine's shape: the dynamic provider server reads `id`, `properties` and `reasons`. */
export class WireFailure extends Error {
  readonly id: string;
  readonly properties: Props;
  readonly reasons: string[];
  constructor(failure: RecordedFailure, groups: Groups) {
    super(failure.message, { cause: failure.cause });
    this.name = failure.name;
    this.id = failure.id;
    this.properties = toWire(groups, failure.properties);
    this.reasons = failure.reasons;
  }
}

/**
 * `impl` (impl.ts or buildImpl.ts, on flat properties) facing the engine with properties grouped
 * by `groups`. Its diff also reports a change for state written flat (by 0.1.0): the engine keeps
 * a state it sees no change in as it is, so without an update the outputs would stay where this
 * version's program no longer reads them. Such an update of nothing but the shape is the
 * implementation's quiet update: no host is contacted.
 */
export function engineFacing<P>(impl: Operations<P>, groups: Groups): Implementation<Props> {
  // State written by 0.1.0 stores a build provider whose delete passes no properties.
  const flat = (props: Props | undefined) => fromWire<P>(groups, props ?? {});
  const wired = async <T>(run: () => Promise<T>): Promise<T> => {
    try {
      return await run();
    } catch (error) {
      throw error instanceof RecordedFailure ? new WireFailure(error, groups) : error;
    }
  };
  return {
    // The inputs are taken as the program declared them: the inventory was checked before any resource was.
    check: async (_olds, news) => ({ inputs: news }),
    diff: async (id, olds, news) => {
      const result = await impl.diff(id, flat(olds), flat(news));
      return isWire(olds) ? result : { ...result, changes: true };
    },
    create: async (inputs) => {
      const { id, outs } = await wired(() => impl.create(flat(inputs)));
      return { id, outs: toWire(groups, outs ?? {}) };
    },
    update: async (id, olds, news) => {
      const { outs } = await wired(() => impl.update(id, flat(olds), flat(news)));
      return { outs: toWire(groups, outs ?? {}) };
    },
    read: async (id, props) => {
      const result = await impl.read(id, flat(props));
      return { id: result.id, props: toWire(groups, result.props ?? {}) };
    },
    remove: (id, props) => impl.remove(id, flat(props)),
  };
}
