//! Digest roots: a binary Merkle tree over `(id, digest)` leaves sorted by id, built in
//! one pass with memory logarithmic in the number of leaves. Two parties who hold the same
//! records compute the same root, whatever order they read them in, as long as they feed
//! leaves sorted by id.

use sha2::{Digest as _, Sha256};

use crate::digest::Digest;

/// Builds a Merkle root from leaves fed in ascending id order.
#[derive(Default)]
pub struct MerkleBuilder {
    /// Pending subtree roots with their height, heights strictly decreasing.
    stack: Vec<(u32, [u8; 32])>,
    leaves: u64,
    last_id: Option<String>,
}

/// The error for leaves fed out of order, which would make the root depend on read order.
#[derive(Debug, Clone, thiserror::Error)]
#[error("merkle leaves must be fed in ascending id order: '{next}' came after '{previous}'")]
pub struct OutOfOrder {
    /// The id fed before.
    pub previous: String,
    /// The id fed now.
    pub next: String,
}

fn leaf_hash(id: &str, digest: &Digest) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update((id.len() as u64).to_be_bytes());
    h.update(id.as_bytes());
    h.update(digest.0);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

impl MerkleBuilder {
    /// An empty tree.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds the next leaf; ids must ascend strictly.
    pub fn push(&mut self, id: &str, digest: &Digest) -> Result<(), OutOfOrder> {
        if let Some(previous) = self.last_id.as_ref().filter(|p| p.as_str() >= id) {
            return Err(OutOfOrder {
                previous: previous.clone(),
                next: id.to_string(),
            });
        }
        self.last_id = Some(id.to_string());
        self.leaves += 1;
        let mut node = (0u32, leaf_hash(id, digest));
        while let Some((height, top)) = self.stack.last() {
            if *height != node.0 {
                break;
            }
            node = (height + 1, node_hash(top, &node.1));
            self.stack.pop();
        }
        self.stack.push(node);
        Ok(())
    }

    /// Number of leaves fed.
    pub fn len(&self) -> u64 {
        self.leaves
    }

    /// Whether no leaf was fed.
    pub fn is_empty(&self) -> bool {
        self.leaves == 0
    }

    /// The root. An empty tree's root is SHA-256 of nothing.
    pub fn finish(mut self) -> Digest {
        let Some(mut acc) = self.stack.pop().map(|(_, h)| h) else {
            return Digest::of(b"");
        };
        while let Some((_, left)) = self.stack.pop() {
            acc = node_hash(&left, &acc);
        }
        Digest(acc)
    }
}

/// The root of leaves in any order (sorted here in memory; use [`MerkleBuilder`] directly
/// for streams too large to sort in memory).
pub fn root_of(mut leaves: Vec<(String, Digest)>) -> Digest {
    leaves.sort_by(|a, b| a.0.cmp(&b.0));
    leaves.dedup_by(|a, b| a.0 == b.0);
    let mut builder = MerkleBuilder::new();
    for (id, digest) in &leaves {
        // Sorted and deduplicated above, so never out of order.
        let _ = builder.push(id, digest);
    }
    builder.finish()
}

/// The leaf hash of one record: what [`root_of_leaf_hashes`] combines.
pub fn leaf(id: &str, digest: &Digest) -> [u8; 32] {
    leaf_hash(id, digest)
}

/// A root over leaf hashes (see [`leaf`]) sorted by the hashes themselves: order-free like
/// [`root_of`], but 32 bytes per record in memory instead of the id and digest, for
/// stores that cannot read their records sorted by id.
pub fn root_of_leaf_hashes(mut leaves: Vec<[u8; 32]>) -> Digest {
    leaves.sort_unstable();
    leaves.dedup();
    let mut level = leaves;
    if level.is_empty() {
        return Digest::of(b"");
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair.get(1) {
                Some(right) => node_hash(&pair[0], right),
                None => pair[0],
            })
            .collect();
    }
    Digest(level[0])
}

/// One digest for a whole migration: SHA-256 over the sorted `kind:root` lines.
pub fn manifest_digest<'a>(roots: impl IntoIterator<Item = (&'a str, &'a Digest)>) -> Digest {
    let mut lines: Vec<String> = roots
        .into_iter()
        .map(|(kind, root)| format!("{kind}:{root}\n"))
        .collect();
    lines.sort();
    Digest::of(lines.concat().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leaves(n: usize) -> Vec<(String, Digest)> {
        (0..n)
            .map(|i| (format!("{i:05}"), Digest::of(i.to_string().as_bytes())))
            .collect()
    }

    #[test]
    fn root_ignores_read_order_but_not_content() {
        let mut shuffled = leaves(37);
        shuffled.reverse();
        assert_eq!(root_of(leaves(37)), root_of(shuffled.clone()));
        shuffled[3].1 = Digest::of(b"changed");
        assert_ne!(root_of(leaves(37)), root_of(shuffled));
        assert_ne!(root_of(leaves(37)), root_of(leaves(36)));
    }

    #[test]
    fn leaf_hash_root_ignores_order_but_not_content() {
        let hashes =
            |n: usize| -> Vec<[u8; 32]> { leaves(n).iter().map(|(id, d)| leaf(id, d)).collect() };
        let mut reversed = hashes(21);
        reversed.reverse();
        assert_eq!(
            root_of_leaf_hashes(hashes(21)),
            root_of_leaf_hashes(reversed)
        );
        assert_ne!(
            root_of_leaf_hashes(hashes(21)),
            root_of_leaf_hashes(hashes(20))
        );
    }

    #[test]
    fn out_of_order_leaves_are_refused() {
        let mut b = MerkleBuilder::new();
        assert!(b.push("b", &Digest::default()).is_ok());
        assert!(b.push("a", &Digest::default()).is_err());
    }
}
