//! One pass over a message's bytes, sixteen at a time, that counts what the spam rules count
//! (letters, uppercase letters, `!`, and whether a `$` or non-ASCII byte occurs) and finds
//! the starts of runs of three letters or more, where phrases and currency codes start.
//!
//! Each chunk of up to 32 blocks is done in two loops: one of vector compares that counts,
//! records a bit per letter and copies the chunk, then one over those bits, 64 at a time,
//! that hands each start and its next eight bytes to the caller. Split like this, neither
//! loop spills the other's registers, and the copy (zero-padded) lets every start read eight
//! bytes without a bounds check.

/// Byte counts of one message. `letters` and `upper` count ASCII letters only; they are the
/// Unicode counts when `ascii` holds.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(super) struct ByteCounts {
    pub letters: usize,
    pub upper: usize,
    pub bangs: usize,
    pub ascii: bool,
    /// Some byte is `$` or not ASCII (so the text may hold `$`, `€` or `£`).
    pub dollar_or_non_ascii: bool,
}

const BLOCK: usize = 16;

/// Blocks per chunk: the letter bits of a chunk live in a small array on the stack.
const CHUNK: usize = 32;

/// What the pass hands each start of three letters or more to. A trait rather than a closure so that the
/// implementation can ask to be inlined into the loop (`#[inline(always)]`).
pub(super) trait Visit {
    /// A start at `i`; `word` holds the eight bytes there (little-endian), zero past the end
    /// of the text.
    fn letter_start(&mut self, i: usize, word: u64);
}

/// Bytes of a chunk: the letter loop reads eight bytes at any start without a bounds check.
const CHUNK_BYTES: usize = CHUNK * BLOCK;

/// A chunk's bytes and the seven after it (or zeros past the end of the text).
type ChunkCopy = [u8; CHUNK_BYTES + 16];

/// `KEEP[r..r + BLOCK]` keeps the last `r` lanes of a block: the final block of a chunk may
/// overlap the one before, whose lanes were counted there.
const KEEP: [u8; 2 * BLOCK] = {
    let mut keep = [0u8; 2 * BLOCK];
    let mut i = BLOCK;
    while i < 2 * BLOCK {
        keep[i] = 0xff;
        i += 1;
    }
    keep
};

/// Per-lane counters: a block adds at most 1 to a lane, and `scan` flushes them at least
/// every 255 blocks, so no lane wraps. Wrapping adds on `u8` lanes because the release
/// profile keeps overflow checks, and a checked add per byte keeps the compiler from
/// vectorizing.
#[derive(Clone, Copy)]
struct Lanes {
    letters: [u8; BLOCK],
    upper: [u8; BLOCK],
    bangs: [u8; BLOCK],
    /// The OR of all bytes, with `$` as 0x80: bit 7 set iff a `$` or non-ASCII byte was seen.
    flags: [u8; BLOCK],
}

impl Lanes {
    const ZERO: Lanes = Lanes {
        letters: [0; BLOCK],
        upper: [0; BLOCK],
        bangs: [0; BLOCK],
        flags: [0; BLOCK],
    };

    /// Adds the lane counts to `counts` (the caller zeroes the lanes to go on).
    #[inline]
    fn add_to(&self, counts: &mut ByteCounts) {
        counts.letters += sum_lanes(&self.letters);
        counts.upper += sum_lanes(&self.upper);
        // Most messages have no `!`.
        if self.bangs != [0; BLOCK] {
            counts.bangs += sum_lanes(&self.bangs);
        }
        let (low, high) = halves(&self.flags);
        counts.dollar_or_non_ascii |= (low | high) & 0x8080_8080_8080_8080 != 0;
    }
}

/// The two little-endian halves of sixteen lanes.
fn halves(lanes: &[u8; BLOCK]) -> (u64, u64) {
    let (low, high) = lanes.split_at(BLOCK / 2);
    let word = |h: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(h);
        u64::from_le_bytes(word)
    };
    (word(low), word(high))
}

/// The sum of sixteen `u8` lanes: pairs of lanes added into `u16` fields (at most 510 each),
/// then the four fields of each half summed by one multiply into the top field (at most
/// 2,040, no carry out).
fn sum_lanes(lanes: &[u8; BLOCK]) -> usize {
    let (low, high) = halves(lanes);
    let pairs = |w: u64| (w & 0x00FF_00FF_00FF_00FF) + ((w >> 8) & 0x00FF_00FF_00FF_00FF);
    let fields = pairs(low) + pairs(high);
    (fields.wrapping_mul(0x0001_0001_0001_0001) >> 48) as usize
}

