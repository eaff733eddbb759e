//! Constant-time byte comparison for the hot path.

use subtle::ConstantTimeEq;

/// `a == b` in time that depends on the lengths only: eight bytes at a
/// time folded into one word with XOR and OR, no early exit, then one
/// constant-time test of the word. `subtle`'s slice comparison does the
/// same one byte at a time, each behind an optimization barrier, which
/// costs about ten times the instructions.
pub(crate) fn bytes_eq(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let mut diff = 0u64;
    let (mut ca, mut cb) = (a.chunks_exact(8), b.chunks_exact(8));
    for (x, y) in ca.by_ref().zip(cb.by_ref()) {
        let (mut wx, mut wy) = ([0u8; 8], [0u8; 8]);
        wx.copy_from_slice(x);
        wy.copy_from_slice(y);
        diff |= u64::from_ne_bytes(wx) ^ u64::from_ne_bytes(wy);
    }
    for (x, y) in ca.remainder().iter().zip(cb.remainder()) {
        diff |= u64::from(x ^ y);
    }
    bool::from(diff.ct_eq(&0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_byte_and_the_length_count() {
        for len in [0usize, 1, 7, 8, 9, 32, 55, 201] {
            let a: Vec<u8> = (0..len).map(|i| i as u8).collect();
            assert!(bytes_eq(&a, &a.clone()));
            for i in 0..len {
                for bit in [0x01, 0x80] {
                    let mut b = a.clone();
                    b[i] ^= bit;
                    assert!(!bytes_eq(&a, &b), "len {len}, byte {i}, bit {bit:#x}");
                }
            }
            let mut longer = a.clone();
            longer.push(0);
            assert!(!bytes_eq(&a, &longer));
        }
    }
}
