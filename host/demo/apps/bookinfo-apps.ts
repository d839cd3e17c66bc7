// Seed 002's bookinfo services, as far as its rules need them: productpage (calls details and
// reviews, forwarding the user and browser headers the reviews rule matches), reviews v1 (no
// stars) and v2/v3 (call ratings), ratings and details. Each answers JSON naming its service
// and version, and productpage shows what each upstream answered, so a test or a curl sees
// which subset served, a 504 from the reviews timeout, or a ratings failure.
import type { IncomingMessage } from 'node:http';
import { OutboundClient, type OutboundResult } from './outbound-call.js';
import { BOOKINFO_HEADERS, propagatedHeaders } from './propagated-headers.js';
import { ServiceApp, type AppAnswer, type ServiceAppOptions } from './service-app.js';

/** bookinfo's services listen on 9080 (the ServiceEntries' port); apps call `<service>:9080`. */
export const BOOKINFO_PORT = 9080;

/** An upstream's answer as productpage and reviews show it: the status, and the JSON (or text) body. */
export interface UpstreamView {
  status: number;
  body: unknown;
  ms: number;
}

function view(r: OutboundResult): UpstreamView {
  let body: unknown = r.body;
  try {
    body = JSON.parse(r.body);
  } catch {
    // A proxy's local reply (`upstream request timeout`) is text: shown as is.
  }
  return { status: r.status, body, ms: r.ms };
}

function json(status: number, value: unknown): AppAnswer {
  return { status, body: JSON.stringify(value) + '\n', contentType: 'application/json' };
}

/** An app that calls other bookinfo services through its sidecar. */
abstract class CallingApp extends ServiceApp {
  readonly outbound = new OutboundClient();

  protected call(req: IncomingMessage, service: string, path: string): Promise<UpstreamView> {
    return this.outbound.get(`${service}:${BOOKINFO_PORT}`, path, propagatedHeaders(req.headers, BOOKINFO_HEADERS)).then(view);
  }

  override async close(): Promise<void> {
    this.outbound.close();
    await super.close();
  }
}

/**
 * productpage: `GET /productpage` (and the other paths the gateway rule routes) answers 200
 * with details and reviews as they answered — bookinfo shows "reviews unavailable" rather than
 * failing the page. The `end-user` header stands in for bookinfo's login session.
 */
export class ProductpageApp extends CallingApp {
  constructor(options: Omit<ServiceAppOptions, 'service'>) {
    super({ ...options, service: 'productpage' });
  }

  protected override async answer(req: IncomingMessage): Promise<AppAnswer> {
    const [details, reviews] = await Promise.all([this.call(req, 'details', '/details/0'), this.call(req, 'reviews', '/reviews/0')]);
    return json(200, { service: this.service, version: this.version, user: req.headers['end-user'] ?? null, details, reviews });
  }
}

/** reviews: v1 shows no stars; v2 (black) and v3 (red) ask ratings. */
export class ReviewsApp extends CallingApp {
  constructor(options: Omit<ServiceAppOptions, 'service'>) {
    super({ ...options, service: 'reviews' });
  }

  protected override async answer(req: IncomingMessage): Promise<AppAnswer> {
    if (this.version === 'v1') return json(200, { service: this.service, version: this.version });
    const ratings = await this.call(req, 'ratings', '/ratings/0');
    return json(200, { service: this.service, version: this.version, stars: this.version === 'v2' ? 'black' : 'red', ratings });
  }
}

/** ratings and details answer who they are; `failStatus` makes an instance fail (outlier detection). */
export function ratingsApp(options: Omit<ServiceAppOptions, 'service'>): ServiceApp {
  return new ServiceApp({ ...options, service: 'ratings' });
}

export function detailsApp(options: Omit<ServiceAppOptions, 'service'>): ServiceApp {
  return new ServiceApp({ ...options, service: 'details' });
}
