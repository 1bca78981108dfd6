/**
 * A real DynamoDB-compatible server for the state tests: dynalite (in memory) on loopback,
 * the real SDK client pointed at it, and a small HTTP proxy in front of it that can answer
 * like a throttled table or refuse connections, so faults happen at the network boundary
 * the store really sees.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CreateTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import dynalite from 'dynalite';

export interface RunningDynalite {
  /** The endpoint clients use (through the proxy). */
  readonly endpoint: string;
  readonly client: DynamoDBClient;
  /** Creates a table with the probes' layout (partition key `pk`, on demand). */
  createTable(name: string): Promise<void>;
  /** `throttle`: answer every request with ProvisionedThroughputExceededException; `down`: drop connections. */
  setFault(fault: 'none' | 'throttle' | 'down', onlyFor?: string): void;
  /** The next `count` BatchGetItem requests are answered with every key unprocessed (as under throttling). */
  leaveUnprocessed(count: number): void;
  /** The next `count` requests of `operation` reach dynalite, but their responses are dropped (connection reset). */
  loseResponses(operation: string, count: number): void;
  /** Requests seen by the proxy, by X-Amz-Target operation name. */
  readonly requests: string[];
  close(): Promise<void>;
}

function listen(server: Server): Promise<number> {
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port)));
}

export async function startDynalite(): Promise<RunningDynalite> {
  const db = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }) as Server;
  const dbPort = await listen(db);
  let fault: 'none' | 'throttle' | 'down' = 'none';
  let faultFor: string | undefined;
  let unprocessed = 0;
  const losing = new Map<string, number>();
  const requests: string[] = [];

  const proxy = createServer((req, res) => {
    const op =
      String(req.headers['x-amz-target'] ?? '')
        .split('.')
        .pop() ?? '';
    requests.push(op);
    const active = fault !== 'none' && (faultFor === undefined || faultFor === op);
    if (active && fault === 'down') {
      req.socket.destroy();
      return;
    }
    if (active && fault === 'throttle') {
      req.resume();
      res.writeHead(400, { 'content-type': 'application/x-amz-json-1.0' });
      res.end(
        JSON.stringify({
          __type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
          message: 'The level of configured provisioned throughput for the table was exceeded.',
        }),
      );
      return;
    }
    if (op === 'BatchGetItem' && unprocessed > 0) {
      unprocessed -= 1;
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { RequestItems: Record<string, unknown> };
        const tables = Object.keys(body.RequestItems);
        res.writeHead(200, { 'content-type': 'application/x-amz-json-1.0' });
        res.end(
          JSON.stringify({
            Responses: Object.fromEntries(tables.map((t) => [t, []])),
            UnprocessedKeys: body.RequestItems,
          }),
        );
      });
      return;
    }
    const upstream = request(
      { host: '127.0.0.1', port: dbPort, method: req.method, path: req.url, headers: req.headers },
      (up) => {
        const lose = losing.get(op) ?? 0;
        if (lose > 0) {
          losing.set(op, lose - 1);
          up.resume();
          up.on('end', () => req.socket.destroy());
          return;
        }
        res.writeHead(up.statusCode ?? 500, up.headers);
        up.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  const port = await listen(proxy);
  const endpoint = `http://127.0.0.1:${port}`;
  const client = new DynamoDBClient({
    endpoint,
    region: 'eu-west-1',
    credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'test-secret' },
    maxAttempts: 1,
  });

  return {
    endpoint,
    client,
    requests,
    async createTable(name) {
      await client.send(
        new CreateTableCommand({
          TableName: name,
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          BillingMode: 'PAY_PER_REQUEST',
        }),
      );
    },
    loseResponses(operation, count) {
      losing.set(operation, count);
    },
    leaveUnprocessed(count) {
      unprocessed = count;
    },
    setFault(next, onlyFor) {
      fault = next;
      faultFor = onlyFor;
    },
    async close() {
      client.destroy();
      proxy.closeAllConnections();
      await new Promise<void>((resolve) => proxy.close(() => resolve()));
      await new Promise<void>((resolve) => db.close(() => resolve()));
    },
  };
}
