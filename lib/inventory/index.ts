/**
 * The fleet inventory: loading and validating it, and planning the rollout from it.
 */
export { CONFIG_KEYS, K3S_TOKEN_PATH, SECRETS_DIR } from "./defaults";
export { InventoryError, formatIssue, formatPath, type InventoryIssue, type InventorySource } from "./errors";
export { loadInventory, type InventoryInput } from "./load";
export { rolloutOrder } from "./order";
export { planHosts, planRolloutWaves, type PlanIo, type PlanSecrets } from "./plan";
export { planWaves, type WaveHost, type Waves } from "./waves";
export type { Inventory, InventoryHost, InventoryIo } from "./types";
