// Byte codecs between the editor and the server. Label maps travel as exact class ids, never colours:
// server -> browser as zlib-compressed raw bytes (row-major H×W, uint8 ids or uint16 region ids),
// browser -> server as a grey 8-bit PNG whose pixel values are the class ids.
import { unzlibSync, zlibSync } from "fflate";

export function b64_to_bytes(b64: string): Uint8Array {
	const bin = atob(b64);
	const out = new Uint8Array(bin.length);
	for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
	return out;
}

export function bytes_to_b64(bytes: Uint8Array): string {
	let bin = "";
	const step = 0x8000;
	for (let i = 0; i < bytes.length; i += step) {
		bin += String.fromCharCode.apply(null, Array.from(bytes.subarray(i, i + step)));
	}
	return btoa(bin);
}

/** H×W uint8 class ids from the server's zlib payload. */
export function decode_labels(b64: string, w: number, h: number): Uint8Array {
	const raw = unzlibSync(b64_to_bytes(b64));
	if (raw.length !== w * h) throw new Error(`label map has ${raw.length} bytes, expected ${w * h}`);
	return raw;
}

/** zlib payload of H×W uint8 class ids (what the refine call sends). */
export function encode_labels(labels: Uint8Array): string {
	return bytes_to_b64(zlibSync(labels, { level: 1 }));
}

/** H×W uint16 region ids (little-endian) from the server's zlib payload. */
export function decode_regions(b64: string, w: number, h: number): Uint16Array {
	const raw = unzlibSync(b64_to_bytes(b64));
	if (raw.length !== 2 * w * h) throw new Error(`region map has ${raw.length} bytes, expected ${2 * w * h}`);
	const out = new Uint16Array(w * h);
	for (let i = 0; i < out.length; i++) out[i] = raw[2 * i] | (raw[2 * i + 1] << 8);
	return out;
}

const CRC_TABLE = (() => {
	const t = new Uint32Array(256);
	for (let n = 0; n < 256; n++) {
		let c = n;
		for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
		t[n] = c >>> 0;
	}
	return t;
})();

function crc32(bytes: Uint8Array): number {
	let c = 0xffffffff;
	for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
	return (c ^ 0xffffffff) >>> 0;
}

function chunk(kind: string, data: Uint8Array): Uint8Array {
	const out = new Uint8Array(12 + data.length);
	const view = new DataView(out.buffer);
	view.setUint32(0, data.length);
	for (let i = 0; i < 4; i++) out[4 + i] = kind.charCodeAt(i);
	out.set(data, 8);
	view.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
	return out;
}

/** Base64 of a grey 8-bit PNG (filter "none" on every row) holding ``labels`` exactly. */
export function encode_png(labels: Uint8Array, w: number, h: number): string {
	const rows = new Uint8Array(h * (w + 1));
	for (let y = 0; y < h; y++) rows.set(labels.subarray(y * w, (y + 1) * w), y * (w + 1) + 1);
	const ihdr = new Uint8Array(13);
	const v = new DataView(ihdr.buffer);
	v.setUint32(0, w);
	v.setUint32(4, h);
	ihdr.set([8, 0, 0, 0, 0], 8); // 8-bit, greyscale, deflate, no filter method extras, no interlace
	const parts = [
		new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
		chunk("IHDR", ihdr),
		chunk("IDAT", zlibSync(rows, { level: 6 })),
		chunk("IEND", new Uint8Array(0))
	];
	const total = parts.reduce((n, p) => n + p.length, 0);
	const png = new Uint8Array(total);
	let at = 0;
	for (const p of parts) {
		png.set(p, at);
		at += p.length;
	}
	return bytes_to_b64(png);
}
