import type { SecureStringProvider } from './secureStringProvider';

/** The key `npm start` accepts when API_KEY is not set. */
export const LOCAL_DEV_KEY = 'local-dev-key';
/** Keys are re-read from SSM this often, so a rotated key takes effect without a deploy. */
const KEY_CACHE_SECONDS = 300;

/**
 * The API keys this deployment accepts, comma-separated at their source:
 * - `API_KEY_PARAMETER`: an SSM SecureString (deployed stages; read through
 *   Powertools Parameters, which caches it, so the secret is never in the
 *   template or the environment). Ignored under serverless-offline, where
 *   serverless.yml still names it but there is no SSM;
 * - else `API_KEY` (local runs and tests);
 * - else, under serverless-offline only, the local default key.
 * No source means no keys: every protected route then answers 503.
 */
export async function loadApiKeys(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let raw: string | undefined;
  if (env.API_KEY_PARAMETER && env.IS_OFFLINE !== 'true') {
    raw = await readParameter(env.API_KEY_PARAMETER);
  } else if (env.API_KEY) {
    raw = env.API_KEY;
  } else if (env.IS_OFFLINE === 'true') {
    raw = LOCAL_DEV_KEY;
  }
  return (raw ?? '')
    .split(',')
    .map((k) => k.trim())
    .filter((k) => k.length > 0);
}

let provider: Promise<SecureStringProvider> | undefined;

/**
 * Loaded on first use, not at import: the SSM client is needed once per cold
 * start, so it stays off the api's module initialisation (and out of its
 * bundle: serverless.yml takes @aws-sdk/client-ssm from the Lambda runtime).
 */
async function readParameter(name: string): Promise<string | undefined> {
  provider ??= import('./secureStringProvider').then(
    ({ SecureStringProvider }) => new SecureStringProvider(),
    (error: unknown) => {
      provider = undefined; // the next request tries again
      throw error;
    },
  );
  const value = await (await provider).get(name, { maxAge: KEY_CACHE_SECONDS });
  return typeof value === 'string' ? value : undefined;
}
