/**
 * A TCP proxy on 127.0.0.1 for the transport tests that can make the connections open through it
 * stall, the way a connection that survived a partition or heavy loss does: the sockets stay open,
 * bytes are accepted and go nowhere (no FIN, no RST). Connections opened later forward normally —
 * the network has healed; only the old connections are stuck (in TCP's retransmission back-off).
 * resume() delivers what was held, late, as retransmission eventually would.
 */
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';

interface Pipe {
  client: Socket;
  upstream: Socket;
  /** chunks held while stalled, per direction, delivered in order by resume() */
  held: { to: Socket; chunk: Buffer }[];
  stalled: boolean;
}

export class StallingProxy {
  private readonly server: Server;
  private readonly pipes = new Set<Pipe>();
  /** connections accepted so far */
  accepted = 0;

  private constructor(private readonly targetPort: number) {
    this.server = createServer((client) => this.accept(client));
  }

  static async start(targetPort: number): Promise<StallingProxy> {
    const proxy = new StallingProxy(targetPort);
    await new Promise<void>((resolve) => proxy.server.listen(0, '127.0.0.1', resolve));
    return proxy;
  }

  get port(): number {
    return (this.server.address() as AddressInfo).port;
  }

  /** every connection open now stops forwarding in both directions (later ones are not affected) */
  stallOpenConnections(): void {
    for (const pipe of this.pipes) pipe.stalled = true;
  }

  /** stalled connections forward again, first what they held (and pass on a close they held back) */
  resume(): void {
    for (const pipe of [...this.pipes]) {
      pipe.stalled = false;
      for (const { to, chunk } of pipe.held.splice(0)) if (!to.destroyed) to.write(chunk);
      if (pipe.client.destroyed || pipe.upstream.destroyed) this.end(pipe);
    }
  }

  private end(pipe: Pipe): void {
    this.pipes.delete(pipe);
    pipe.client.destroy();
    pipe.upstream.destroy();
  }

  async close(): Promise<void> {
    for (const pipe of [...this.pipes]) this.end(pipe);
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(client: Socket): void {
    this.accepted++;
    const upstream = connect({ host: '127.0.0.1', port: this.targetPort });
    const pipe: Pipe = { client, upstream, held: [], stalled: false };
    this.pipes.add(pipe);
    const forward = (to: Socket) => (chunk: Buffer) => {
      if (pipe.stalled) pipe.held.push({ to, chunk });
      else if (!to.destroyed) to.write(chunk);
    };
    client.on('data', forward(upstream));
    upstream.on('data', forward(client));
    // a stalled connection passes nothing on, not even its end: that is what stalled means
    const end = (): void => (pipe.stalled ? undefined : this.end(pipe));
    client.on('close', end);
    upstream.on('close', end);
    client.on('error', () => {});
    upstream.on('error', () => {});
  }
}
