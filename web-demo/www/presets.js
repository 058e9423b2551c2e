// Scenarios and the short explanations shown next to the selectors.

const link = (bandwidth_mbps, delay_ms, hops = 1) => ({ bandwidth_mbps, delay_ms, hops });
const server = (name, x, y, rate, l, extra = {}) =>
  ({ name, x, y, rate, workers: 8, queue: 64, weight: 1, link: l, ...extra });
const clients = (name, x, y, rate, l, extra = {}) =>
  ({ name, x, y, rate, clients: 500, session_share: 0.5, request_kb: 1, response_kb: 20, link: l, ...extra });

function base(extra) {
  return {
    seed: 1, method: 'proxy', dns_ttl_ms: 5000, algorithm: { name: 'rfws' }, sticky: false,
    health: { interval_ms: 200, window_ms: 600, threshold: 2, max_fails: 5, fail_timeout_ms: 2000, panic_threshold: 0.3 },
    bucket_ms: 500,
    edge: { name: 'edge', x: 400, y: 235, bandwidth_mbps: 1000, l7_overhead_ms: 0.3, l4_overhead_ms: 0.02, retries: 1, connect_timeout_ms: 500 },
    faults: [],
    ...extra,
  };
}

export const PRESETS = {
  // The paper's Figure 2: client PCs, the forwarding server, web servers whose
  // links carry (residual bandwidth Mbps, delay ms, performance).
  figure2: () => base({
    clients: [
      clients('PC group 1', 90, 110, 300, link(100, 5)),
      clients('PC group 2', 90, 235, 250, link(50, 12)),
      clients('PC group 3', 90, 360, 200, link(20, 25)),
    ],
    servers: [
      server('WS1', 740, 70, 400, link(100, 5)),
      server('WS2', 740, 180, 300, link(50, 10)),
      server('WS3', 740, 290, 200, link(20, 30, 2)),
      server('WS4', 740, 400, 500, link(100, 20, 2)),
    ],
  }),
  homogeneous: () => base({
    algorithm: { name: 'round_robin' },
    clients: [clients('clients', 90, 235, 1000, link(50, 10))],
    servers: [0, 1, 2, 3].map(i => server(`ws${i + 1}`, 740, 70 + i * 110, 400, link(1000, 2))),
  }),
  slow: () => base({
    clients: [clients('clients', 90, 235, 900, link(50, 10))],
    servers: [0, 1, 2, 3].map(i => server(`ws${i + 1}`, 740, 70 + i * 110, i === 2 ? 100 : 400, link(1000, 2))),
  }),
  remote: () => base({
    clients: [clients('Europe', 90, 150, 500, link(50, 10)), clients('Asia', 90, 330, 300, link(30, 40))],
    servers: [
      server('eu-1', 700, 80, 400, link(1000, 2)),
      server('eu-2', 700, 190, 400, link(1000, 2)),
      server('ap-1', 780, 300, 400, link(100, 80, 4)),
      server('ap-2', 780, 410, 400, link(100, 80, 4)),
    ],
  }),
  flash: () => base({
    clients: [
      clients('regulars', 90, 130, 500, link(50, 10)),
      clients('flash crowd', 90, 340, 1100, link(20, 20), { clients: 5000, session_share: 0 }),
    ],
    servers: [0, 1, 2, 3].map(i => server(`ws${i + 1}`, 740, 70 + i * 110, 400, link(1000, 2), { queue: 32 })),
  }),
  stress64: () => base({
    bucket_ms: 1000,
    edge: { name: 'edge', x: 330, y: 235, bandwidth_mbps: 100000, l7_overhead_ms: 0.3, l4_overhead_ms: 0.02, retries: 1, connect_timeout_ms: 500 },
    clients: [0, 1, 2, 3].map(i => clients(`clients ${i + 1}`, 80, 70 + i * 110, 12000, link(100, 5 + 5 * i), { clients: 5000 })),
    servers: Array.from({ length: 64 }, (_, i) =>
      server(`n${i + 1}`, 560 + (i % 4) * 95, 25 + Math.floor(i / 4) * 27.5, 1000, link(1000, 1 + (i % 8)))),
  }),
};

export const ALGO_HELP = {
  rfws: 'RFWS, the paper\'s rule: a valid cookie wins; otherwise drop faulty and overloaded nodes, score each by route benefit (bandwidth ÷ hops) × free capacity, break near-ties by smaller delay, then larger residual bandwidth, then at random.',
  round_robin: 'nginx\'s smooth weighted round robin: takes turns in proportion to weight. Ignores load and distance: a slow node gets the same share as a fast one.',
  random: 'Uniform random: no state, no coordination. With many requests it evens out, but it ignores load.',
  weighted_random: 'Random in proportion to weight: a cheap way to send more to bigger nodes.',
  least_connections: 'Fewest requests in flight (per weight): follows load, so slow nodes, which hold requests longer, get fewer.',
  least_connections_p2c: 'Power of two choices: sample two nodes, take the less loaded. Almost as good as a full scan and cheaper.',
  least_response_time: 'Peak-EWMA latency × pending requests (Finagle, Linkerd): reacts to slow nodes and slow links at once.',
  ip_hash: 'nginx ip_hash: the client\'s address picks the node, so a client keeps its node without cookies — and a busy subnet stays busy.',
  ketama: 'Consistent hashing (ketama ring): a node leaving moves only its own clients.',
  maglev: 'Maglev consistent hashing: a lookup table with even shares and minimal disruption.',
};

export const METHOD_HELP = {
  proxy: 'Reverse proxy (L7): every request and response passes the edge. It can read cookies and retry a failed request on another node, so users rarely see a dead node — but it carries all traffic.',
  redirect: 'HTTP redirect: the edge answers 302 with a node\'s URL; afterwards the client talks to that node directly. The edge is barely loaded but loses control: a client keeps its node until a request fails.',
  dns: 'DNS: the edge answers the name lookup; clients cache the answer for the TTL and go straight to the node. When a node dies, clients holding its address keep failing until the TTL expires — watch the error chart.',
  nat: 'L4 NAT (LVS-NAT): the edge rewrites packets both ways. Cheap per request, but every response crosses the edge: its bandwidth caps the whole site. No cookies, no retries.',
  dr: 'L4 direct routing (LVS-DR): requests pass the edge, responses go straight from the node to the client, so the edge\'s bandwidth no longer limits downloads.',
};
