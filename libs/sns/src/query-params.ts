import { invalidParameter } from './sns-error';

/** A list index or map entry number above this is refused: no SNS list comes near it. */
const MAX_INDEX = 1000;
const MAX_PARAMS = 10_000;

/**
 * The parameters of an AWS Query request (`Action=Publish&MessageAttributes.entry.1.Name=…`), read from
 * the very bytes that were signed. Lists are `Name.member.N…`, maps `Name.entry.N.key` / `…value`; a
 * view of one member or entry answers its own keys with the prefix taken off.
 */
export class QueryParams {
  private constructor(private readonly flat: ReadonlyMap<string, string>) {}

  /** Parses a form body or query string; a parameter given twice is refused. */
  static parse(text: string): QueryParams {
    const flat = new Map<string, string>();
    for (const [key, value] of new URLSearchParams(text)) {
      if (flat.has(key)) throw invalidParameter(key, 'the parameter is given more than once');
      flat.set(key, value);
      if (flat.size > MAX_PARAMS) throw invalidParameter(key, 'the request has too many parameters');
    }
    return new QueryParams(flat);
  }

  static of(entries: Record<string, string>): QueryParams {
    return new QueryParams(new Map(Object.entries(entries)));
  }

  string(name: string): string | undefined {
    return this.flat.get(name);
  }

  /** The parameter, or InvalidParameter naming it when it is absent or empty. */
  required(name: string): string {
    const value = this.flat.get(name);
    if (value === undefined || value === '') throw invalidParameter(name, 'the parameter is required');
    return value;
  }

  /** `"true"` / `"false"` (any case); undefined when absent. */
  boolean(name: string): boolean | undefined {
    const value = this.flat.get(name);
    if (value === undefined) return undefined;
    if (/^true$/i.test(value)) return true;
    if (/^false$/i.test(value)) return false;
    throw invalidParameter(name, 'must be true or false');
  }

  /** Names of the parameters at this level (`Attributes.entry.1.key` counts as `Attributes`). */
  names(): string[] {
    return [...new Set([...this.flat.keys()].map((k) => k.split('.')[0]))];
  }

  /** `name.member.1`, `name.member.2`… as views, in index order; `name=` (an empty list) is none. */
  list(name: string, member = 'member'): QueryParams[] {
    return this.indexed(`${name}.${member}.`).map(([, view]) => view);
  }

  /** A list of plain values: `name.member.N=value`. */
  values(name: string): string[] {
    const out: string[] = [];
    for (const [index, view] of this.indexed(`${name}.member.`)) {
      const value = view.string('');
      if (value === undefined) throw invalidParameter(`${name}.member.${index}`, 'must be a value');
      out.push(value);
    }
    return out;
  }

  /** `name.entry.N.{key}` / `name.entry.N.{value}…` as [key, view of the value] pairs, in index order. */
  map(name: string, key = 'key', value = 'value'): Array<[string, QueryParams]> {
    return this.indexed(`${name}.entry.`).map(([index, view]) => {
      const k = view.string(key);
      if (k === undefined || k === '') throw invalidParameter(`${name}.entry.${index}.${key}`, 'is required');
      return [k, view.scoped(value)];
    });
  }

  /** A map of plain string values (`Attributes`): a key given twice is refused. */
  stringMap(name: string): Map<string, string> {
    const out = new Map<string, string>();
    for (const [key, view] of this.map(name)) {
      if (out.has(key)) throw invalidParameter(`${name}`, `${key} is given more than once`);
      out.set(key, view.string('') ?? '');
    }
    return out;
  }

  /** The keys under `prefix.` (and `prefix` itself as the empty key). */
  private scoped(prefix: string): QueryParams {
    const out = new Map<string, string>();
    for (const [k, v] of this.flat) {
      if (k === prefix) out.set('', v);
      else if (k.startsWith(`${prefix}.`)) out.set(k.slice(prefix.length + 1), v);
    }
    return new QueryParams(out);
  }

  private indexed(prefix: string): Array<[number, QueryParams]> {
    const indexes = new Set<number>();
    for (const k of this.flat.keys()) {
      if (!k.startsWith(prefix)) continue;
      const part = k.slice(prefix.length).split('.')[0];
      const index = /^[1-9]\d{0,3}$/.test(part) ? Number(part) : NaN;
      if (!(index <= MAX_INDEX)) throw invalidParameter(k, 'not a list member or map entry');
      indexes.add(index);
    }
    return [...indexes].sort((a, b) => a - b).map((i) => [i, this.scoped(`${prefix}${i}`)]);
  }
}
