/**
 * An ioredis client, typed by its shape: the ledger's options and the orchestrator's `ledger`
 * option take one without naming ioredis' `Redis`, so agentvisor's declarations never load
 * ioredis' own (a strict consumer who does not use Redis would inherit them). Any ioredis `Redis`
 * instance fits; `createRedisLedger` checks at run time that it is one.
 *
 * @example createRedisLedger({ redis: new Redis(process.env.REDIS_URL!), limits }); // an ioredis client
 */
export interface RedisClientLike {
  readonly status: string;
  readonly options: object;
  connect(): Promise<void>;
  quit(): Promise<unknown>;
}
