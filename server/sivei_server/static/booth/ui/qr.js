// QR codes (ISO/IEC 18004, model 2, byte mode) for the challenged ballot, drawn as SVG: no
// third-party code. The algorithm follows the standard step by step (data bits, Reed–Solomon over
// GF(256) with the 0x11D polynomial, blocks interleaved, function patterns, zig-zag placement, the
// eight masks with the standard penalty rules, format and version information); tests compare the
// matrices with segno's for the same version, level and mask.
//
// What goes in the challenged ballot's QR code: not the whole file (over 100 KB in the production
// group), but what rebuilds it — the election hash, ballot style, public credential, choices and
// ballot nonce ("sivei-impugnada-qr/1"). The verification page re-encrypts from these and shows the
// tracking code to compare with the one the voting device showed before the challenge; the
// encryption is deterministic given the nonce, so equal tracking codes mean the same ballot.

export const QR_FORMAT = "sivei-impugnada-qr/1";

const LEVELS = {
  L: { bits: 1, ecc: [-1, 7, 10, 15, 20, 26, 18, 20, 24, 30, 18, 20, 24, 26, 30, 22, 24, 28, 30, 28, 28, 28, 28, 30, 30, 26,
    28, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30],
  blocks: [-1, 1, 1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4, 4, 6, 6, 6, 6, 7, 8, 8, 9, 9, 10, 12, 12, 12, 13, 14, 15, 16, 17, 18,
    19, 19, 20, 21, 22, 24, 25] },
  M: { bits: 0, ecc: [-1, 10, 16, 26, 18, 24, 16, 18, 22, 22, 26, 30, 22, 22, 24, 24, 28, 28, 26, 26, 26, 26, 28, 28, 28, 28,
    28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28, 28],
  blocks: [-1, 1, 1, 1, 2, 2, 4, 4, 4, 5, 5, 5, 8, 9, 9, 10, 10, 11, 13, 14, 16, 17, 17, 18, 20, 21, 23, 25, 26, 28, 29, 31,
    33, 35, 37, 38, 40, 43, 45, 47, 49] },
};

function rawDataModules(ver) {
  let result = (16 * ver + 128) * ver + 64;
  if (ver >= 2) {
    const numAlign = Math.floor(ver / 7) + 2;
    result -= (25 * numAlign - 10) * numAlign - 55;
    if (ver >= 7) result -= 36;
  }
  return result;
}

function dataCodewords(ver, level) {
  const L = LEVELS[level];
  return Math.floor(rawDataModules(ver) / 8) - L.ecc[ver] * L.blocks[ver];
}

function gfMul(x, y) {
  let z = 0;
  for (let i = 7; i >= 0; i--) {
    z = (z << 1) ^ ((z >>> 7) * 0x11d);
    z ^= ((y >>> i) & 1) * x;
  }
  return z & 0xff;
}

function rsDivisor(degree) {
  const result = new Array(degree).fill(0);
  result[degree - 1] = 1;
  let root = 1;
  for (let i = 0; i < degree; i++) {
    for (let j = 0; j < degree; j++) {
      result[j] = gfMul(result[j], root);
      if (j + 1 < degree) result[j] ^= result[j + 1];
    }
    root = gfMul(root, 0x02);
  }
  return result;
}

function rsRemainder(data, divisor) {
  const result = new Array(divisor.length).fill(0);
  for (const b of data) {
    const factor = b ^ result.shift();
    result.push(0);
    divisor.forEach((coef, i) => {
      result[i] ^= gfMul(coef, factor);
    });
  }
  return result;
}

function alignmentPositions(ver) {
  if (ver === 1) return [];
  const size = ver * 4 + 17;
  const numAlign = Math.floor(ver / 7) + 2;
  const step = ver === 32 ? 26 : Math.ceil((ver * 4 + 4) / (numAlign * 2 - 2)) * 2;
  const result = [6];
  for (let pos = size - 7; result.length < numAlign; pos -= step) result.splice(1, 0, pos);
  return result;
}

const MASKS = [
  (x, y) => (x + y) % 2 === 0,
  (x, y) => y % 2 === 0,
  (x) => x % 3 === 0,
  (x, y) => (x + y) % 3 === 0,
  (x, y) => (Math.floor(x / 3) + Math.floor(y / 2)) % 2 === 0,
  (x, y) => ((x * y) % 2) + ((x * y) % 3) === 0,
  (x, y) => (((x * y) % 2) + ((x * y) % 3)) % 2 === 0,
  (x, y) => (((x + y) % 2) + ((x * y) % 3)) % 2 === 0,
];

class Matrix {
  constructor(ver) {
    this.ver = ver;
    this.size = ver * 4 + 17;
    this.dark = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
    this.fixed = Array.from({ length: this.size }, () => new Array(this.size).fill(false));
  }

  set(x, y, dark) {
    this.dark[y][x] = dark;
    this.fixed[y][x] = true;
  }

