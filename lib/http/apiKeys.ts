import { getParameter } from '@aws-lambda-powertools/parameters/ssm';

/** The key `npm start` accepts when API_KEY is not set. */
export const LOCAL_DEV_KEY = 'local-dev-key';
/** Keys are re-read from SSM this often, so a rotated key takes effect without a deploy. */
const KEY_CACHE_SECONDS = 300;

/**
 * The API keys this deployment accepts, comma-separated at their source:
 * - `API_KEY_PARAMETER`: an SSM SecureString (deployed stages; read through
 *   Powertools Parameters, which caches it, so the secret is never in the
 *   template or the environment);
 * - else `API_KEY` (local runs and tests);
 * - else, under serverless-offline only, the local default key.
 * No source means no keys: every protected route then answers 503.
 */
export async function loadApiKeys(env: NodeJS.ProcessEnv = process.env): Promise<string[]> {
  let raw: string | undefined;
  if (env.API_KEY_PARAMETER) {
    raw = await getParameter(env.API_KEY_PARAMETER, { decrypt: true, maxAge: KEY_CACHE_SECONDS });
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
