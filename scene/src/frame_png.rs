//! A frame as a PNG that is quick to make and, above all, quick to open.
//!
//! The app hands each rendered frame to its page as a PNG, which the page's engine decodes
//! (libpng and zlib in WebKitGTK). What costs there is not the bytes but how they are coded:
//! rows filtered adaptively (Paeth, mostly) and deflated as one literal after another take the
//! engine ≈ 9 ms for a 1280×720 map, where the same pixels unfiltered, deflated with long
//! matches, open in ≈ 4 ms. A map frame repeats itself in two ways above all: a pixel like the one
//! before it (a flat face, the background) and a pixel like the one above it (an edge, a
//! road). So the rows go unfiltered and each byte is matched against the pixel before
//! (distance 3) and the pixel above (distance one row): two comparisons a position, no hash
//! tables. Each band of rows is one block with its own Huffman codes, ended on a byte boundary
//! (an empty stored block), so the bands are coded on all cores and joined as they are.
//! Checked by decoding with the `png` crate (another inflate) in the tests below.

use crate::view::Frame;

/// Rows per deflate block (and per parallel task): small enough to follow the picture's
/// content, large enough that a block's code tables (≈ 60–100 bytes) cost nothing.
const BAND_ROWS: usize = 32;
/// Deflate's window: a match may reach this far back.
const WINDOW: usize = 32_768;
/// Deflate's longest match.
const MAX_MATCH: usize = 258;

const LEN_BASE: [u16; 29] = [
    3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258,
];
const LEN_EXTRA: [u8; 29] = [
    0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
];
const DIST_BASE: [u16; 30] = [
    1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073, 4097, 6145, 8193, 12289, 16385,
    24577,
];
const DIST_EXTRA: [u8; 30] = [
    0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
];
/// The order in which the code-length code's lengths are sent (RFC 1951, 3.2.7).
const CL_ORDER: [usize; 19] = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];
/// Adler-32's modulus.
const ADLER_MOD: u64 = 65_521;

/// `frame` as a PNG (8-bit RGB: frames are opaque, so alpha is left out). A frame is at least
/// 1×1 (the renderer makes no other).
pub fn encode(frame: &Frame) -> Vec<u8> {
    let (w, h) = (frame.width as usize, frame.height as usize);
    debug_assert!(w > 0 && h > 0, "a frame of {w}×{h}");
    let stride = 3 * w + 1;
    // Threads of its own rather than rayon's pool, where imagery and tiles load in the
    // background: a frame waits for nothing.
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 4);
    // The rows as the PNG holds them: a filter byte (0, none) and RGB.
    let mut data = vec![0u8; stride * h];
    if w > 0 {
        let rows_each = h.div_ceil(threads).max(1);
        std::thread::scope(|s| {
            for (out, rgba) in data.chunks_mut(rows_each * stride).zip(frame.rgba.chunks(rows_each * 4 * w)) {
                s.spawn(move || {
                    for (out, row) in out.chunks_exact_mut(stride).zip(rgba.chunks_exact(4 * w)) {
                        for (o, p) in out[1..].chunks_exact_mut(3).zip(row.chunks_exact(4)) {
                            o.copy_from_slice(&p[..3]);
                        }
                    }
                });
            }
        });
    }
    // The pixel above is a candidate while a row fits in the window.
    let above = (stride <= WINDOW).then_some(stride);
    let n_bands = h.div_ceil(BAND_ROWS);
    let band = |b: usize| {
        let (start, end) = (b * BAND_ROWS * stride, ((b + 1) * BAND_ROWS).min(h) * stride);
        let mut bits = Bits::with_capacity((end - start) / 8);
        deflate_band(&data, start, end, above, &mut bits);
        // An empty stored block ends the band on a byte boundary.
        bits.put(0, 3);
        let mut out = bits.finish();
        out.extend([0, 0, 0xff, 0xff]);
        (out, Adler::of(&data[start..end]))
    };
    // Bands dealt out in turn (their cost varies down the picture), gathered back in order.
    let mut bands: Vec<Option<(Vec<u8>, Adler)>> = vec![None; n_bands];
    std::thread::scope(|s| {
        let band = &band;
        let workers: Vec<_> = (0..threads.min(n_bands))
            .map(|t| s.spawn(move || (t..n_bands).step_by(threads).map(|b| (b, band(b))).collect::<Vec<_>>()))
            .collect();
        for w in workers {
            for (b, out) in w.join().unwrap_or_default() {
                bands[b] = Some(out);
            }
        }
    });
    let bands: Vec<(Vec<u8>, Adler)> = bands.into_iter().flatten().collect();
    let mut z = Vec::with_capacity(bands.iter().map(|(b, _)| b.len()).sum::<usize>() + 8);
    z.extend([0x78, 0x01]);
    let mut sum = Adler::default();
    for (bytes, adler) in &bands {
        z.extend_from_slice(bytes);
        sum = sum.then(adler);
    }
    // The last block: an empty one with the fixed codes, marked final.
    z.extend([0x03, 0x00]);
    z.extend(sum.value().to_be_bytes());

    let mut png = Vec::with_capacity(z.len() + 64);
    png.extend([0x89, b'P', b'N', b'G', 13, 10, 26, 10]);
    let mut ihdr = [0u8; 13];
    ihdr[..4].copy_from_slice(&frame.width.to_be_bytes());
    ihdr[4..8].copy_from_slice(&frame.height.to_be_bytes());
    ihdr[8..].copy_from_slice(&[8, 2, 0, 0, 0]); // 8-bit RGB, deflate, adaptive filtering, no interlace
    chunk(&mut png, b"IHDR", &ihdr);
    chunk(&mut png, b"IDAT", &z);
    chunk(&mut png, b"IEND", &[]);
    png
}

