//! Identifiers, virtual time and the platform-independent hasher used for trace hashes.

use serde::{Deserialize, Serialize};
use std::hash::Hasher;

/// Virtual time in integer ticks. The engine never reads a clock.
pub type Time = u64;

/// A node's index in the scenario's node list (`NodeSpec`s, in order).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct NodeId(pub u32);

impl NodeId {
    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// An event's position in its trace (0-based).
pub type EventId = u32;

/// A message's identity: the id of the event that sent it.
pub type MsgId = u32;

/// FNV-1a with every `usize`/`isize` widened to 64 bits, so a derived `Hash` gives the same
/// value on 64-bit hosts and on wasm32.
#[derive(Clone, Debug)]
pub struct StableHasher(u64);

impl Default for StableHasher {
    fn default() -> Self {
        StableHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for StableHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
    fn write_usize(&mut self, i: usize) {
        self.write(&(i as u64).to_le_bytes());
    }
    fn write_isize(&mut self, i: isize) {
        self.write(&(i as i64).to_le_bytes());
    }
}
