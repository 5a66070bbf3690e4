// Bytes of code per function of a WebAssembly module, largest first, by the names in its
// "name" section: `node xtask/bench/fn-sizes.mjs MODULE.wasm [ROWS]`. Where the tracker's
// bytes go (README "Size"); a listing, not a benchmark.
import { readFileSync } from "node:fs";
const b = readFileSync(process.argv[2]);
let p = 8;
const leb = () => { let r = 0, s = 0, x; do { x = b[p++]; r |= (x & 0x7f) << s; s += 7; } while (x & 0x80); return r >>> 0; };
let imports = 0, bodies = [], names = new Map();
while (p < b.length) {
  const id = b[p++]; const len = leb(); const end = p + len;
  if (id === 2) { const n = leb(); for (let i = 0; i < n; i++) { let l = leb(); p += l; l = leb(); p += l; const k = b[p++]; if (k === 0) { leb(); imports++; } else if (k===1){p++; const f=b[p++]; leb(); if(f&1) leb();} else if(k===2){const f=b[p++]; leb(); if(f&1) leb();} else {p+=2;} } }
  if (id === 10) { const n = leb(); for (let i = 0; i < n; i++) { const s = leb(); bodies.push(s); p += s; } }
  if (id === 0) { const nl = leb(); const nm = b.slice(p, p + nl).toString(); p += nl; if (nm === "name") { while (p < end) { const sid = b[p++]; const sl = leb(); const se = p + sl; if (sid === 1) { const n = leb(); for (let i = 0; i < n; i++) { const idx = leb(); const l = leb(); names.set(idx, b.slice(p, p + l).toString()); p += l; } } p = se; } } }
  p = end;
}
const rows = bodies.map((s, i) => [s, names.get(i + imports) ?? `f${i + imports}`]).sort((a, b) => b[0] - a[0]);
console.log("total code", bodies.reduce((a, c) => a + c, 0), "functions", bodies.length);
for (const [s, n] of rows.slice(0, +(process.argv[3] ?? 60))) console.log(String(s).padStart(6), n.slice(0, 150));
