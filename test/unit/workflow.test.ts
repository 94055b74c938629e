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
  "runs-on"?: string | string[];
  steps: Array<{ run?: string; uses?: string; with?: Record<string, unknown> }>;
}

/** The job's pulumi/actions step; fails when it has none. */
function pulumiAction(job: Job): Record<string, unknown> {
  const step = job.steps.find((s) => s.uses?.startsWith("pulumi/actions@"));
  return step?.with ?? assert.fail("the job has no pulumi/actions step");
}

describe("CI workflow", () => {
  const wf = parse(fs.readFileSync(WORKFLOW, "utf8")) as { on: Record<string, unknown>; env: Record<string, string>; jobs: Record<string, Job> };
  const pkg = JSON.parse(fs.readFileSync(path.join(ROOT, "package.json"), "utf8")) as { dependencies: Record<string, string> };

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

  it("previews the simulated dev stack on pull requests with the project's scripts, as root", () => {
    const job = wf.jobs["preview-dev"];
    assert.ok("pull_request" in wf.on);
    assert.match(job.if ?? "", /pull_request/);
    assert.ok(job.steps.some((s) => /sudo .*scripts\/sim-dev-stack\.sh/.test(s.run ?? "")));
    assert.ok(job.steps.some((s) => /sudo[\s\S]*scripts\/fleet\.sh dev preview --diff/.test(s.run ?? "")));
    assert.ok(!job.steps.some((s) => /gh pr comment/.test(s.run ?? "")), "no new comment on every run");
  });

  it("previews prod on pull requests with pulumi/actions: one PR comment kept up to date, the self-managed backend, the SDK's CLI version", () => {
    const job = wf.jobs["preview-prod"];
    assert.match(job.if ?? "", /pull_request/);
    assert.deepEqual(job["runs-on"], ["self-hosted", "fleet-prod"]);
    const a = pulumiAction(job);
    assert.equal(a.command, "preview");
    assert.equal(a["stack-name"], "prod");
    assert.equal(a["comment-on-pr"], true);
    assert.equal(a["edit-pr-comment"], true);
    assert.match(String(a["cloud-url"]), /secrets\.PULUMI_PROD_BACKEND_URL/);
    assert.equal(a["pulumi-version"], "${{ env.PULUMI_VERSION }}");
    assert.equal(wf.env.PULUMI_VERSION, pkg.dependencies["@pulumi/pulumi"], "the CLI is the SDK's version");
    assert.ok(job.steps.some((s) => /npm run build/.test(s.run ?? "")), "the program is compiled before the action runs it");
  });

  it("rolls prod out on merge with pulumi/actions, after a refresh", () => {
    const job = wf.jobs["up-prod"];
    const a = pulumiAction(job);
    assert.equal(a.command, "up");
    assert.equal(a["stack-name"], "prod");
    assert.equal(a.refresh, true);
    assert.match(String(a["cloud-url"]), /secrets\.PULUMI_PROD_BACKEND_URL/);
    assert.equal(a["pulumi-version"], "${{ env.PULUMI_VERSION }}");
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