fn chunk(out: &mut Vec<u8>, kind: &[u8; 4], body: &[u8]) {
    out.extend((body.len() as u32).to_be_bytes());
    let mut crc = crc32fast::Hasher::new();
    crc.update(kind);
    crc.update(body);
    out.extend(kind);
    out.extend_from_slice(body);
    out.extend(crc.finalize().to_be_bytes());
}

/// Adler-32 of a run of bytes as its two sums without the initial 1 (`a` = Σ x, `b` = Σ of the
/// running `a`), so that runs summed apart can be joined.
#[derive(Clone, Copy, Default, Debug, PartialEq)]
struct Adler {
    a: u64,
    b: u64,
    len: u64,
}

impl Adler {
    fn of(bytes: &[u8]) -> Self {
        let (mut a, mut b) = (0u64, 0u64);
        // 5,552 bytes at most between reductions keeps `b` within u32 in zlib; u64 has room for more.
        for part in bytes.chunks(1 << 16) {
            for &x in part {
                a += u64::from(x);
                b += a;
            }
            a %= ADLER_MOD;
            b %= ADLER_MOD;
        }
        Adler {
            a,
            b,
            len: bytes.len() as u64,
        }
    }

    /// The sums of `self`'s bytes followed by `next`'s.
    fn then(self, next: &Adler) -> Self {
        Adler {
            a: (self.a + next.a) % ADLER_MOD,
            b: (self.b + (next.len % ADLER_MOD) * self.a + next.b) % ADLER_MOD,
            len: self.len + next.len,
        }
    }

    /// The checksum zlib writes: both sums started from a = 1.
    fn value(self) -> u32 {
        let a = (1 + self.a) % ADLER_MOD;
        let b = (self.len % ADLER_MOD + self.b) % ADLER_MOD;
        ((b << 16) | a) as u32
    }
}

/// Bits written least significant first, as deflate packs them.
struct Bits {
    out: Vec<u8>,
    acc: u64,
    n: u32,
}

impl Bits {
    fn with_capacity(bytes: usize) -> Self {
        Bits {
            out: Vec::with_capacity(bytes),
            acc: 0,
            n: 0,
        }
    }

    /// Append the low `len` (≤ 32) bits of `v`.
    #[inline(always)]
    fn put(&mut self, v: u32, len: u32) {
        self.acc |= u64::from(v) << self.n;
        self.n += len;
        if self.n >= 32 {
            self.out.extend_from_slice(&(self.acc as u32).to_le_bytes());
            self.acc >>= 32;
            self.n -= 32;
        }
    }

    /// Pad to a whole byte and hand back the bytes.
    fn finish(mut self) -> Vec<u8> {
        while self.n > 0 {
            self.out.push(self.acc as u8);
            self.acc >>= 8;
            self.n = self.n.saturating_sub(8);
        }
        self.out
    }
}

