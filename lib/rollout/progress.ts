/** Where a rollout reports its phases: one line each, always naming the host. */
export type Progress = (line: string) => void;
