import { it } from 'vitest';
import { main } from '../../host/cli/main.js';
import { fakeIo } from '../helpers/fake-io.js';
it('x', async () => {
  const io = fakeIo();
  const code = await main(['explain', 'http://reviews:9080/reviews/1', '--from', 'productpage-v1', '-H', 'end-user: jason', '-H', 'user-agent: Chrome/120', '-f', 'examples/002-bookinfo-rules'], io);
  console.log(code, io.stdout, io.stderr);
  const io2 = fakeIo();
  await main(['explain', 'http://localhost:8080/productpage', '--gateway', 'sampleapp-gateway', '-f', 'examples/002-bookinfo-rules', '-f', 'examples/002-bookinfo-rules/mtls'], io2);
  console.log(io2.stdout, io2.stderr);
});
