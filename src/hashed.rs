//! Maps keyed by values that are already keyed 64-bit hashes (SipHash
//! under a random key): hashing them again would only cost time.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

/// A `Hasher` for keys that are already keyed 64-bit hashes.
#[derive(Default)]
pub(crate) struct PassThrough(u64);

impl Hasher for PassThrough {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// A map keyed by a keyed 64-bit hash.
pub(crate) type HashedMap<V> = HashMap<u64, V, BuildHasherDefault<PassThrough>>;

/// The shard of `hash` among `shards`, read from its middle bits: the
/// map inside a shard indexes buckets by the low bits and tags them with
/// the top seven, which must stay spread within one shard.
pub(crate) fn shard_of(hash: u64, shards: usize) -> usize {
    let shards = u64::try_from(shards).unwrap_or(u64::MAX).max(1);
    usize::try_from((hash >> 32).checked_rem(shards).unwrap_or(0)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_come_from_the_middle_bits() {
        assert_eq!(shard_of(0xffff_ffff, 16), 0);
        assert_eq!(shard_of(5 << 32, 16), 5);
        assert_eq!(shard_of(17 << 32, 16), 1);
        assert_eq!(shard_of(u64::MAX, 1), 0);
        assert_eq!(shard_of(u64::MAX, 0), 0);
    }
}