/// Length code index (0–28) of each match length 3–258, made at compile time.
const LEN_CODE: [u8; MAX_MATCH + 1] = {
    let mut t = [0u8; MAX_MATCH + 1];
    let mut len = 3;
    while len <= MAX_MATCH {
        let mut c = LEN_BASE.len() - 1;
        while LEN_BASE[c] as usize > len {
            c -= 1;
        }
        t[len] = c as u8;
        len += 1;
    }
    t
};

fn len_code(len: usize) -> usize {
    usize::from(LEN_CODE[len])
}

fn dist_code(dist: usize) -> usize {
    DIST_BASE.iter().rposition(|&b| usize::from(b) <= dist).unwrap_or(0)
}

/// Huffman code lengths of at most `max` bits for symbol frequencies `freq` (0: unused). Lengths
/// of an optimal code, then, where it is deeper than `max`, the deepest moved up and the
/// Kraft sum restored by lengthening the next shorter codes (as zlib and miniz do).
fn code_lengths(freq: &[u32], max: usize) -> Vec<u8> {
    let mut lens = vec![0u8; freq.len()];
    let mut used: Vec<(u32, usize)> = freq.iter().enumerate().filter(|&(_, &f)| f > 0).map(|(s, &f)| (f, s)).collect();
    match used.len() {
        0 => return lens,
        1 => {
            lens[used[0].1] = 1;
            return lens;
        }
        _ => {}
    }
    used.sort_unstable();
    // Huffman's tree by two queues: the leaves in order of weight, the inner nodes as made.
    let n = used.len();
    let mut weight: Vec<u64> = used.iter().map(|&(f, _)| u64::from(f)).collect();
    weight.resize(2 * n - 1, 0);
    let mut parent = vec![0usize; 2 * n - 1];
    let (mut leaf, mut inner) = (0, n);
    for node in n..2 * n - 1 {
        let mut lightest = || {
            if leaf < n && (inner >= node || weight[leaf] <= weight[inner]) {
                leaf += 1;
                leaf - 1
            } else {
                inner += 1;
                inner - 1
            }
        };
        let (a, b) = (lightest(), lightest());
        weight[node] = weight[a] + weight[b];
        parent[a] = node;
        parent[b] = node;
    }
    // Depths from the root (the last node) down.
    let mut depth = vec![0usize; 2 * n - 1];
    for i in (0..2 * n - 2).rev() {
        depth[i] = depth[parent[i]] + 1;
    }
    let mut count = vec![0u64; n.max(max) + 1];
    for &d in &depth[..n] {
        count[d] += 1;
    }
    for d in max + 1..count.len() {
        count[max] += count[d];
        count[d] = 0;
    }
    let mut kraft: u64 = (1..=max).map(|d| count[d] << (max - d)).sum();
    while kraft > 1 << max {
        count[max] -= 1;
        if let Some(d) = (1..max).rev().find(|&d| count[d] > 0) {
            count[d] -= 1;
            count[d + 1] += 2;
        }
        kraft -= 1;
    }
    // The most frequent symbols take the shortest codes.
    let mut by_weight = used.iter().rev();
    for (d, &c) in count.iter().enumerate().take(max + 1).skip(1) {
        for _ in 0..c {
            if let Some(&(_, s)) = by_weight.next() {
                lens[s] = d as u8;
            }
        }
    }
    lens
}

/// The canonical codes of `lens`, bit-reversed for writing least significant bit first.
fn codes(lens: &[u8]) -> Vec<u32> {
    let mut count = [0u32; 16];
    for &l in lens {
        count[usize::from(l)] += 1;
    }
    count[0] = 0;
    let mut next = [0u32; 16];
    let mut code = 0;
    for b in 1..16 {
        code = (code + count[b - 1]) << 1;
        next[b] = code;
    }
    lens.iter()
        .map(|&l| {
            if l == 0 {
                return 0;
            }
            let c = next[usize::from(l)];
            next[usize::from(l)] += 1;
            c.reverse_bits() >> (32 - u32::from(l))
        })
        .collect()
}

/// How many bytes from `i` on (at most `max`) equal those `d` before them.
#[inline(always)]
fn match_len(data: &[u8], i: usize, d: usize, max: usize) -> usize {
    let mut n = 0;
    while n + 8 <= max {
        let here = u64::from_le_bytes(data[i + n..i + n + 8].try_into().unwrap_or_default());
        let there = u64::from_le_bytes(data[i + n - d..i + n - d + 8].try_into().unwrap_or_default());
        let diff = here ^ there;
        if diff != 0 {
            return n + (diff.trailing_zeros() / 8) as usize;
        }
        n += 8;
    }
    while n < max && data[i + n] == data[i + n - d] {
        n += 1;
    }
    n
}

