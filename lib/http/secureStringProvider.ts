import { BaseProvider } from '@aws-lambda-powertools/parameters/base';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

/**
 * Powertools Parameters' provider contract (caching, `maxAge`, `forceFetch`)
 * around the one call the api makes: GetParameter with decryption. Powertools'
 * own SSMProvider also batches, walks paths and writes, which the api never
 * does; this keeps ~5 KB of it out of the api's bundle and cold start.
 */
export class SecureStringProvider extends BaseProvider {
  declare protected client: SSMClient;

  constructor() {
    super({ awsSdkV3Client: new SSMClient({}) });
  }

  protected async _get(name: string): Promise<string | undefined> {
    const out = await this.client.send(new GetParameterCommand({ Name: name, WithDecryption: true }));
    return out.Parameter?.Value;
  }

  protected _getMultiple(): Promise<undefined> {
    return Promise.reject(new Error('SecureStringProvider reads one parameter at a time'));
  }
}
