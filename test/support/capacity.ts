import { GetItemCommand, type AttributeValue, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { marshall } from '@aws-sdk/util-dynamodb';

/**
 * DynamoDB's bill, computed by its documented rules from the items the server
 * holds before and after each request (the local servers report no consumed
 * capacity): an item's size is the UTF-8 bytes of its attribute names and
 * values (numbers 1 byte per two significant digits plus 1, lists and maps 3
 * bytes plus 1 per element); a write costs one unit per KB of the larger of
 * the item before and after (a failed condition still costs the item read);
 * each index entry written, deleted or changed costs one unit per KB of its
 * projected size (a changed index key is a delete and a put); reads cost one
 * unit per 4 KB, half when eventually consistent, a Query on the total it read.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/GSI.html#GSI.ThroughputConsiderations.Writes
 */

type Item = Record<string, AttributeValue>;

export interface IndexSchema {
  name: string;
  keys: string[];
  /** The non-key attributes it holds: 'ALL', or a list (empty for KEYS_ONLY). */
  projection: 'ALL' | string[];
}

export interface TableSchema {
  name: string;
  keys: string[];
  indexes: IndexSchema[];
}

/** One write's bill. `kind` is what the item is, read off its key (TASK, STATE, PAYLOAD, IDEM, STATS). */
export interface WriteCost {
  command: string;
  kind: string;
  tableUnits: number;
  indexUnits: number;
}

export interface ReadCost {
  command: string;
  units: number;
}

const KB = 1024;

export function attributeSize(value: AttributeValue): number {
  if (value.S !== undefined) return Buffer.byteLength(value.S);
  if (value.N !== undefined) return numberSize(value.N);
  if (value.B !== undefined) return value.B.length;
  if (value.BOOL !== undefined || value.NULL !== undefined) return 1;
  if (value.L !== undefined) return 3 + value.L.reduce((n, v) => n + 1 + attributeSize(v), 0);
  if (value.M !== undefined) return 3 + Object.entries(value.M).reduce((n, [k, v]) => n + 1 + Buffer.byteLength(k) + attributeSize(v), 0);
  if (value.SS !== undefined) return value.SS.reduce((n, s) => n + Buffer.byteLength(s), 0);
  if (value.NS !== undefined) return value.NS.reduce((n, s) => n + numberSize(s), 0);
  if (value.BS !== undefined) return value.BS.reduce((n, b) => n + b.length, 0);
  return 0;
}

function numberSize(text: string): number {
  const digits = text.replace(/^-/, '').replace(/e.*$/i, '').replace('.', '').replace(/^0+/, '').replace(/0+$/, '');
  return Math.ceil(Math.max(digits.length, 1) / 2) + 1;
}

export function itemSize(item: Item | undefined): number {
  if (!item) return 0;
  return Object.entries(item).reduce((n, [name, value]) => n + Buffer.byteLength(name) + attributeSize(value), 0);
}

/** The item's entry in `index`, or undefined if the item lacks one of its keys (a sparse index). */
function indexEntry(item: Item | undefined, index: IndexSchema, table: TableSchema): Item | undefined {
  if (!item || index.keys.some((k) => item[k] === undefined)) return undefined;
  const names = new Set([...table.keys, ...index.keys, ...(index.projection === 'ALL' ? Object.keys(item) : index.projection)]);
  return Object.fromEntries([...names].filter((n) => item[n] !== undefined).map((n) => [n, item[n]!]));
}

const units = (bytes: number, per: number) => Math.max(1, Math.ceil(bytes / per));

const TYPES = new Set(['S', 'N', 'B', 'BOOL', 'NULL', 'L', 'M', 'SS', 'NS', 'BS']);
/**
 * The item in DynamoDB's own format. The meter sits above the document
 * client's marshalling (it runs as the client's first middleware), so the
 * document client's commands show plain values.
 */
function asItem(value: Record<string, unknown>): Item {
  const marshalled = Object.values(value).every((v) => v !== null && typeof v === 'object' && Object.keys(v).length === 1 && TYPES.has(Object.keys(v)[0]!));
  return marshalled ? (value as Item) : marshall(value, { removeUndefinedValues: true, convertClassInstanceToMap: true });
}

/** What one item's change costs in the table and its indexes. */
export function writeCost(table: TableSchema, before: Item | undefined, after: Item | undefined): { tableUnits: number; indexUnits: number } {
  const tableUnits = units(Math.max(itemSize(before), itemSize(after)), KB);
  let indexUnits = 0;
  for (const index of table.indexes) {
    const old = indexEntry(before, index, table);
    const now = indexEntry(after, index, table);
    if (!old && !now) continue;
    if (!old || !now) {
      indexUnits += units(itemSize(old ?? now), KB);
      continue;
    }
    const keyChanged = index.keys.some((k) => JSON.stringify(old[k]) !== JSON.stringify(now[k]));
    if (keyChanged) indexUnits += units(itemSize(old), KB) + units(itemSize(now), KB);
    else if (JSON.stringify(old) !== JSON.stringify(now)) indexUnits += units(Math.max(itemSize(old), itemSize(now)), KB);
  }
  return { tableUnits, indexUnits };
}

/** The kind of item a key names, from its partition key's prefix. */
export function kindOf(key: Item): string {
  const pk = key.pk?.S ?? '';
  const sk = key.sk?.S ?? '';
  if (pk.startsWith('TASK#')) return sk.endsWith('#state') ? 'STATE' : 'TASK';
  return pk.split('#')[0] ?? 'OTHER';
}

type Middleware = (next: (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>, context: { commandName: string }) => (args: { input: Record<string, unknown> }) => Promise<{ output: Record<string, unknown> }>;

/**
 * Meters every call a client makes to one table: reads each written item
 * before and after (through `observer`, a client of its own, so that the
 * reads are not metered), and prices reads from what they returned.
 */
export class CapacityMeter {
  writes: WriteCost[] = [];
  reads: ReadCost[] = [];

  constructor(
    private readonly table: TableSchema,
    private readonly observer: DynamoDBClient,
  ) {}

  attach(client: DynamoDBClient): void {
    const middleware: Middleware = (next, context) => async (args) => {
      const command = context.commandName.replace(/Command$/, '');
      const keys = this.writtenKeys(command, args.input);
      if (keys.length === 0) {
        const result = await next(args);
        this.meterRead(command, args.input, result.output);
        return result;
      }
      const before = await Promise.all(keys.map((k) => this.read(k)));
      try {
        return await next(args);
      } finally {
        const after = await Promise.all(keys.map((k) => this.read(k)));
        keys.forEach((key, i) => this.writes.push({ command, kind: kindOf(key), ...writeCost(this.table, before[i], after[i]) }));
      }
    };
    (client.middlewareStack as unknown as { add: (mw: Middleware, options: { step: string; name: string }) => void }).add(middleware, {
      step: 'initialize',
      name: `capacityMeter-${Math.random()}`,
    });
  }

  reset(): void {
    this.writes = [];
    this.reads = [];
  }

  /** Write units so far, in all and by item kind. */
  writeUnits(): { total: number; table: number; index: number; byKind: Record<string, number> } {
    const byKind: Record<string, number> = {};
    for (const w of this.writes) byKind[w.kind] = (byKind[w.kind] ?? 0) + w.tableUnits + w.indexUnits;
    const table = this.writes.reduce((n, w) => n + w.tableUnits, 0);
    const index = this.writes.reduce((n, w) => n + w.indexUnits, 0);
    return { total: table + index, table, index, byKind };
  }

  readUnits(): number {
    return this.reads.reduce((n, r) => n + r.units, 0);
  }

  private writtenKeys(command: string, input: Record<string, unknown>): Item[] {
    const keyOf = (item: Item) => Object.fromEntries(this.table.keys.map((k) => [k, asItem(item)[k]!]));
    switch (command) {
      case 'PutItem':
        return [keyOf(input.Item as Item)];
      case 'UpdateItem':
      case 'DeleteItem':
        return [asItem(input.Key as Item)];
      case 'BatchWriteItem': {
        const requests = (input.RequestItems as Record<string, Array<{ PutRequest?: { Item: Item }; DeleteRequest?: { Key: Item } }>>)[this.table.name] ?? [];
        return requests.map((r) => (r.PutRequest ? keyOf(r.PutRequest.Item) : asItem(r.DeleteRequest!.Key)));
      }
      default:
        return [];
    }
  }

  private async read(key: Item): Promise<Item | undefined> {
    return (await this.observer.send(new GetItemCommand({ TableName: this.table.name, Key: key, ConsistentRead: true }))).Item;
  }

  private meterRead(command: string, input: Record<string, unknown>, output: Record<string, unknown>): void {
    const factor = (consistent: unknown) => (consistent === true ? 1 : 0.5);
    if (command === 'GetItem') {
      this.reads.push({ command, units: units(itemSize(output.Item === undefined ? undefined : asItem(output.Item as Item)), 4 * KB) * factor(input.ConsistentRead) });
    } else if (command === 'BatchGetItem') {
      const requested = (input.RequestItems as Record<string, { Keys: Item[]; ConsistentRead?: boolean }>)[this.table.name];
      const found = ((output.Responses as Record<string, Item[]> | undefined)?.[this.table.name] ?? []).map((item) => itemSize(asItem(item)));
      const missing = Math.max(0, (requested?.Keys.length ?? 0) - found.length);
      const total = found.reduce((n, size) => n + units(size, 4 * KB), 0) + missing;
      this.reads.push({ command, units: total * factor(requested?.ConsistentRead) });
    } else if (command === 'Query' || command === 'Scan') {
      const bytes = ((output.Items as Item[] | undefined) ?? []).reduce((n, item) => n + itemSize(asItem(item)), 0);
      this.reads.push({ command, units: units(bytes, 4 * KB) * factor(input.ConsistentRead) });
    }
  }
}

/** The task table's schema, from serverless.yml's TasksTable. */
export function tableSchema(name: string, resource: { Properties: Record<string, unknown> }): TableSchema {
  const props = resource.Properties as {
    KeySchema: Array<{ AttributeName: string }>;
    GlobalSecondaryIndexes?: Array<{ IndexName: string; KeySchema: Array<{ AttributeName: string }>; Projection: { ProjectionType: string; NonKeyAttributes?: string[] } }>;
  };
  return {
    name,
    keys: props.KeySchema.map((k) => k.AttributeName),
    indexes: (props.GlobalSecondaryIndexes ?? []).map((g) => ({
      name: g.IndexName,
      keys: g.KeySchema.map((k) => k.AttributeName),
      projection: g.Projection.ProjectionType === 'ALL' ? 'ALL' : (g.Projection.NonKeyAttributes ?? []),
    })),
  };
}
