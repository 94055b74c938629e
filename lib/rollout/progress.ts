/** Where a rollout reports its phases: one line each, always naming the host. */
export type Progress = (line: string) => void;

/** Discards progress (read and diff paths). */
export const quiet: Progress = () => undefined;
