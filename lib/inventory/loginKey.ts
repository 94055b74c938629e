/**
 * The public half of the rollout's login key, so the rendered configuration always authorizes
 * it: a rollout must never lock itself out of a host.
 */
import { utils } from "ssh2";
import { parsePublicKeyLine, publicKeyLine } from "../host/keys";

/** "type base64" of the private key's public half; throws with the parser's reason. */
export function publicKeyOf(privateKey: string): string {
  const parsed = utils.parseKey(privateKey);
  if (parsed instanceof Error) throw parsed;
  const key = Array.isArray(parsed) ? parsed[0] : parsed;
  if (key === undefined) throw new Error("no key found");
  return publicKeyLine(key.getPublicSSH());
}

/** The inventory's keys plus `extra`, without a second copy of a key already listed. */
export function withKey(keys: readonly string[], extra: string): string[] {
  const blob = (line: string) => parsePublicKeyLine(line).blob.toString("base64");
  const have = new Set(keys.map(blob));
  return have.has(blob(extra)) ? [...keys] : [...keys, extra];
}
