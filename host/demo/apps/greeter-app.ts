// The gRPC service of `wasmesh demo protocols`: examples/005-protocols/greeter.proto served by a
// real @grpc/grpc-js server (HTTP/2 with prior knowledge, as a gRPC pod serves in a cluster).
// Every answer names the version that gave it, so a client calling through the gateway's 80/20
// split sees which subset served: SayHello answers once, SayHellos streams `count` greetings.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { ListenError, listenError } from '../../common/listen-error.js';

export interface GreeterAppOptions {
  /** examples/005-protocols/greeter.proto (the client script loads the same file). */
  protoFile: string;
  /** The version label (`v1`), as its WorkloadEntry. */
  version: string;
  host?: string;
  /** 0 picks a free port; read it back from `port` after listen(). */
  port: number;
  /** Names the port in errors (`greeter-v1`). */
  name: string;
}

/** The most greetings one SayHellos streams (a typo of a count must not flood the terminal). */
export const MAX_GREETINGS = 1000;

interface HelloRequest {
  name: string;
  count: number;
}

export class GreeterApp {
  readonly version: string;
  readonly name: string;
  readonly host: string;
  readonly #server = new grpc.Server();
  #port: number;
  #listening = false;
  /** Calls answered, unary and streaming (the tests read it to see which version served). */
  calls = 0;

  constructor(options: GreeterAppOptions) {
    this.version = options.version;
    this.name = options.name;
    this.host = options.host ?? '127.0.0.1';
    this.#port = options.port;
    const definition = protoLoader.loadSync(options.protoFile, { keepCase: true, defaults: true });
    const proto = grpc.loadPackageDefinition(definition) as unknown as { demo: { Greeter: { service: grpc.ServiceDefinition } } };
    const greeting = (name: string): string => `Hello ${name === '' ? 'world' : name} from greeter ${this.version}`;
    this.#server.addService(proto.demo.Greeter.service, {
      SayHello: (call: grpc.ServerUnaryCall<HelloRequest, unknown>, done: grpc.sendUnaryData<unknown>) => {
        this.calls++;
        done(null, { message: greeting(call.request.name) });
      },
      SayHellos: (call: grpc.ServerWritableStream<HelloRequest, unknown>) => {
        this.calls++;
        const count = call.request.count;
        if (!Number.isInteger(count) || count < 1 || count > MAX_GREETINGS) {
          call.emit('error', { code: grpc.status.INVALID_ARGUMENT, details: `count must be 1..${MAX_GREETINGS}, got ${count}` });
          return;
        }
        for (let i = 1; i <= count; i++) call.write({ message: `${greeting(call.request.name)} (${i}/${count})` });
        call.end();
      },
    });
  }

  get port(): number {
    return this.#port;
  }

  /** Binds; a port in use is a ListenError naming the app (`greeter-v1 port 15401 …`). */
  async listen(): Promise<void> {
    this.#port = await new Promise<number>((resolve, reject) =>
      this.#server.bindAsync(`${this.host}:${this.#port}`, grpc.ServerCredentials.createInsecure(), (err, port) => {
        if (err === null) return resolve(port);
        // grpc-js reports a bind failure as a message only: tell a busy port by its text.
        const code = /EADDRINUSE|address already in use/i.test(err.message) ? 'EADDRINUSE' : 'EUNKNOWN';
        const failure = listenError(Object.assign(new Error(err.message), { code }), this.name, this.host, this.#port);
        reject(failure instanceof ListenError ? failure : err);
      }),
    );
    this.#listening = true;
  }

  /** Stops at once: open calls are cancelled (the demo is stopping). */
  close(): Promise<void> {
    if (!this.#listening) return Promise.resolve();
    this.#listening = false;
    this.#server.forceShutdown();
    return Promise.resolve();
  }
}
