/**
 * The CI workflow: actionlint (built by scripts/install-actionlint.sh) finds nothing, and the
 * rollout order and concurrency rules hold.
 */
import * as assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { parse } from "yaml";

const ROOT = path.resolve(__dirname, "../../..");
const WORKFLOW = path.join(ROOT, ".github/workflows/fleet.yml");

interface Job {
  needs?: string | string[];
  if?: string;
  concurrency?: { group: string; "cancel-in-progress": boolean };
  strategy?: { matrix: { stack: string[] } };
  steps: Array<{ run?: string }>;
}

describe("CI workflow", () => {
  const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as { on: Record<string, unknown>; jobs: Record<string, Job> };

  it("passes actionlint", () => {
    const r = spawnSync("actionlint", ["-no-color", WORKFLOW], { cwd: ROOT, encoding: "utf8" });
    assert.equal(r.error, undefined, "actionlint is missing: bash scripts/setup.sh builds it");
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
  });

  it("actionlint really lints: a broken copy fails", () => {
    const broken = fs.readFileSync(WORKFLOW, "utf8").replace("needs: up-dev", "needs: up-staging");
    const tmp = path.join(ROOT, ".github/workflows/.broken-copy.yml");
    fs.writeFileSync(tmp, broken);
    try {
      const r = spawnSync("actionlint", ["-no-color", tmp], { cwd: ROOT, encoding: "utf8" });
      assert.notEqual(r.status, 0);
      assert.match(r.stdout + r.stderr, /up-staging/);
    } finally {
      fs.rmSync(tmp);
    }
  });

  it("previews every stack on pull requests", () => {
    assert.ok("pull_request" in wf.on);
    assert.deepEqual(wf.jobs.preview.strategy?.matrix.stack, ["dev", "prod"]);
    assert.match(wf.jobs.preview.if ?? "", /pull_request/);
    assert.ok(wf.jobs.preview.steps.some((s) => /preview --diff/.test(s.run ?? "")));
    assert.ok(wf.jobs.preview.steps.some((s) => /gh pr comment/.test(s.run ?? "")));
  });

  it("rolls out dev first and prod only after dev, never two rollouts of a stack at once", () => {
    assert.match(wf.jobs["up-dev"].if ?? "", /push/);
    assert.equal(wf.jobs["up-prod"].needs, "up-dev");
    for (const [job, stack] of [["up-dev", "dev"], ["up-prod", "prod"]] as const) {
      assert.equal(wf.jobs[job].concurrency?.group, `pulumi-${stack}`);
      assert.equal(wf.jobs[job].concurrency?.["cancel-in-progress"], false);
    }
  });

  it("runs the same test command as README.md and .ci/run", () => {
    const readme = fs.readFileSync(path.join(ROOT, "README.md"), "utf8");
    const ci = fs.readFileSync(path.join(ROOT, ".ci/run"), "utf8");
    assert.match(readme, /bash scripts\/test\.sh/);
    assert.match(ci, /scripts\/test\.sh/);
    assert.ok(wf.jobs.test.steps.some((s) => /scripts\/test\.sh/.test(s.run ?? "")));
  });
});
