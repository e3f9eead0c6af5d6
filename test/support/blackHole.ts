import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The header a redirected request carries when it must still reach its server (`host:port`). */
export const FORWARD_HEADER = 'x-fault-forward-to';

/**
 * An HTTP server that never answers: what a hung AWS endpoint looks like to a
 * client, whose own connection and request timeouts then have to end the
 * call. A request carrying FORWARD_HEADER is first passed on to that server,
 * which applies it (the write lands), and only its answer is swallowed.
 */
export interface BlackHole {
  port: number;
  /** Requests received, and how many of them were passed on. */
  readonly received: number;
  readonly forwarded: number;
}

let shared: Promise<BlackHole> | undefined;

/** The test process's black hole, started on first use (it never keeps the process alive). */
export function blackHole(): Promise<BlackHole> {
  shared ??= start();
  return shared;
}

async function start(): Promise<BlackHole> {
  const sockets = new Set<Socket>();
  const counts = { received: 0, forwarded: 0 };
  const server: Server = createServer((req, _res) => {
    counts.received++;
    const target = req.headers[FORWARD_HEADER];
    if (typeof target === 'string') void forward(req, target).then(() => counts.forwarded++);
    else req.resume();
    // No answer, ever: the socket stays open until the client gives up.
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  server.unref();
  return {
    port: (server.address() as AddressInfo).port,
    get received() {
      return counts.received;
    },
    get forwarded() {
      return counts.forwarded;
    },
  };
}

/** Passes `req` on to `target` as it came, and waits for the answer, which nobody reads. */
async function forward(req: IncomingMessage, target: string): Promise<void> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const [hostname, port] = target.split(':');
  const headers = { ...req.headers };
  delete headers[FORWARD_HEADER];
  await new Promise<void>((resolve) => {
    const out = httpRequest({ hostname, port: Number(port), method: req.method, path: req.url, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve());
    });
    out.on('error', () => resolve());
    out.end(Buffer.concat(chunks));
  });
}
