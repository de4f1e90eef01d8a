//! The redactor's index: a set of strings that only grows, and which of
//! them occur in a text.
//!
//! Trying every string on every text made each line of output cost as much
//! as there are secrets, and so a run of many builds, each with its own
//! secrets and its own lines, cost the square of the builds. Here the
//! strings are kept in Aho-Corasick automata over runs of doubling size,
//! merged as the digits of a binary counter are carried (the "logarithmic
//! method"): adding n strings builds O(n log n) bytes of automata in all,
//! nothing built before is rebuilt for each addition, and a lookup is
//! O(log n) passes over the text whatever the number of strings. Strings
//! added since the last [`Needles::index`] wait in a list, so that a batch
//! (every sensitive variable of a template) is indexed in one go.

use aho_corasick::{AhoCorasick, AhoCorasickKind};
use std::collections::{BTreeSet, HashSet};

/// Most bytes of strings in a run whose automaton may be a DFA (the
/// automaton chooses); past it, always an NFA, which builds in time
/// linear in the bytes.
const MAX_DFA_BYTES: usize = 16 * 1024;

/// A growing set of non-empty strings, searchable in a text.
#[derive(Default)]
pub struct Needles {
    /// Every string, to refuse duplicates without a search.
    known: HashSet<String>,
    /// Runs of strings, each at least twice as long as the next.
    runs: Vec<Run>,
    /// Strings added since the last [`Needles::index`], searched one by one.
    waiting: Vec<String>,
}

/// Some of the strings, and their automaton (`None` if it could not be
/// built, e.g. past the automaton's size limits: the run is then searched
/// string by string, slower but still correct).
struct Run {
    strings: Vec<String>,
    automaton: Option<AhoCorasick>,
}

impl Run {
    fn new(strings: Vec<String>) -> Run {
        // A DFA costs states times byte classes to build: for long
        // secrets (a user data script and its encoded forms, hundreds of
        // KiB) that is seconds to minutes, for a search barely faster.
        let bytes: usize = strings.iter().map(String::len).sum();
        let kind = (bytes > MAX_DFA_BYTES).then_some(AhoCorasickKind::ContiguousNFA);
        let automaton = AhoCorasick::builder().kind(kind).build(&strings).ok();
        Run { strings, automaton }
    }

    /// Adds to `found` each of this run's strings that occurs in `text`.
    fn search<'a>(&'a self, text: &str, found: &mut BTreeSet<(std::cmp::Reverse<usize>, &'a str)>) {
        let mut found_one = |s: &'a String| {
            found.insert((std::cmp::Reverse(s.len()), s.as_str()));
        };
        // Overlapping matches: a string inside a longer one must be seen
        // too, in case the longer one turns out not to be replaced whole.
        match self.automaton.as_ref().and_then(|a| a.try_find_overlapping_iter(text).ok()) {
            Some(matches) => matches.for_each(|m| found_one(&self.strings[m.pattern().as_usize()])),
            None => self.strings.iter().filter(|s| text.contains(s.as_str())).for_each(found_one),
        }
    }
}

impl Needles {
    /// Adds `needle`. Returns false, and adds nothing, when it is empty or
    /// already there. It is searched for at once, indexed at the next
    /// [`Needles::index`].
    pub fn insert(&mut self, needle: String) -> bool {
        if needle.is_empty() || self.known.contains(&needle) {
            return false;
        }
        self.known.insert(needle.clone());
        self.waiting.push(needle);
        true
    }

    /// Whether strings wait to be indexed.
    pub fn has_waiting(&self) -> bool {
        !self.waiting.is_empty()
    }

    /// Indexes the strings added since the last call.
    pub fn index(&mut self) {
        let mut strings = std::mem::take(&mut self.waiting);
        if strings.is_empty() {
            return;
        }
        // Carry: merge with every run no longer than what is being added,
        // so that runs keep halving in length from first to last.
        while self.runs.last().is_some_and(|last| last.strings.len() <= strings.len()) {
            let mut last = self.runs.pop().map(|r| r.strings).unwrap_or_default();
            last.append(&mut strings);
            strings = last;
        }
        self.runs.push(Run::new(strings));
    }

    /// Whether no string was added.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// The strings that occur in `text`, each once, longest first (those of
    /// one length in byte order).
    pub fn found_in(&self, text: &str) -> Vec<&str> {
        let mut found = BTreeSet::new();
        for run in &self.runs {
            run.search(text, &mut found);
        }
        for s in self.waiting.iter().filter(|s| text.contains(s.as_str())) {
            found.insert((std::cmp::Reverse(s.len()), s.as_str()));
        }
        found.into_iter().map(|(_, s)| s).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn needles(strings: &[&str]) -> Needles {
        let mut n = Needles::default();
        for s in strings {
            n.insert(s.to_string());
        }
        n.index();
        n
    }

    #[test]
    fn finds_each_string_present_longest_first() {
        let n = needles(&["abc", "xxabcxx", "zz", "b"]);
        assert_eq!(n.found_in("-- xxabcxx -- b"), ["xxabcxx", "abc", "b"]);
        assert_eq!(n.found_in("nothing here"), Vec::<&str>::new());
    }

    #[test]
    fn empty_and_repeated_strings_are_refused() {
        let mut n = Needles::default();
        assert!(!n.insert(String::new()));
        assert!(n.is_empty());
        assert!(n.insert("a".into()));
        assert!(!n.insert("a".into()));
        assert_eq!(n.found_in("aaa"), ["a"]);
        n.index();
        assert!(!n.insert("a".into()));
        assert_eq!(n.found_in("aaa"), ["a"]);
    }

    #[test]
    fn every_string_is_found_whichever_run_holds_it() {
        // 1000 additions indexed one by one leave runs of 512, 256, 128,
        // 64, 32, 8 strings; the last ones added wait, and are found too.
        let strings: Vec<String> = (0..1003).map(|i| format!("<secret {i}>")).collect();
        let mut n = Needles::default();
        for (i, s) in strings.iter().enumerate() {
            assert!(n.insert(s.clone()));
            if i < 1000 {
                n.index();
            }
        }
        assert!(n.has_waiting());
        assert_eq!(n.runs.iter().map(|r| r.strings.len()).collect::<Vec<_>>(), [512, 256, 128, 64, 32, 8]);
        for s in &strings {
            assert_eq!(n.found_in(&format!("before {s} after")), [s.as_str()]);
        }
    }
}
