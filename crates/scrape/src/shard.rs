//! Splitting one job list across several collectors. Every member runs the same configuration and
//! keeps only the targets it owns: the owner of a target is the member with the highest score for
//! it (rendezvous hashing), so each target has exactly one owner, and when a member leaves only its
//! targets move (each to the member that scores next highest), and when one joins it takes about
//! 1/N of the targets, from every other member alike.

use crate::target::Fnv;

/// The members sharing the targets, and which one this process is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    me: String,
    /// Every member's name with its hash, sorted by name, including `me`.
    members: Vec<(String, u64)>,
}

impl Membership {
    /// `members` may or may not list `me`: a running member always takes part. Duplicates count once.
    pub fn new(me: &str, members: impl IntoIterator<Item = String>) -> Self {
        let mut names: Vec<String> = members.into_iter().collect();
        names.push(me.to_string());
        names.sort();
        names.dedup();
        Self {
            me: me.to_string(),
            members: names
                .into_iter()
                .map(|n| {
                    let h = hash(&n);
                    (n, h)
                })
                .collect(),
        }
    }

    pub fn me(&self) -> &str {
        &self.me
    }

    pub fn members(&self) -> impl Iterator<Item = &str> {
        self.members.iter().map(|(n, _)| n.as_str())
    }

    pub fn len(&self) -> usize {
        self.members.len()
    }

    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// The member that scrapes the target with this hash (`Target::hash`).
    pub fn owner(&self, target: u64) -> &str {
        self.members
            .iter()
            .max_by_key(|(name, h)| (score(*h, target), name.as_str()))
            .map_or(self.me.as_str(), |(n, _)| n.as_str())
    }

    /// Whether this process scrapes the target with this hash.
    pub fn owns(&self, target: u64) -> bool {
        self.members.len() <= 1 || self.owner(target) == self.me
    }
}

fn hash(name: &str) -> u64 {
    let mut h = Fnv::default();
    h.write(name.as_bytes());
    h.0
}

/// A well-mixed 64-bit score of a (member, target) pair (the splitmix64 finaliser over both).
fn score(member: u64, target: u64) -> u64 {
    let mut z = member ^ target.rotate_left(32) ^ 0x9e37_79b9_7f4a_7c15;
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn members(names: &[&str]) -> Vec<String> {
        names.iter().map(|s| s.to_string()).collect()
    }

    fn targets() -> impl Iterator<Item = u64> {
        (0..3000u64).map(|i| {
            let mut h = Fnv::default();
            h.write(format!("10.0.{}.{}:9100", i / 256, i % 256).as_bytes());
            h.0
        })
    }

    #[test]
    fn each_target_has_exactly_one_owner_and_the_split_is_even() {
        let names = members(&["a", "b", "c"]);
        let views: Vec<Membership> = names
            .iter()
            .map(|me| Membership::new(me, names.clone()))
            .collect();
        let mut per_member = [0usize; 3];
        for t in targets() {
            let owners: Vec<usize> = (0..3).filter(|i| views[*i].owns(t)).collect();
            assert_eq!(owners.len(), 1, "target {t:x} owned by {owners:?}");
            per_member[owners[0]] += 1;
        }
        for n in per_member {
            assert!((800..1200).contains(&n), "uneven split: {per_member:?}");
        }
    }

    #[test]
    fn a_leaving_member_moves_only_its_targets_and_a_joining_one_takes_a_fair_share() {
        let three = Membership::new("a", members(&["a", "b", "c"]));
        let two = Membership::new("a", members(&["a", "b"]));
        let four = Membership::new("a", members(&["a", "b", "c", "d"]));
        let (mut moved_on_leave, mut moved_on_join) = (0, 0);
        for t in targets() {
            let before = three.owner(t);
            if before != "c" {
                assert_eq!(two.owner(t), before, "only c's targets move when c leaves");
            } else {
                moved_on_leave += 1;
            }
            let after = four.owner(t);
            if after != before {
                assert_eq!(after, "d", "a joining member only takes targets");
                moved_on_join += 1;
            }
        }
        // About 1/3 leave with c, about 1/4 go to d.
        assert!((800..1200).contains(&moved_on_leave), "{moved_on_leave}");
        assert!((600..900).contains(&moved_on_join), "{moved_on_join}");
    }

    #[test]
    fn a_member_always_counts_itself_and_alone_owns_everything() {
        let m = Membership::new("x", members(&["a", "a"]));
        assert_eq!(m.members().collect::<Vec<_>>(), ["a", "x"]);
        let alone = Membership::new("x", Vec::new());
        assert!(targets().all(|t| alone.owns(t)));
    }
}
