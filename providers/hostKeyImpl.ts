/**
 * The implementation of GeneratedHostKey: create makes the key pair once; it is kept in the
 * state (the private key encrypted as a secret) and never made again, so every later run pins
 * the same key. Only a new name (another host) makes a new pair.
 */
import type * as pulumi from "@pulumi/pulumi";
import { randomUUID } from "node:crypto";
import { generateEd25519KeyPair } from "../lib/host/generateKey";

/** A GeneratedHostKey's state. */
export interface HostKeyProps {
  /** The host the key belongs to; written into the key's comment. */
  readonly host: string;
  /** `ssh-ed25519 AAAA…`. */
  readonly publicKey: string;
  /** OpenSSH private key (secret). */
  readonly privateKey: string;
}

/** Makes the key pair. */
export async function create(inputs: { host: string }): Promise<pulumi.dynamic.CreateResult> {
  const pair = generateEd25519KeyPair(`root@${inputs.host}`);
  const outs: HostKeyProps = { host: inputs.host, publicKey: pair.publicKey, privateKey: pair.privateKey };
  return { id: randomUUID(), outs };
}

/** Another host is another key; nothing else changes a key. */
export async function diff(_id: string, olds: Partial<HostKeyProps>, news: { host: string }): Promise<pulumi.dynamic.DiffResult> {
  const renamed = olds.host !== news.host;
  return { changes: renamed, replaces: renamed ? ["host"] : [], deleteBeforeReplace: false };
}

/** The key lives only in the state: a refresh keeps it as it is. */
export async function read(id: string, props: HostKeyProps): Promise<pulumi.dynamic.ReadResult> {
  return { id, props };
}