/// A symbol of the LZ77 pass: a literal byte, or a match (its length, and whether it reaches
/// the pixel above rather than the pixel before).
const MATCH: u16 = 1 << 15;
const ABOVE: u16 = 1 << 14;

/// `data[start..end]` as one dynamic-Huffman block, not final (`data` before `start` may be
/// referred to). `above`: the distance to the pixel above, when a row fits in the window.
fn deflate_band(data: &[u8], start: usize, end: usize, above: Option<usize>, bits: &mut Bits) {
    let mut syms: Vec<u16> = Vec::with_capacity(end - start);
    let mut lit_freq = [0u32; 286];
    let mut dist_freq = [0u32; 30];
    let (before_code, above_code) = (dist_code(3), above.map_or(0, dist_code));
    let mut i = start;
    while i < end {
        let max = (end - i).min(MAX_MATCH);
        // A match is 3 bytes at least: the first three are compared before anything longer
        // (most of a detailed frame's positions match neither).
        let head = |at: usize| u32::from(data[at]) | u32::from(data[at + 1]) << 8 | u32::from(data[at + 2]) << 16;
        let here = if max >= 3 { head(i) } else { u32::MAX };
        let before = if i >= 3 && max >= 3 && head(i - 3) == here {
            match_len(data, i, 3, max)
        } else {
            0
        };
        let up = match above {
            Some(d) if i >= d && before < max && max >= 3 && head(i - d) == here => match_len(data, i, d, max),
            _ => 0,
        };
        let (len, is_above) = if up > before { (up, true) } else { (before, false) };
        if len >= 3 {
            syms.push(MATCH | len as u16 | if is_above { ABOVE } else { 0 });
            lit_freq[257 + len_code(len)] += 1;
            dist_freq[if is_above { above_code } else { before_code }] += 1;
            i += len;
        } else {
            syms.push(u16::from(data[i]));
            lit_freq[usize::from(data[i])] += 1;
            i += 1;
        }
    }
    lit_freq[256] = 1;
    // Two codes at least in each alphabet: every inflate accepts a complete code.
    for freq in [&mut lit_freq[..], &mut dist_freq[..]] {
        if freq.iter().filter(|&&f| f > 0).count() < 2 {
            for f in freq.iter_mut().take(2) {
                *f = (*f).max(1);
            }
        }
    }
    let (lit_lens, dist_lens) = (code_lengths(&lit_freq, 15), code_lengths(&dist_freq, 15));
    let (lit_codes, dist_codes) = (codes(&lit_lens), codes(&dist_lens));
    let hlit = 257 + lit_lens[257..].iter().rposition(|&l| l > 0).map_or(0, |p| p + 1);
    let hdist = 1 + dist_lens.iter().rposition(|&l| l > 0).unwrap_or(0);

    // The code lengths, run-length coded: (symbol 0–18, its extra bits).
    let lens: Vec<u8> = lit_lens[..hlit].iter().chain(&dist_lens[..hdist]).copied().collect();
    let mut runs: Vec<(u8, u8)> = Vec::new();
    let mut k = 0;
    while k < lens.len() {
        let l = lens[k];
        let run = lens[k..].iter().take_while(|&&x| x == l).count();
        let mut left = run;
        if l == 0 {
            while left >= 11 {
                let r = left.min(138);
                runs.push((18, (r - 11) as u8));
                left -= r;
            }
            if left >= 3 {
                runs.push((17, (left - 3) as u8));
                left = 0;
            }
        } else {
            runs.push((l, 0));
            left -= 1;
            while left >= 3 {
                let r = left.min(6);
                runs.push((16, (r - 3) as u8));
                left -= r;
            }
        }
        runs.extend(std::iter::repeat_n((l, 0), left));
        k += run;
    }
    let mut cl_freq = [0u32; 19];
    for &(s, _) in &runs {
        cl_freq[usize::from(s)] += 1;
    }
    let cl_lens = code_lengths(&cl_freq, 7);
    let cl_codes = codes(&cl_lens);
    let hclen = CL_ORDER.iter().rposition(|&s| cl_lens[s] > 0).map_or(0, |p| p + 1).max(4);

    bits.put(0, 1); // not the last block
    bits.put(2, 2); // dynamic Huffman codes
    bits.put((hlit - 257) as u32, 5);
    bits.put((hdist - 1) as u32, 5);
    bits.put((hclen - 4) as u32, 4);
    for &s in &CL_ORDER[..hclen] {
        bits.put(u32::from(cl_lens[s]), 3);
    }
    for &(s, extra) in &runs {
        let s = usize::from(s);
        bits.put(cl_codes[s], u32::from(cl_lens[s]));
        match s {
            16 => bits.put(u32::from(extra), 2),
            17 => bits.put(u32::from(extra), 3),
            18 => bits.put(u32::from(extra), 7),
            _ => {}
        }
    }

    // Each match length's code and extra bits together, and the two distances'.
    let mut len_bits = [(0u32, 0u32); MAX_MATCH + 1];
    for (len, slot) in len_bits.iter_mut().enumerate().skip(3) {
        let c = len_code(len);
        let l = lit_lens[257 + c];
        *slot = (
            lit_codes[257 + c] | ((len as u32 - u32::from(LEN_BASE[c])) << l),
            u32::from(l) + u32::from(LEN_EXTRA[c]),
        );
    }
    let dist_bits = |d: usize| {
        let c = dist_code(d);
        (
            dist_codes[c] | ((d as u32 - u32::from(DIST_BASE[c])) << dist_lens[c]),
            u32::from(dist_lens[c]) + u32::from(DIST_EXTRA[c]),
        )
    };
    let (before_bits, above_bits) = (dist_bits(3), above.map_or((0, 0), dist_bits));
    for &s in &syms {
        if s & MATCH != 0 {
            let (c, l) = len_bits[(s & 0x1ff) as usize];
            bits.put(c, l);
            let (c, l) = if s & ABOVE != 0 { above_bits } else { before_bits };
            bits.put(c, l);
        } else {
            bits.put(lit_codes[s as usize], u32::from(lit_lens[s as usize]));
        }
    }
    bits.put(lit_codes[256], u32::from(lit_lens[256]));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
        let img = image::load_from_memory_with_format(png, image::ImageFormat::Png).expect("a PNG the png crate reads");
        let rgb = img.to_rgb8();
        (rgb.width(), rgb.height(), rgb.into_raw())
    }

    fn frame(width: u32, height: u32, mut pixel: impl FnMut(u32, u32) -> [u8; 3]) -> Frame {
        let mut rgba = Vec::with_capacity((width * height * 4) as usize);
        for y in 0..height {
            for x in 0..width {
                rgba.extend(pixel(x, y));
                rgba.push(255);
            }
        }
        Frame { width, height, rgba }
    }

    /// The IDAT chunk's body (the one this encoder writes), its CRC checked.
    fn idat(png: &[u8]) -> &[u8] {
        let mut at = 8;
        while at + 12 <= png.len() {
            let len = u32::from_be_bytes(png[at..at + 4].try_into().unwrap()) as usize;
            let (kind, body) = (&png[at + 4..at + 8], &png[at + 8..at + 8 + len]);
            let crc = u32::from_be_bytes(png[at + 8 + len..at + 12 + len].try_into().unwrap());
            assert_eq!(
                crc,
                crc32fast::hash(&png[at + 4..at + 8 + len]),
                "CRC of {}",
                String::from_utf8_lossy(kind)
            );
            if kind == b"IDAT" {
                return body;
            }
            at += 12 + len;
        }
        panic!("no IDAT");
    }

    fn assert_round_trip(f: &Frame) -> usize {
        let png = encode(f);
        let (w, h, rgb) = decode(&png);
        assert_eq!((w, h), (f.width, f.height));
        let want: Vec<u8> = f.rgba.chunks_exact(4).flat_map(|p| [p[0], p[1], p[2]]).collect();
        assert!(rgb == want, "{}×{}: pixels differ after the round trip", f.width, f.height);
        // The zlib stream through miniz's inflate, which checks the Adler-32: the rows, each
        // with its filter byte 0.
        let rows = miniz_oxide::inflate::decompress_to_vec_zlib(idat(&png)).expect("a zlib stream with the right Adler-32");
        let stride = 3 * f.width as usize + 1;
        assert_eq!(rows.len(), stride * f.height as usize);
        assert!(
            rows.chunks_exact(stride)
                .zip(want.chunks_exact(stride - 1))
                .all(|(r, w)| r[0] == 0 && &r[1..] == w)
        );
        png.len()
    }

    #[test]
    fn map_like_frames_round_trip_and_shrink() {
        // Flat areas, edges repeated down the rows, a gradient and a noisy patch: every kind of
        // symbol (runs before, runs above, literals) and bands that end mid-picture.
        let f = frame(1280, 720, |x, y| {
            if (300..400).contains(&x) && (200..300).contains(&y) {
                let v = (x.wrapping_mul(2_654_435_761) ^ y.wrapping_mul(40_503)).rotate_left(x % 13);
                [v as u8, (v >> 8) as u8, (v >> 16) as u8]
            } else if x / 40 % 2 == 0 {
                [230, 235, 240]
            } else {
                [(x / 5) as u8, (y / 3) as u8, 128]
            }
        });
        let size = assert_round_trip(&f);
        assert!(size < 1280 * 720 * 3 / 8, "{size} bytes");
    }

    #[test]
    fn noise_round_trips_near_its_raw_size() {
        let mut s = 0x2545_f491_4f6c_dd1du64;
        let f = frame(333, 77, |_, _| {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            [s as u8, (s >> 8) as u8, (s >> 16) as u8]
        });
        let size = assert_round_trip(&f);
        assert!(size < 333 * 77 * 3 * 11 / 10, "{size} bytes for {} of pixels", 333 * 77 * 3);
    }

    #[test]
    fn odd_sizes_round_trip() {
        // 10,922 px: the pixel above at deflate's farthest distance (stride 32,767); 10,923: one
        // pixel too wide for it.
        for (w, h) in [(1, 1), (1, 40), (2, 1), (7, 33), (64, 64), (10_922, 3), (10_923, 3)] {
            assert_round_trip(&frame(w, h, |x, y| {
                [(x % 3 * 90) as u8, (y % 5 * 50) as u8, ((x + y) % 2 * 200) as u8]
            }));
            assert_round_trip(&frame(w, h, |_, _| [12, 34, 56]));
        }
    }

    #[test]
    fn length_codes_by_table_are_those_of_the_rfc() {
        for len in 3..=MAX_MATCH {
            let c = len_code(len);
            let extra = 1usize << LEN_EXTRA[c];
            let base = usize::from(LEN_BASE[c]);
            // Length 258 has a code of its own (285), not the top of 284's range.
            assert!(base <= len && (len < base + extra || (c == 28 && len == 258)), "{len} → {c}");
            assert!(len != 258 || c == 28);
        }
    }

    #[test]
    fn adler_joined_is_adler_whole() {
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i.wrapping_mul(2_246_822_519) >> 13) as u8).collect();
        // The definition, byte by byte from a = 1.
        let (mut a, mut b) = (1u32, 0u32);
        for &x in &bytes {
            a = (a + u32::from(x)) % 65_521;
            b = (b + a) % 65_521;
        }
        let whole = (b << 16) | a;
        for cut in [0, 1, 5_552, 70_001, 200_000] {
            let joined = Adler::of(&bytes[..cut]).then(&Adler::of(&bytes[cut..]));
            assert_eq!(joined.value(), whole, "cut at {cut}");
        }
    }

    #[test]
    fn code_lengths_are_limited_and_complete() {
        // Fibonacci frequencies make the deepest possible Huffman tree.
        let mut freq = vec![1u32, 1];
        while freq.len() < 30 {
            let n = freq.len();
            freq.push(freq[n - 1] + freq[n - 2]);
        }
        // The literal alphabet's limit, and the code-length code's (19 symbols, 7 bits).
        for (n, max) in [(30, 15), (19, 7)] {
            let lens = code_lengths(&freq[..n], max);
            assert!(lens.iter().all(|&l| (1..=max as u8).contains(&l)), "{lens:?}");
            let kraft: f64 = lens.iter().map(|&l| 0.5f64.powi(i32::from(l))).sum();
            assert!((kraft - 1.0).abs() < 1e-12, "Kraft sum {kraft}");
            // The more frequent symbol never has the longer code.
            for i in 1..n {
                assert!(lens[i] <= lens[i - 1]);
            }
        }
    }
}
