// Import a GTFS folder with node-gtfs into a fresh SQLite file (bench/transit_import.py).
import { importGtfs } from "gtfs";

const [feed, sqlitePath] = process.argv.slice(2);
const started = Date.now();
await importGtfs({ agencies: [{ path: feed }], sqlitePath, logLevel: "warning" });
console.log(JSON.stringify({ seconds: (Date.now() - started) / 1000 }));
