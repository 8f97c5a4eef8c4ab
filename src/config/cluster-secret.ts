/** The cluster secret a node proves on every internode connection, from its configuration. */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { clusterSecretBytes } from '../net/cluster-auth.js';
import { ConfigError } from './load.js';
import type { RingkvConfig } from './schema.js';

/**
 * The secret from --cluster-secret or --cluster-secret-file. A node without peers and without a
 * secret gets a random one nobody else knows: it accepts no internode connection at all (fail
 * closed) — restart it with a secret to grow it into a cluster. Throws ConfigError (exit 2) for an
 * unreadable or too short secret, naming the file, never the secret.
 */
export function clusterSecretOf(config: Pick<RingkvConfig, 'clusterSecret' | 'clusterSecretFile'>): { secret: Buffer; configured: boolean } {
  if (config.clusterSecretFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(config.clusterSecretFile, 'utf8');
    } catch (e) {
      throw new ConfigError(`invalid configuration: cannot read the cluster secret file ${config.clusterSecretFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    }
    try {
      return { secret: clusterSecretBytes(text), configured: true };
    } catch (e) {
      throw new ConfigError(`invalid configuration: ${config.clusterSecretFile}: ${(e as Error).message}`);
    }
  }
  if (config.clusterSecret !== undefined) return { secret: clusterSecretBytes(config.clusterSecret), configured: true };
  return { secret: randomBytes(32), configured: false };
}