/// Counts `cur` (leaving out lanes where `keep` is 0) and returns its letter mask: bit `j`
/// set iff `cur[j]` is an ASCII letter. Branch-free per byte, so the compiler turns it into
/// vector compares.
#[inline(always)]
fn block(cur: &[u8; BLOCK], keep: &[u8; BLOCK], lanes: &mut Lanes) -> u16 {
    let mut letters = [0u8; BLOCK];
    for j in 0..BLOCK {
        let (b, k) = (cur[j], keep[j]);
        let letter = u8::from((b | 0x20).wrapping_sub(b'a') < 26);
        letters[j] = letter;
        lanes.letters[j] = lanes.letters[j].wrapping_add(letter & k);
        lanes.upper[j] = lanes.upper[j].wrapping_add(u8::from(b.wrapping_sub(b'A') < 26) & k);
        lanes.bangs[j] = lanes.bangs[j].wrapping_add(u8::from(b == b'!') & k);
        lanes.flags[j] |= (b | (u8::from(b == b'$') << 7)) & k;
    }
    gather_bits(&letters)
}

/// Counts the bytes of `chunk` (at most `CHUNK` blocks) into `lanes`, sets the letter bits
/// of `masks` (which must be zero) and copies the chunk to the start of `copy`; returns how
/// many entries of `masks` it used. Kept out of line so that the vector constants stay out
/// of the caller's letter loop.
#[inline(never)]
fn count_chunk(
    chunk: &[u8],
    lanes: &mut Lanes,
    masks: &mut [u16; CHUNK + 8],
    copy: &mut ChunkCopy,
) -> usize {
    let all = [0xffu8; BLOCK];
    let (blocks, tail) = chunk.as_chunks::<BLOCK>();
    let (copies, _) = copy.as_chunks_mut::<BLOCK>();
    for ((mask, cur), to) in masks.iter_mut().zip(blocks).zip(copies) {
        // Copied one block at a time: as one copy after the loop, it is a call.
        *to = *cur;
        *mask = block(to, &all, lanes);
    }
    if tail.is_empty() {
        return blocks.len();
    }
    // The final block ends with the chunk: it overlaps the block before (its bits are the
    // same there) when there is one, else it is padded with zero bytes.
    let (bits, offset) = match (
        chunk.last_chunk::<BLOCK>(),
        KEEP[tail.len()..].first_chunk(),
    ) {
        (Some(cur), Some(keep)) => {
            let offset = chunk.len() - BLOCK;
            if let Some(to) = copy.get_mut(offset..).and_then(<[u8]>::first_chunk_mut) {
                *to = *cur;
            }
            (block(cur, keep, lanes), offset)
        }
        _ => {
            let mut padded = [0u8; BLOCK];
            padded[..tail.len()].copy_from_slice(tail);
            if let Some(to) = copy.first_chunk_mut() {
                *to = padded;
            }
            (block(&padded, &all, lanes), 0)
        }
    };
    let (entry, shift) = (offset / BLOCK, offset % BLOCK);
    masks[entry] |= bits << shift;
    if shift > 0 {
        masks[entry + 1] |= bits >> (BLOCK - shift);
    }
    blocks.len() + 1
}

/// Counts the bytes of `bytes` and hands `visit`, in order, the position of every run of three
/// ASCII letters or more that starts the text or follows a byte that is not one. `visit` is
/// taken by value so that its fields stay in registers.
pub(super) fn scan(bytes: &[u8], mut visit: impl Visit) -> ByteCounts {
    let mut counts = ByteCounts {
        ascii: true,
        ..ByteCounts::default()
    };
    let mut lanes = Lanes::ZERO;
    // Whether the byte before the current chunk is a letter (bit 0).
    let mut carry = 0u64;
    let mut until_flush = 7;
    for (n, chunk) in bytes.chunks(CHUNK_BYTES).enumerate() {
        let start = n * CHUNK_BYTES;
        // Letter bits of the chunk, sixteen per entry; one more entry for the final block's
        // bits that spill over, and zeros to read whole words of four entries.
        let mut masks = [0u16; CHUNK + 8];
        let mut copy: ChunkCopy = [0; CHUNK_BYTES + 16];
        let used = count_chunk(chunk, &mut lanes, &mut masks, &mut copy);
        until_flush -= 1;
        if until_flush == 0 {
            // At most 32 additions per lane per chunk: 224 since the last flush.
            lanes.add_to(&mut counts);
            lanes = Lanes::ZERO;
            until_flush = 7;
        }
        // The bytes after the chunk (which then is full, 32 entries): eight-byte reads near
        // its end, and the letter test of starts in its last two bytes, look at them.
        let end = start + chunk.len();
        if let Some(next) = bytes.get(end..).filter(|next| !next.is_empty()) {
            for (j, &b) in next.iter().take(7).enumerate() {
                copy[chunk.len() + j] = b;
                if j < 2 {
                    masks[CHUNK] |= u16::from(b.is_ascii_alphabetic()) << j;
                }
            }
        }
        let word = |w: usize| {
            masks[4 * w..4 * w + 4]
                .iter()
                .rev()
                .fold(0u64, |word, &m| (word << BLOCK) | u64::from(m))
        };
        let words = used.div_ceil(4);
        let mut next = word(0);
        for w in 0..words {
            let letters = next;
            next = word(w + 1);
            // A start needs letters at its next two positions too, maybe in the next word.
            let window = u128::from(letters) | (u128::from(next) << 64);
            let ahead = (window >> 1) as u64 & (window >> 2) as u64;
            let mut starts = letters & !((letters << 1) | carry) & ahead;
            carry = letters >> 63;
            while starts != 0 {
                // Below `CHUNK_BYTES`: the mask tells the compiler the read is in `copy`.
                let at = (64 * w + starts.trailing_zeros() as usize) & (CHUNK_BYTES - 1);
                let eight = copy[at..].first_chunk().unwrap_or(&[0; 8]);
                visit.letter_start(start + at, u64::from_le_bytes(*eight));
                starts &= starts - 1;
            }
        }
    }
    lanes.add_to(&mut counts);
    counts.ascii = !counts.dollar_or_non_ascii || bytes.is_ascii();
    counts
}

