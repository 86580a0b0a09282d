import { PGlite } from '@electric-sql/pglite';
const opts = process.argv[3] ? { postgresqlconf: process.argv[3].split(';') } : {};
const db = await PGlite.create(process.argv[2] ?? 'memory://', opts);
await db.query('select 1');
const r = (await db.query("select name, setting, unit from pg_settings where name in ('shared_buffers','wal_buffers','work_mem','maintenance_work_mem')")).rows;
console.log(JSON.stringify(r));
global.gc?.();
await new Promise(r=>setTimeout(r,1000));
console.log('rss MB', Math.round(process.memoryUsage().rss/1e6), process.memoryUsage());
