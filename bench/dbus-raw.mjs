// Evidence for FINDINGS.md item 2: what the D-Bus round trips cost without a library. Connects to the
// user bus ($XDG_RUNTIME_DIR/bus), AUTH EXTERNAL, Hello, then one Properties.Get of systemd's
// Manager.ControlGroup (what tsrunc asks to decide whether systemd --user can place a container);
// prints the times as JSON. Compare: dbus-next's require alone is ~27 ms here.
//   XDG_RUNTIME_DIR=/run/user/$(id -u) node bench/dbus-raw.mjs
const t0 = performance.now();
const net = await import('node:net');
class W {
  constructor() { this.b = Buffer.alloc(512); this.o = 0; }
  align(a) { while (this.o % a) this.b[this.o++] = 0; }
  y(v) { this.b[this.o++] = v; }
  u(v) { this.align(4); this.b.writeUInt32LE(v, this.o); this.o += 4; }
  s(v) { this.u(Buffer.byteLength(v)); this.o += this.b.write(v, this.o); this.y(0); }
  g(v) { this.y(Buffer.byteLength(v)); this.o += this.b.write(v, this.o); this.y(0); }
}
function msg(serial, fields, bodyStrings) {
  const body = new W(); for (const s of bodyStrings) body.s(s);
  const w = new W();
  w.y('l'.charCodeAt(0)); w.y(1); w.y(0); w.y(1); w.u(body.o); w.u(serial);
  const lenAt = w.o; w.u(0); const start = w.o; // array content starts at 16 (8-aligned)
  for (const [code, t, v] of fields) { w.align(8); w.y(code); w.g(t); if (t === 'g') w.g(v); else w.s(v); }
  w.b.writeUInt32LE(w.o - start, lenAt);
  w.align(8);
  return Buffer.concat([w.b.subarray(0, w.o), body.b.subarray(0, body.o)]);
}
const pad8 = (n) => (8 - (n % 8)) % 8;
const sock = net.createConnection(`${process.env.XDG_RUNTIME_DIR}/bus`);
let buf = Buffer.alloc(0); let waiter = null;
sock.on('data', (d) => { buf = Buffer.concat([buf, d]); waiter?.(); });
const until = (pred) => new Promise((res) => { const chk = () => { const r = pred(); if (r !== undefined) { waiter = null; res(r); } }; waiter = chk; chk(); });
const full = () => { if (buf.length < 16) return; const bl = buf.readUInt32LE(4), fl = buf.readUInt32LE(12); const hl = 16 + fl + pad8(16 + fl); if (buf.length < hl + bl) return; const m = buf.subarray(0, hl + bl); buf = buf.subarray(hl + bl); return m; };
await new Promise((r) => sock.once('connect', r));
sock.write(Buffer.concat([Buffer.from([0]), Buffer.from(`AUTH EXTERNAL ${Buffer.from(String(process.getuid())).toString('hex')}\r\n`)]));
await until(() => { const i = buf.indexOf('\r\n'); if (i < 0) return; const l = buf.subarray(0, i).toString(); buf = buf.subarray(i + 2); return l; });
sock.write('BEGIN\r\n');
const D = 'org.freedesktop.DBus';
sock.write(msg(1, [[1, 'o', '/org/freedesktop/DBus'], [2, 's', D], [3, 's', 'Hello'], [6, 's', D]], []));
await until(full); // Hello reply
const t1 = performance.now();
sock.write(msg(2, [[1, 'o', '/org/freedesktop/systemd1'], [2, 's', 'org.freedesktop.DBus.Properties'], [3, 's', 'Get'], [6, 's', 'org.freedesktop.systemd1'], [8, 'g', 'ss']], ['org.freedesktop.systemd1.Manager', 'ControlGroup']));
let m; do { m = await until(full); } while (m[1] !== 2 && m[1] !== 3); // skip the NameAcquired signal
const t2 = performance.now();
console.log(JSON.stringify({ connectHello: t1 - t0, get: t2 - t1, type: m[1], cg: /\/user\.slice[^\0]*/.exec(m.toString('latin1'))?.[0] }));
sock.destroy();