  functionPatterns(level) {
    const n = this.size;
    for (let i = 0; i < n; i++) {
      this.set(6, i, i % 2 === 0);
      this.set(i, 6, i % 2 === 0);
    }
    for (const [cx, cy] of [[3, 3], [n - 4, 3], [3, n - 4]]) {
      for (let dy = -4; dy <= 4; dy++) {
        for (let dx = -4; dx <= 4; dx++) {
          const x = cx + dx;
          const y = cy + dy;
          const d = Math.max(Math.abs(dx), Math.abs(dy));
          if (x >= 0 && x < n && y >= 0 && y < n) this.set(x, y, d !== 2 && d !== 4);
        }
      }
    }
    const pos = alignmentPositions(this.ver);
    const last = pos.length - 1;
    pos.forEach((y, i) => {
      pos.forEach((x, j) => {
        if ((i === 0 && j === 0) || (i === 0 && j === last) || (i === last && j === 0)) return;
        for (let dy = -2; dy <= 2; dy++) {
          for (let dx = -2; dx <= 2; dx++) this.set(x + dx, y + dy, Math.max(Math.abs(dx), Math.abs(dy)) !== 1);
        }
      });
    });
    this.formatBits(level, 0);
    if (this.ver >= 7) {
      let rem = this.ver;
      for (let i = 0; i < 12; i++) rem = (rem << 1) ^ ((rem >>> 11) * 0x1f25);
      const bits = (this.ver << 12) | rem;
      for (let i = 0; i < 18; i++) {
        const bit = ((bits >>> i) & 1) !== 0;
        const a = n - 11 + (i % 3);
        const b = Math.floor(i / 3);
        this.set(a, b, bit);
        this.set(b, a, bit);
      }
    }
  }

  formatBits(level, mask) {
    const data = (LEVELS[level].bits << 3) | mask;
    let rem = data;
    for (let i = 0; i < 10; i++) rem = (rem << 1) ^ ((rem >>> 9) * 0x537);
    const bits = ((data << 10) | rem) ^ 0x5412;
    const bit = (i) => ((bits >>> i) & 1) !== 0;
    const n = this.size;
    for (let i = 0; i <= 5; i++) this.set(8, i, bit(i));
    this.set(8, 7, bit(6));
    this.set(8, 8, bit(7));
    this.set(7, 8, bit(8));
    for (let i = 9; i < 15; i++) this.set(14 - i, 8, bit(i));
    for (let i = 0; i < 8; i++) this.set(n - 1 - i, 8, bit(i));
    for (let i = 8; i < 15; i++) this.set(8, n - 15 + i, bit(i));
    this.set(8, n - 8, true);
  }

  place(codewords) {
    const n = this.size;
    let i = 0;
    for (let right = n - 1; right >= 1; right -= 2) {
      if (right === 6) right = 5;
      for (let vert = 0; vert < n; vert++) {
        for (let j = 0; j < 2; j++) {
          const x = right - j;
          const upward = ((right + 1) & 2) === 0;
          const y = upward ? n - 1 - vert : vert;
          if (!this.fixed[y][x] && i < codewords.length * 8) {
            this.dark[y][x] = ((codewords[i >>> 3] >>> (7 - (i & 7))) & 1) !== 0;
            i++;
          }
        }
      }
    }
  }

  applyMask(mask) {
    const f = MASKS[mask];
    for (let y = 0; y < this.size; y++) {
      for (let x = 0; x < this.size; x++) {
        if (!this.fixed[y][x] && f(x, y)) this.dark[y][x] = !this.dark[y][x];
      }
    }
  }

  penalty() {
    const n = this.size;
    let score = 0;
    const lines = [];
    for (let y = 0; y < n; y++) lines.push(this.dark[y]);
    for (let x = 0; x < n; x++) lines.push(this.dark.map((row) => row[x]));
    const finderLike = [[true, false, true, true, true, false, true, false, false, false, false],
      [false, false, false, false, true, false, true, true, true, false, true]];
    for (const line of lines) {
      let run = 1;
      for (let i = 1; i <= n; i++) {
        if (i < n && line[i] === line[i - 1]) {
          run++;
        } else {
          if (run >= 5) score += 3 + (run - 5);
          run = 1;
        }
      }
      // Finder-like patterns, with the quiet zone (light) around the symbol.
      const padded = [false, false, false, false, ...line, false, false, false, false];
      for (let i = 0; i + 11 <= padded.length; i++) {
        for (const pat of finderLike) {
          let same = true;
          for (let k = 0; k < 11 && same; k++) same = padded[i + k] === pat[k];
          if (same) score += 40;
        }
      }
    }
    for (let y = 0; y + 1 < n; y++) {
      for (let x = 0; x + 1 < n; x++) {
        const c = this.dark[y][x];
        if (c === this.dark[y][x + 1] && c === this.dark[y + 1][x] && c === this.dark[y + 1][x + 1]) score += 3;
      }
    }
    let darkCount = 0;
    for (const row of this.dark) for (const c of row) if (c) darkCount++;
    const total = n * n;
    const k = Math.ceil(Math.abs(darkCount * 20 - total * 10) / total) - 1;
    score += Math.max(0, k) * 10;
    return score;
  }
}

