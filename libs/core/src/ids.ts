import { randomBytes } from 'node:crypto';

const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

let lastTime = 0;
let lastRandom: Uint8Array = new Uint8Array(10);

/** A ULID (26 Crockford base32 chars): time-ordered, so ids sort by creation and serve as keyset cursors. */
export function ulid(now = Date.now()): string {
  let rnd: Uint8Array;
  if (now === lastTime) {
    rnd = incremented(lastRandom);
  } else {
    rnd = randomTen();
    lastTime = now;
  }
  lastRandom = rnd;
  return ulidTime(now) + encodeRandom(rnd);
}

/** The first 10 characters of every ULID made at `ms` (milliseconds since the epoch): its time. */
export function ulidTime(ms: number): string {
  let time = '';
  let t = Math.floor(ms);
  for (let i = 0; i < 10; i++) {
    time = CROCKFORD[t % 32] + time;
    t = Math.floor(t / 32);
  }
  return time;
}

const ULID_ID = /^[a-z]+_([0-7][0-9A-HJKMNP-TV-Z]{9})[0-9A-HJKMNP-TV-Z]{16}/;

/**
 * When an id such as `msg_01JD…` was made, from the time its ULID encodes; for a delivery id, its
 * message's time (deliveryIdFor puts the message's ULID first). Null for an id without a ULID.
 */
export function idTime(id: string): Date | null {
  const m = ULID_ID.exec(id);
  if (!m) return null;
  let ms = 0;
  for (const c of m[1]) ms = ms * 32 + CROCKFORD.indexOf(c);
  return new Date(ms);
}

/**
 * The smallest id with this prefix made at or after `ms`; ids made earlier sort below it (byte order,
 * as the catalog compares ids), so `[idAt(p, a), idAt(p, b))` holds exactly the ids made in [a, b).
 */
export function idAt(prefix: IdPrefix | 'dlv', ms: number): string {
  return `${prefix}_${ulidTime(ms)}`;
}

/** Random bytes drawn from a pool refilled 4 KiB at a time: one syscall per 400 ids, not per id. */
let pool = Buffer.alloc(0);
let poolOffset = 0;
function randomTen(): Uint8Array {
  if (poolOffset + 10 > pool.length) {
    pool = randomBytes(4096);
    poolOffset = 0;
  }
  const out = new Uint8Array(pool.subarray(poolOffset, poolOffset + 10));
  poolOffset += 10;
  return out;
}

function incremented(bytes: Uint8Array): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i] < 255) {
      out[i]++;
      return out;
    }
    out[i] = 0;
  }
  return randomTen();
}

function encodeRandom(bytes: Uint8Array): string {
  // 80 bits -> 16 base32 chars, as two 40-bit halves (exact in a double, no BigInt on the hot path).
  return encode40(bytes, 0) + encode40(bytes, 5);
}

function encode40(bytes: Uint8Array, at: number): string {
  let value = 0;
  for (let i = at; i < at + 5; i++) value = value * 256 + bytes[i];
  let out = '';
  for (let i = 0; i < 8; i++) {
    out = CROCKFORD[value % 32] + out;
    value = Math.floor(value / 32);
  }
  return out;
}

/** The most shards a message id can name: its last two characters (10 bits) say which. */
export const MAX_SHARDS = 1024;

let lastMessageTime = 0;
let lastMessageRandom: Uint8Array = new Uint8Array(10);

/**
 * A new message id whose last two characters name its shard (see messageShard): the low 10 bits of
 * the ULID's randomness. Ids made in the same millisecond step the bits above them, so they stay
 * unique and time-ordered.
 */
export function newMessageId(shard = 0, now = Date.now()): string {
  if (!Number.isInteger(shard) || shard < 0 || shard >= MAX_SHARDS)
    throw new RangeError(`shard must be 0..${MAX_SHARDS - 1} (got ${shard})`);
  let rnd: Uint8Array;
  if (now === lastMessageTime) {
    rnd = new Uint8Array(lastMessageRandom);
    // Add 1 at bit 10 (byte 8's third bit), carrying upwards.
    let carry = 4;
    for (let i = 8; i >= 0 && carry > 0; i--) {
      const sum = rnd[i] + carry;
      rnd[i] = sum & 0xff;
      carry = sum >> 8;
    }
  } else {
    rnd = randomTen();
    lastMessageTime = now;
  }
  rnd[8] = (rnd[8] & 0xfc) | (shard >> 8);
  rnd[9] = shard & 0xff;
  lastMessageRandom = rnd;
  return `msg_${ulidTime(now)}${encodeRandom(rnd)}`;
}

/** The shard a message id names (its last two characters), within `count` shards. */
export function messageShard(messageId: string, count: number): number {
  if (count <= 1) return 0;
  const tail = messageId.slice(-2);
  const value = CROCKFORD.indexOf(tail[0]) * 32 + CROCKFORD.indexOf(tail[1]);
  return value < 0 ? 0 : value % count;
}

export type IdPrefix = 'msg' | 'sub' | 'key' | 'dlq';

/** A new opaque id such as `msg_01JD…`: no dots and no colons (BullMQ job ids forbid `:`). */
export function newId(prefix: IdPrefix): string {
  return `${prefix}_${ulid()}`;
}

/** Deterministic delivery id for (message, subscription), so a resumed fan-out never duplicates a delivery. */
export function deliveryIdFor(messageId: string, subscriptionId: string): string {
  return `dlv_${stripPrefix(messageId)}${stripPrefix(subscriptionId)}`;
}

function stripPrefix(id: string): string {
  const i = id.indexOf('_');
  return i >= 0 ? id.slice(i + 1) : id;
}

/**
 * The ids of every delivery of a message lie in `[from, to)`: each starts with the message's ULID, so
 * they sit together in id order (and in the message's catalog partition).
 */
export function deliveryIdRange(messageId: string): { from: string; to: string } {
  const from = `dlv_${stripPrefix(messageId)}`;
  // '~' sorts after every character an id holds.
  return { from, to: `${from}~` };
}

/** The message and subscription ids a delivery id was made from (see deliveryIdFor); null if it is not one. */
export function deliveryParts(deliveryId: string): { messageId: string; subscriptionId: string } | null {
  const m = /^dlv_([0-9A-Z]{26})([0-9A-Z]{26})$/.exec(deliveryId);
  return m ? { messageId: `msg_${m[1]}`, subscriptionId: `sub_${m[2]}` } : null;
}
