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

/// Calls `each` with the position of every byte of `bytes` equal to one of `targets`, in
/// order. SWAR over two 64-bit words per block, which the compiler turns into SSE2 (it turns
/// the closure form of [`each_position`] into a broadcast and compare per byte instead, about
/// four times the instructions for the link scanner's four markers).
#[inline]
pub(crate) fn each_position_of<const N: usize>(
    bytes: &[u8],
    targets: [u8; N],
    mut each: impl FnMut(usize),
) {
    // One loop over the full blocks and a zero-padded last one, so `each` is inlined once.
    let mut padded = [0u8; BLOCK];
    let full = bytes.len() / BLOCK * BLOCK;
    let mut block_start = 0;
    while block_start < bytes.len() {
        let block = match bytes.get(block_start..block_start + BLOCK) {
            Some(block) if block_start < full => block,
            _ => {
                let rest = &bytes[block_start..];
                padded[..rest.len()].copy_from_slice(rest);
                &padded[..]
            }
        };
        let mut hits = target_bytes(block, targets);
        // Padding may equal a target (0): only the real bytes' flags are kept.
        let real = bytes.len() - block_start;
        if real < BLOCK {
            for (k, word) in hits.iter_mut().enumerate() {
                let bytes_in_word = real.saturating_sub(k * 8).min(8);
                *word &= u64::MAX
                    .checked_shr(64 - 8 * bytes_in_word as u32)
                    .unwrap_or(0);
            }
        }
        for (k, mut word) in hits.into_iter().enumerate() {
            while word != 0 {
                each(block_start + k * 8 + word.trailing_zeros() as usize / 8);
                word &= word - 1;
            }
        }
        block_start += BLOCK;
    }
}

/// For a block of sixteen bytes, two words whose byte `i` has its high bit set iff byte
/// `8k + i` of the block is one of `targets` (and all other bits clear).
#[inline]
fn target_bytes<const N: usize>(block: &[u8], targets: [u8; N]) -> [u64; 2] {
    const LOW7: u64 = 0x7f7f_7f7f_7f7f_7f7f;
    const ONES: u64 = 0x0101_0101_0101_0101;
    let mut words = [0u64; 2];
    for (k, w) in words.iter_mut().enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(&block[k * 8..k * 8 + 8]);
        *w = u64::from_le_bytes(b);
    }
    // A byte's high bit in `((x & 0x7f) + 0x7f) | x` is set iff the byte is not zero, with
    // no carry into the next byte; `x = word ^ target` is zero exactly where they are equal.
    let mut none = [u64::MAX; 2];
    for t in targets {
        for (n, w) in none.iter_mut().zip(words) {
            let x = w ^ (ONES * u64::from(t));
            *n &= ((x & LOW7).wrapping_add(LOW7)) | x;
        }
    }
    [!none[0] & !LOW7, !none[1] & !LOW7]
}

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
        fn target_positions_are_every_hit_in_order(
            bytes in proptest::collection::vec(prop_oneof![Just(0u8), Just(b'.'), Just(b':'), any::<u8>()], 0..100),
        ) {
            let targets = [b'.', b':', b']', 0];
            let mut fast = Vec::new();
            each_position_of(&bytes, targets, |i| fast.push(i));
            let slow: Vec<usize> = (0..bytes.len()).filter(|&i| targets.contains(&bytes[i])).collect();
            prop_assert_eq!(fast, slow);
            let mut dots = Vec::new();
            each_position_of(&bytes, [b'.'], |i| dots.push(i));
            let slow: Vec<usize> = (0..bytes.len()).filter(|&i| bytes[i] == b'.').collect();
            prop_assert_eq!(dots, slow);
        }

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