/** The data codewords (before error correction) of some bytes in byte mode. */
export function dataCodewordsOf(bytes, ver, level) {
  const capacity = dataCodewords(ver, level);
  const bits = [];
  const push = (value, len) => {
    for (let i = len - 1; i >= 0; i--) bits.push((value >>> i) & 1);
  };
  push(0b0100, 4);
  push(bytes.length, ver <= 9 ? 8 : 16);
  for (const b of bytes) push(b, 8);
  const room = capacity * 8;
  if (bits.length > room) throw new RangeError("too much data for this version");
  push(0, Math.min(4, room - bits.length));
  push(0, (8 - (bits.length % 8)) % 8);
  for (let pad = 0xec; bits.length < room; pad ^= 0xec ^ 0x11) push(pad, 8);
  const data = [];
  for (let i = 0; i < bits.length; i += 8) {
    let v = 0;
    for (let k = 0; k < 8; k++) v = (v << 1) | bits[i + k];
    data.push(v);
  }
  return data;
}

/** Error correction added to the data codewords, blocks interleaved. */
function withEcc(data, ver, level) {
  const L = LEVELS[level];
  const numBlocks = L.blocks[ver];
  const eccLen = L.ecc[ver];
  const raw = Math.floor(rawDataModules(ver) / 8);
  const numShort = numBlocks - (raw % numBlocks);
  const shortLen = Math.floor(raw / numBlocks);
  const divisor = rsDivisor(eccLen);
  const blocks = [];
  for (let i = 0, k = 0; i < numBlocks; i++) {
    const dat = data.slice(k, k + shortLen - eccLen + (i < numShort ? 0 : 1));
    k += dat.length;
    const ecc = rsRemainder(dat, divisor);
    if (i < numShort) dat.push(0);
    blocks.push(dat.concat(ecc));
  }
  const result = [];
  for (let i = 0; i < blocks[0].length; i++) {
    blocks.forEach((block, j) => {
      if (i !== shortLen - eccLen || j >= numShort) result.push(block[i]);
    });
  }
  return result;
}

/**
 * The QR matrix (rows of booleans, dark = true, no quiet zone) of some bytes in byte mode.
 * Options: level "M" (default) or "L"; version (1–40; default the smallest that fits); mask (0–7;
 * default the one with the lowest penalty). Throws RangeError when the data does not fit.
 */
export function qrMatrix(bytes, { level = "M", version = null, mask = null } = {}) {
  if (!LEVELS[level]) throw new RangeError(`unsupported level ${level}`);
  const fits = (v) => dataCodewords(v, level) * 8 >= 4 + (v <= 9 ? 8 : 16) + bytes.length * 8;
  let ver = version;
  if (ver === null) {
    for (ver = 1; ver <= 40 && !fits(ver); ver++);
  }
  if (ver > 40 || !fits(ver)) throw new RangeError("too much data for a QR code");
  return matrixOf(dataCodewordsOf(bytes, ver, level), ver, level, mask);
}

/** The matrix of data codewords (dataCodewordsOf) at a version and level; mask null: the best. */
export function matrixOf(data, ver, level, mask = null) {
  const codewords = withEcc(data, ver, level);
  const build = (m) => {
    const qr = new Matrix(ver);
    qr.functionPatterns(level);
    qr.place(codewords);
    qr.applyMask(m);
    qr.formatBits(level, m);
    return qr;
  };
  let best = null;
  if (mask !== null) {
    best = build(mask);
  } else {
    let bestScore = Infinity;
    for (let m = 0; m < 8; m++) {
      const qr = build(m);
      const score = qr.penalty();
      if (score < bestScore) {
        best = qr;
        bestScore = score;
      }
    }
  }
  return best.dark.map((row) => row.slice());
}

/** An SVG document drawing a QR matrix with a 4-module quiet zone. */
export function qrSvg(matrix) {
  const n = matrix.length;
  const parts = [];
  matrix.forEach((row, y) => {
    for (let x = 0; x < n;) {
      if (!row[x]) {
        x++;
        continue;
      }
      let run = 1;
      while (x + run < n && row[x + run]) run++;
      parts.push(`M${x + 4},${y + 4}h${run}v1h-${run}z`);
      x += run;
    }
  });
  const size = n + 8;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${size} ${size}" shape-rendering="crispEdges">` +
    `<rect width="${size}" height="${size}" fill="#fff"/><path fill="#000" d="${parts.join("")}"/></svg>`;
}

/** The QR code of a text (UTF-8, byte mode) as a data: URL of an SVG image. */
export function qrDataUrl(text, options = {}) {
  const svg = qrSvg(qrMatrix(new TextEncoder().encode(text), options));
  return `data:image/svg+xml,${encodeURIComponent(svg)}`;
}

function asciiJson(obj) {
  return JSON.stringify(obj).replace(/[\u007f-\uffff]/g, (ch) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** The QR text of a challenged-ballot file: what rebuilds its ballot (see the module comment). */
export function challengeQrText(file) {
  return asciiJson({
    format: QR_FORMAT,
    election_hash: file.election_hash,
    style: file.ballot.style,
    credential: file.ballot.credential,
    choices: file.choices,
    ballot_nonce: file.ballot_nonce,
  });
}
