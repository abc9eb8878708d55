//! Finding the few bytes of a message that matter (link markers, dots), sixteen at a time.

/// Calls `each` with the position of every byte of `bytes` for which `hit` holds, in order.
/// `hit` runs over 16-byte blocks in a fixed-length loop the compiler turns into vector
/// compares (write it without branches: `(b == x) | (b == y)`), so prose without those bytes
/// costs a fraction of a byte-at-a-time search.
#[inline]
pub(crate) fn each_position(bytes: &[u8], hit: impl Fn(u8) -> bool, mut each: impl FnMut(usize)) {
    let mut blocks = bytes.chunks_exact(BLOCK);
    let mut block_start = 0;
    for block in &mut blocks {
        // One 0/1 byte per position (vector compares), then gathered into bits.
        let mut hits = [0u8; BLOCK];
        for (h, &b) in hits.iter_mut().zip(block) {
            *h = u8::from(hit(b));
        }
        let (low, high) = hits.split_at(8);
        let mut mask = gather_bits(low) | (gather_bits(high) << 8);
        while mask != 0 {
            each(block_start + mask.trailing_zeros() as usize);
            mask &= mask - 1;
        }
        block_start += BLOCK;
    }
    for (i, &b) in blocks.remainder().iter().enumerate() {
        if hit(b) {
            each(block_start + i);
        }
    }
}

const BLOCK: usize = 16;

/// Bit `i` set iff `bytes[i]` is 1, for eight bytes each 0 or 1: the multiply moves byte
/// `i`'s low bit to bit `56 + i` and nothing else reaches the top byte (no carries: the other
/// products land on distinct lower bits).
fn gather_bits(bytes: &[u8]) -> u16 {
    let mut word = [0u8; 8];
    word.copy_from_slice(bytes);
    let word = u64::from_le_bytes(word);
    u16::from(word.wrapping_mul(0x0102_0408_1020_4080).to_be_bytes()[0])
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn gather_bits_of_every_pattern() {
        for pattern in 0u16..256 {
            let bytes: Vec<u8> = (0..8).map(|i| u8::from(pattern & (1 << i) != 0)).collect();
            assert_eq!(gather_bits(&bytes), pattern);
        }
    }

    proptest! {
        #[test]
        fn positions_are_every_hit_in_order(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
            let hit = |b: u8| matches!(b, b'.' | b':' | 0x80..=0x8f);
            let mut fast = Vec::new();
            each_position(&bytes, hit, |i| fast.push(i));
            let slow: Vec<usize> = (0..bytes.len()).filter(|&i| hit(bytes[i])).collect();
            prop_assert_eq!(fast, slow);
        }
    }
}