/// Bit `i` set iff `bytes[i]` is 1, for sixteen bytes each 0 or 1: per half, the multiply
/// moves byte `i`'s low bit to bit `56 + i` and nothing else reaches the top byte (no carries:
/// the other products land on distinct lower bits).
fn gather_bits(bytes: &[u8; BLOCK]) -> u16 {
    let (low, high) = bytes.split_at(BLOCK / 2);
    let half = |h: &[u8]| {
        let mut word = [0u8; 8];
        word.copy_from_slice(h);
        let top = u64::from_le_bytes(word).wrapping_mul(0x0102_0408_1020_4080) >> 56;
        top as u16
    };
    half(low) | (half(high) << 8)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::test_text::adversarial;

    /// What `scan` computes, byte by byte.
    fn scan_reference(bytes: &[u8]) -> (ByteCounts, Vec<usize>) {
        let count = |hit: fn(u8) -> bool| bytes.iter().filter(|&&b| hit(b)).count();
        let counts = ByteCounts {
            letters: count(|b| b.is_ascii_alphabetic()),
            upper: count(|b| b.is_ascii_uppercase()),
            bangs: count(|b| b == b'!'),
            ascii: bytes.is_ascii(),
            dollar_or_non_ascii: !bytes.is_ascii() || bytes.contains(&b'$'),
        };
        let starts = (0..bytes.len())
            .filter(|&i| {
                bytes[i..]
                    .iter()
                    .take(3)
                    .filter(|b| b.is_ascii_alphabetic())
                    .count()
                    == 3
                    && (i == 0 || !bytes[i - 1].is_ascii_alphabetic())
            })
            .collect();
        (counts, starts)
    }

    struct Collect(Vec<usize>);

    impl Visit for &mut Collect {
        fn letter_start(&mut self, i: usize, _: u64) {
            self.0.push(i);
        }
    }

    fn scan_collect(bytes: &[u8]) -> (ByteCounts, Vec<usize>) {
        let mut starts = Collect(Vec::new());
        let counts = scan(bytes, &mut starts);
        (counts, starts.0)
    }

    #[test]
    fn lane_sums() {
        for lanes in [[0u8; BLOCK], [255; BLOCK], [1; BLOCK], *b"0123456789abcdef"] {
            let sum: usize = lanes.iter().map(|&n| usize::from(n)).sum();
            assert_eq!(sum_lanes(&lanes), sum);
        }
    }

    #[test]
    fn gather_bits_of_every_pattern() {
        for pattern in 0u32..=0xFFFF {
            let mut bytes = [0u8; BLOCK];
            for (i, b) in bytes.iter_mut().enumerate() {
                *b = u8::from(pattern & (1 << i) != 0);
            }
            assert_eq!(u32::from(gather_bits(&bytes)), pattern);
        }
    }

    #[test]
    fn every_length_around_the_block_and_chunk_edges() {
        let text = "aB!$\u{e9}\u{20ac}\u{a3}7 xYz.Qq!!".repeat(60);
        for end in (0..200).chain(CHUNK * BLOCK - 40..CHUNK * BLOCK + 40) {
            let bytes = &text.as_bytes()[..end];
            assert_eq!(scan_collect(bytes), scan_reference(bytes), "{end}");
        }
        let dollars = "$!".repeat(40);
        assert_eq!(
            scan_collect(dollars.as_bytes()),
            scan_reference(dollars.as_bytes())
        );
    }

    #[test]
    fn lanes_are_flushed_before_they_wrap() {
        // Up to 300 blocks of letters and `!`: every lane passes 255, at many tail lengths.
        for len in (16 * 250..16 * 300).step_by(37) {
            let text = "AbC!E".repeat(len / 5 + 1);
            let bytes = &text.as_bytes()[..len];
            assert_eq!(scan_collect(bytes), scan_reference(bytes), "{len}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(3000))]
        #[test]
        fn scan_matches_the_byte_by_byte_definition(text in adversarial()) {
            prop_assert_eq!(scan_collect(text.as_bytes()), scan_reference(text.as_bytes()));
        }

        #[test]
        fn scan_matches_on_arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..1200)) {
            prop_assert_eq!(scan_collect(&bytes), scan_reference(&bytes));
        }
    }
}
