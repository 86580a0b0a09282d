// Filter-policy evaluation throughput: 10 policies of mixed operators (5 on attributes, 5 on a JSON body)
// against 100,000 generated messages. Needs `npm run build` first. Run alone: node bench/filter-policy.mjs
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { heraldDist } from './support.mjs';

const core = await import(pathToFileURL(join(heraldDist(), 'libs/core/src/index.js')).href);
const { bodyForFiltering, compileFilterPolicy } = core.default;
const MESSAGES = 100_000;

const policies = [
  ['attributes', { store: ['example_corp', 'other_corp'], event: [{ 'anything-but': 'order_cancelled' }] }],
  [
    'attributes',
    { price_usd: [{ numeric: ['>=', 100, '<', 500] }], customer_interests: ['rugby', 'football'] },
  ],
  ['attributes', { region: [{ prefix: 'eu-' }], source_ip: [{ cidr: '10.0.0.0/16' }] }],
  ['attributes', { $or: [{ event: [{ suffix: '_placed' }] }, { priority: [{ exists: true }] }] }],
  [
    'attributes',
    { event: [{ 'equals-ignore-case': 'ORDER_SHIPPED' }], encrypted: [false, { exists: false }] },
  ],
  ['body', { order: { total: [{ numeric: ['>', 250] }], currency: ['EUR', 'USD'] } }],
  [
    'body',
    { customer: { tier: [{ 'anything-but': ['free', 'trial'] }], email: [{ suffix: '@example.com' }] } },
  ],
  ['body', { items: { sku: [{ prefix: 'SKU-1' }] }, status: ['paid'] }],
  ['body', { $or: [{ order: { total: [{ numeric: ['<', 10] }] } }, { flags: ['fraud', 'review'] }] }],
  ['body', { meta: { ip: [{ cidr: '2001:db8::/32' }], trace: [{ exists: true }] } }],
].map(([scope, policy]) => compileFilterPolicy(policy, scope));

// mulberry32, seeded so every run evaluates the same messages.
let state = 42;
function random() {
  state = (state + 0x6d2b79f5) >>> 0;
  let t = Math.imul(state ^ (state >>> 15), state | 1);
  t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
  return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (items) => items[Math.floor(random() * items.length)];
const events = ['order_placed', 'order_cancelled', 'order_shipped', 'Order_Shipped', 'refund'];

function message() {
  const attributes = {
    store: pick(['example_corp', 'other_corp', 'third_corp']),
    event: pick(events),
    price_usd: Math.round(random() * 100_000) / 100,
    customer_interests: [pick(['rugby', 'soccer', 'tennis']), pick(['football', 'golf'])],
    region: pick(['eu-west-1', 'us-east-1', 'eu-central-1']),
    source_ip: `10.${pick([0, 1])}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`,
  };
  if (random() < 0.3) attributes.priority = 'high';
  if (random() < 0.5) attributes.encrypted = random() < 0.5;
  const body = {
    order: { total: Math.round(random() * 50_000) / 100, currency: pick(['EUR', 'USD', 'GBP']) },
    customer: {
      tier: pick(['free', 'trial', 'pro', 'enterprise']),
      email: `u${Math.floor(random() * 1000)}@${pick(['example.com', 'example.org'])}`,
    },
    items: Array.from({ length: 1 + Math.floor(random() * 4) }, () => ({
      sku: `SKU-${Math.floor(random() * 300)}`,
      qty: 1,
    })),
    status: pick(['paid', 'pending']),
    flags: random() < 0.1 ? ['review'] : [],
    meta: {
      ip: pick(['2001:db8::1', '2001:db9::7', '192.0.2.1']),
      ...(random() < 0.5 ? { trace: 'abc' } : {}),
    },
  };
  // Bodies arrive as JSON text; the fan-out parses each once and hands the result to every subscription.
  const text = JSON.stringify(body);
  return { attributes, body: text, parsedBody: bodyForFiltering(text) };
}

const messages = Array.from({ length: MESSAGES }, message);

function run() {
  let matched = 0;
  for (const input of messages) for (const policy of policies) if (policy.matches(input)) matched++;
  return matched;
}

run(); // warm-up, so the JIT has compiled the closures before the measured pass
const started = process.hrtime.bigint();
const matched = run();
const ms = Number(process.hrtime.bigint() - started) / 1e6;
const evaluations = MESSAGES * policies.length;
const perSecond = (evaluations / ms) * 1000;
console.log(
  `filter-policy: ${evaluations.toLocaleString('en-US')} evaluations in ${Math.round(ms)} ms = ${(perSecond / 1e6).toFixed(2)}M evaluations/s (${((matched / evaluations) * 100).toFixed(1)}% matched)`,
);
