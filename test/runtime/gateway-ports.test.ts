// `--port-map`: Gateway port → listen address, each mistake named.
import { describe, expect, it } from 'vitest';
import { GatewayPortsError, parseGatewayPorts } from '../../host/runtime/gateway-ports.js';

describe('parseGatewayPorts', () => {
  it('entries in the order given', () => {
    expect(parseGatewayPorts('443=127.0.0.1:8443, 80=[::1]:8080')).toEqual([
      { port: 443, at: { host: '127.0.0.1', port: 8443 } },
      { port: 80, at: { host: '::1', port: 8080 } },
    ]);
  });

  it.each([
    ['', 'no <gateway port>=<host:port> given'],
    ['443', '"443" is not <gateway port>=<host:port>'],
    ['0=127.0.0.1:1', '"0=127.0.0.1:1" is not <gateway port>=<host:port>'],
    ['x=127.0.0.1:1', 'is not <gateway port>=<host:port>'],
    ['443=nowhere', '"443=nowhere":'],
    ['443=127.0.0.1:1,443=127.0.0.1:2', 'Gateway port 443 is mapped twice'],
    ['443=127.0.0.1:1,80=127.0.0.1:1', '127.0.0.1:1 is given for two Gateway ports'],
  ])('%j is refused: %s', (text, message) => {
    expect(() => parseGatewayPorts(text)).toThrow(GatewayPortsError);
    expect(() => parseGatewayPorts(text)).toThrow(message);
  });
});
