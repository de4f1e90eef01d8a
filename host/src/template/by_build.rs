//! Which sections of a list (the provisioners) run for a build, found
//! without trying every section's `only` and `except` on every build:
//! that was the square of the template when each build has its own.

use std::collections::{HashMap, HashSet};

/// For each build name, the positions of the sections that run for it.
#[derive(Clone, Debug, Default)]
pub struct ByBuild {
    /// Sections with no `only`: they run for every build but their `except`.
    everywhere: Vec<usize>,
    /// Per build name, the sections whose `only` names it, ascending.
    only: HashMap<String, Vec<usize>>,
    /// Per build name, the sections whose `except` names it.
    except: HashMap<String, HashSet<usize>>,
}

impl ByBuild {
    /// Indexes sections given by their (`only`, `except`) lists, in order.
    pub fn new<'a>(sections: impl IntoIterator<Item = (&'a [String], &'a [String])>) -> Self {
        let mut index = ByBuild::default();
        for (position, (only, except)) in sections.into_iter().enumerate() {
            if only.is_empty() {
                index.everywhere.push(position);
            }
            for name in only {
                let positions = index.only.entry(name.clone()).or_default();
                // A name listed twice in one `only` adds the section once.
                if positions.last() != Some(&position) {
                    positions.push(position);
                }
            }
            for name in except {
                index.except.entry(name.clone()).or_default().insert(position);
            }
        }
        index
    }

    /// The positions of the sections that run for build `name`, in order:
    /// Packer's rule, `only` empty or naming it, and `except` not naming it.
    pub fn positions(&self, name: &str) -> Vec<usize> {
        let named = self.only.get(name).map_or(&[][..], Vec::as_slice);
        let excluded = self.except.get(name);
        let (mut a, mut b) = (self.everywhere.iter().peekable(), named.iter().peekable());
        let mut out = Vec::with_capacity(self.everywhere.len() + named.len());
        // Both lists ascend and share no position: merge them.
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(&&x), Some(&&y)) if x < y => a.next(),
                (Some(_), Some(_)) | (None, Some(_)) => b.next(),
                (Some(_), None) => a.next(),
                (None, None) => break,
            };
            if let Some(&position) = next
                && !excluded.is_some_and(|e| e.contains(&position))
            {
                out.push(position);
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::ByBuild;

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn positions_follow_only_and_except_in_template_order() {
        let sections = [
            (names(&[]), names(&[])),
            (names(&["a", "a"]), names(&[])),
            (names(&[]), names(&["a"])),
            (names(&["b", "a"]), names(&["a"])),
            (names(&["b"]), names(&[])),
            (names(&[]), names(&["b"])),
        ];
        let index = ByBuild::new(sections.iter().map(|(o, e)| (o.as_slice(), e.as_slice())));
        assert_eq!(index.positions("a"), [0, 1, 5]);
        assert_eq!(index.positions("b"), [0, 2, 3, 4]);
        assert_eq!(index.positions("c"), [0, 2, 5]);
    }

    #[test]
    fn the_index_agrees_with_the_rule_on_every_build() {
        // Packer's rule, tried directly, against the index, over sections
        // naming builds in every combination of only/except.
        let builds = ["a", "b", "c"];
        let subsets: Vec<Vec<String>> = (0..8)
            .map(|m| builds.iter().enumerate().filter(|(i, _)| m & (1 << i) != 0).map(|(_, b)| b.to_string()).collect())
            .collect();
        let sections: Vec<(Vec<String>, Vec<String>)> =
            subsets.iter().flat_map(|o| subsets.iter().map(move |e| (o.clone(), e.clone()))).collect();
        let index = ByBuild::new(sections.iter().map(|(o, e)| (o.as_slice(), e.as_slice())));
        for build in builds {
            let expected: Vec<usize> = sections
                .iter()
                .enumerate()
                .filter(|(_, (o, e))| (o.is_empty() || o.iter().any(|n| n == build)) && !e.iter().any(|n| n == build))
                .map(|(i, _)| i)
                .collect();
            assert_eq!(index.positions(build), expected, "build {build}");
        }
    }
}
