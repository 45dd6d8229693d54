/**
 * A tiny authoritative DNS server for tests (dns2, over UDP on 127.0.0.1): answers A, AAAA and SRV
 * questions from `zone`, which tests change at will; a name not in the zone is NXDOMAIN, and with
 * `failing` every question is SERVFAIL. `queries` counts the questions it answered.
 */
import dns2 from 'dns2';

export interface ZoneEntry {
  a?: string[];
  aaaa?: string[];
  srv?: { target: string; port: number; priority?: number; weight?: number }[];
}

const { Packet } = dns2;
type Resource = InstanceType<typeof Packet>['answers'][number];
/** A record as dns2 encodes it (its types ask for a `toBuffer` that plain records do without). */
const record = (fields: Omit<Resource, 'toBuffer'>): Resource => fields as Resource;

interface SrvCodec {
  encode(record: { priority: number; weight: number; port: number; target: string }, writer: { write(value: number, bits: number): void }): void;
}
// RFC 2782: an SRV record's target is never compressed, and c-ares (node:dns) refuses a compressed
// one (EBADRESP); dns2 compresses it. Written here label by label.
(Packet as unknown as { Resource: { SRV: SrvCodec } }).Resource.SRV.encode = (record, writer) => {
  writer.write(record.priority, 16);
  writer.write(record.weight, 16);
  writer.write(record.port, 16);
  for (const label of record.target.split('.').filter((l) => l !== '')) {
    writer.write(label.length, 8);
    for (const byte of Buffer.from(label)) writer.write(byte, 8);
  }
  writer.write(0, 8);
};

export class TestDnsServer {
  readonly zone = new Map<string, ZoneEntry>();
  failing = false;
  queries = 0;
  #server: ReturnType<typeof dns2.createServer> | null = null;

  /** Listens on an ephemeral port; returns `127.0.0.1:PORT` (for `Resolver.setServers`). */
  async start(): Promise<string> {
    const server = dns2.createServer({ udp: true, handle: (request, send) => void send(this.#answer(request)) });
    this.#server = server;
    const addresses = await server.listen({ udp: { port: 0, address: '127.0.0.1' } });
    return `127.0.0.1:${addresses.udp!.port}`;
  }

  async close(): Promise<void> {
    await this.#server?.close();
  }

  #answer(request: InstanceType<typeof Packet>): InstanceType<typeof Packet> {
    this.queries += 1;
    const response = Packet.createResponseFromRequest(request);
    const [question] = request.questions;
    if (this.failing || !question) {
      response.header.rcode = Packet.RCODE.SERVFAIL;
      return response;
    }
    const name = question.name.toLowerCase().replace(/\.$/, '');
    const entry = this.zone.get(name);
    if (!entry) {
      response.header.rcode = Packet.RCODE.NXDOMAIN;
      return response;
    }
    const base = { name: question.name, class: Packet.CLASS.IN, ttl: 1 };
    if (question.type === Packet.TYPE.A) for (const address of entry.a ?? []) response.answers.push(record({ ...base, type: Packet.TYPE.A, address }));
    if (question.type === Packet.TYPE.AAAA) for (const address of entry.aaaa ?? []) response.answers.push(record({ ...base, type: Packet.TYPE.AAAA, address }));
    if (question.type === Packet.TYPE.SRV) {
      for (const r of entry.srv ?? []) {
        response.answers.push(record({ ...base, type: Packet.TYPE.SRV, priority: r.priority ?? 10, weight: r.weight ?? 10, port: r.port, target: r.target }));
      }
    }
    return response;
  }
}
