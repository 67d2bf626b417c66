//! Splitting one verification across several CI jobs, as `cargo nextest --partition` splits a
//! test suite: `--partition slice:K/N` or `hash:K/N` keeps the K-th of N shares of the snippets,
//! and [`merge`] puts the N results documents back together into the document one unpartitioned
//! run would have written.
//!
//! What is shared out is not single snippets but *units*: snippets that must run together. The
//! blocks of one group are compared with one another (a group is judged as a whole), and the
//! blocks of a session page run as one program, so each group and each session page is in
//! exactly one share (see [`units`]).
//!
//! - `slice:K/N` lists the units in the order `verify` reports them and deals them out
//!   round-robin: unit 1 to share 1, unit 2 to share 2, ..., unit N+1 to share 1. Shares are as
//!   even as they can be, but adding a unit near the top moves the ones below it.
//! - `hash:K/N` puts a unit in share `1 + FNV-1a(key) mod N`, where the key is the unit's
//!   smallest group name: a unit stays in its share when other pages are added or removed.
//!
//! Every share writes a whole results document with a [`PartitionInfo`]: which share it is, a
//! fingerprint of the run (its settings and the code of every snippet of every share) and the
//! list of every snippet of the run. [`merge`] refuses documents of different runs, a share given
//! twice, and says which shares are missing.

use crate::observation::Source;
use crate::results::{Results, Summary};
use crate::snippet::{Discovery, Snippet, SnippetKind};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

/// How the units are shared out.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Scheme {
    /// Round-robin over the units in report order.
    Slice,
    /// By a stable hash of each unit's key.
    Hash,
}

/// `--partition slice:K/N` or `hash:K/N`: share K (counting from 1) of N.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Partition {
    pub scheme: Scheme,
    pub index: usize,
    pub count: usize,
}

impl fmt::Display for Partition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = match self.scheme {
            Scheme::Slice => "slice",
            Scheme::Hash => "hash",
        };
        write!(f, "{scheme}:{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Partition {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let expected = |why: &str| {
            format!(
                "expected slice:K/N or hash:K/N with whole numbers 1 ≤ K ≤ N (share K of N), \
                 found {text:?}: {why}"
            )
        };
        let (scheme, share) = text
            .trim()
            .split_once(':')
            .ok_or_else(|| expected("no `:` after the scheme"))?;
        let scheme = match scheme {
            "slice" => Scheme::Slice,
            "hash" => Scheme::Hash,
            other => return Err(expected(&format!("unknown scheme `{other}`"))),
        };
        let (index, count) = share
            .split_once('/')
            .ok_or_else(|| expected("no `/` between K and N"))?;
        let number = |part: &str, name: &str| {
            part.parse::<usize>()
                .map_err(|_| expected(&format!("{name} is not a whole number")))
        };
        let (index, count) = (number(index, "K")?, number(count, "N")?);
        if count == 0 {
            return Err(expected("N must be at least 1"));
        }
        if index == 0 || index > count {
            return Err(expected(&format!("K must be from 1 to {count}")));
        }
        Ok(Partition {
            scheme,
            index,
            count,
        })
    }
}

/// Parses `--partition`, for clap.
pub fn parse(text: &str) -> Result<Partition, String> {
    text.parse()
}

/// What a partitioned results document says of its share and of the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PartitionInfo {
    pub scheme: Scheme,
    /// This share, counting from 1.
    pub index: usize,
    /// How many shares the run was split into.
    pub count: usize,
    /// A fingerprint of the run: its settings and the code of every snippet of every share.
    /// Documents with different fingerprints are of different runs and are not merged.
    pub run: String,
    /// Every snippet of the whole run (all shares), in the order `verify` reports them.
    pub snippets: Vec<Source>,
}

impl PartitionInfo {
    fn share(&self) -> Partition {
        Partition {
            scheme: self.scheme,
            index: self.index,
            count: self.count,
        }
    }
}

/// Groups the snippets into the units that must run in one share: snippets sharing a group
/// name, and the blocks of a page that runs as a session. Each unit is a list of indices into
/// `snippets`, in order; the units are in the order of their first snippet.
pub fn units(snippets: &[Snippet]) -> Vec<Vec<usize>> {
    let mut parent: Vec<usize> = (0..snippets.len()).collect();
    fn root(parent: &mut [usize], mut at: usize) -> usize {
        while parent[at] != at {
            parent[at] = parent[parent[at]];
            at = parent[at];
        }
        at
    }
    let mut first_of: BTreeMap<String, usize> = BTreeMap::new();
    for (index, snippet) in snippets.iter().enumerate() {
        let mut ties = vec![format!("group {}", snippet.group)];
        if let SnippetKind::Block { page, .. } = &snippet.kind {
            if page.session {
                ties.push(format!("session {}", snippet.source.path.display()));
            }
        }
        for tie in ties {
            let first = *first_of.entry(tie).or_insert(index);
            let (a, b) = (root(&mut parent, first), root(&mut parent, index));
            // The smaller index is the root, so a unit's root is its first snippet.
            parent[a.max(b)] = a.min(b);
        }
    }
    let mut units: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
    for index in 0..snippets.len() {
        let unit = root(&mut parent, index);
        units.entry(unit).or_default().push(index);
    }
    units.into_values().collect()
}

/// 64-bit FNV-1a: small, fixed forever, the same on every machine and every build.
pub fn fnv1a(bytes: &[u8]) -> u64 {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for &byte in bytes {
        hash ^= u64::from(byte);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    hash
}

/// The share (from 1) of each snippet under `scheme` with `count` shares.
pub fn assign(snippets: &[Snippet], scheme: Scheme, count: usize) -> Vec<usize> {
    let mut share = vec![0; snippets.len()];
    for (position, unit) in units(snippets).iter().enumerate() {
        let of_unit = match scheme {
            Scheme::Slice => position % count + 1,
            Scheme::Hash => {
                let key = unit
                    .iter()
                    .map(|&index| snippets[index].group.as_str())
                    .min()
                    .unwrap_or_default();
                (fnv1a(key.as_bytes()) % count as u64) as usize + 1
            }
        };
        for &index in unit {
            share[index] = of_unit;
        }
    }
    share
}

/// A fingerprint of a run: `settings` (what changes verdicts: runtimes, limits, flags) and
/// every snippet's place and code.
pub fn fingerprint(snippets: &[Snippet], settings: &str) -> String {
    let mut text = format!("{settings}\n");
    for snippet in snippets {
        text.push_str(&format!("{}\n{}\n", snippet.source, snippet.group));
        if let SnippetKind::Block { code, .. } = &snippet.kind {
            text.push_str(code);
        }
        text.push('\n');
    }
    format!("{:016x}", fnv1a(text.as_bytes()))
}

/// A fingerprint of a folder's files (names relative to it, and contents), such as the mock's
/// mappings: the same on every machine that has the same files, wherever the folder is.
pub fn folder_fingerprint(folder: &Path) -> String {
    let mut files = Vec::new();
    let mut folders = vec![folder.to_path_buf()];
    while let Some(at) = folders.pop() {
        for entry in std::fs::read_dir(&at).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.is_dir() {
                folders.push(path);
            } else {
                files.push(path);
            }
        }
    }
    files.sort();
    let mut text = Vec::new();
    for path in files {
        let name = path.strip_prefix(folder).unwrap_or(&path);
        text.extend_from_slice(name.to_string_lossy().as_bytes());
        text.push(0);
        text.extend(std::fs::read(&path).unwrap_or_default());
        text.push(0);
    }
    format!("{:016x}", fnv1a(&text))
}

/// Keeps only the snippets of `partition`'s share; returns what the results document says of
/// the share. The blocks found but not run and the problems are kept in every share (they cost
/// nothing to report; [`merge`] keeps one of each).
pub fn select(discovery: &mut Discovery, partition: Partition, settings: &str) -> PartitionInfo {
    let info = PartitionInfo {
        scheme: partition.scheme,
        index: partition.index,
        count: partition.count,
        run: fingerprint(&discovery.snippets, settings),
        snippets: discovery
            .snippets
            .iter()
            .map(|snippet| snippet.source.clone())
            .collect(),
    };
    let shares = assign(&discovery.snippets, partition.scheme, partition.count);
    let mut shares = shares.into_iter();
    discovery
        .snippets
        .retain(|_| shares.next() == Some(partition.index));
    info
}

/// Merges the shares of one partitioned run into the document an unpartitioned run would have
/// written. `documents` pairs each document with the file it was read from, for the messages.
/// Documents without a partition are returned as they are (they are merged by machine), and so
/// is one share given alone (a job's report of its own share).
pub fn merge(documents: Vec<(PathBuf, Results)>) -> Result<Vec<Results>, String> {
    let partitioned = documents
        .iter()
        .filter(|(_, results)| results.partition.is_some())
        .count();
    // No share, or one share alone (a job's own report): rendered as they are.
    if partitioned == 0 || documents.len() == 1 {
        return Ok(documents.into_iter().map(|(_, results)| results).collect());
    }
    if partitioned < documents.len() {
        let whole: Vec<String> = documents
            .iter()
            .filter(|(_, results)| results.partition.is_none())
            .map(|(path, _)| path.display().to_string())
            .collect();
        return Err(format!(
            "{} written by `verify --partition` and {} not ({}): give either the shares of one \
             partitioned run, to merge them, or whole results documents, to compare them",
            plural(partitioned, "document is", "documents are"),
            whole.len(),
            whole.join(", ")
        ));
    }
    let first_path = documents[0].0.clone();
    let first = documents[0]
        .1
        .partition
        .clone()
        .expect("counted as partitioned");
    let mut given: BTreeMap<usize, &Path> = BTreeMap::new();
    for (path, results) in &documents {
        let info = results.partition.as_ref().expect("counted as partitioned");
        if results.command != "verify" {
            return Err(format!(
                "{}: a `{}` document with a partition: only `verify` is partitioned",
                path.display(),
                results.command
            ));
        }
        if info.scheme != first.scheme || info.count != first.count {
            return Err(format!(
                "{} is share {} and {} is share {}: the shares of one run are all split the \
                 same way; give the documents of one run",
                first_path.display(),
                first.share(),
                path.display(),
                info.share()
            ));
        }
        if info.run != first.run || info.snippets != first.snippets {
            return Err(format!(
                "{} and {} are shares of different runs (run {} and run {}): their settings or \
                 their snippets differ; merge only the shares of one run, verified from one \
                 commit with the same flags",
                first_path.display(),
                path.display(),
                first.run,
                info.run
            ));
        }
        if let Some(other) = given.insert(info.index, path) {
            return Err(format!(
                "share {} is given twice ({} and {}): give each share of the run once",
                info.share(),
                other.display(),
                path.display()
            ));
        }
    }
    if given.len() < first.count {
        let missing: Vec<String> = (1..=first.count)
            .filter(|index| !given.contains_key(index))
            .map(|index| {
                Partition {
                    index,
                    ..first.share()
                }
                .to_string()
            })
            .collect();
        return Err(format!(
            "{} of {} shares of run {} given: missing {}; give the results document of every \
             share (or verify the missing ones) to merge them",
            given.len(),
            first.count,
            first.run,
            missing.join(", ")
        ));
    }
    let mut documents: Vec<(PathBuf, Results)> = documents;
    documents.sort_by_key(|(_, results)| results.partition.as_ref().map(|info| info.index));
    Ok(vec![merge_shares(documents, &first)?])
}

fn plural(count: usize, one: &str, many: &str) -> String {
    format!("{count} {}", if count == 1 { one } else { many })
}

/// A snippet's place, to look it up.
type Key = (PathBuf, Option<usize>);

fn key(source: &Source) -> Key {
    (source.path.clone(), source.line)
}

/// Puts the shares (in share order, all of one run) together in the order of one run.
fn merge_shares(
    documents: Vec<(PathBuf, Results)>,
    info: &PartitionInfo,
) -> Result<Results, String> {
    let place: BTreeMap<Key, usize> = info
        .snippets
        .iter()
        .enumerate()
        .map(|(index, source)| (key(source), index))
        .collect();
    let mut shares = documents.into_iter();
    let (_, mut merged) = shares.next().expect("at least one share");
    let mut seen_sources: BTreeMap<Key, usize> = BTreeMap::new();
    let mut note = |results: &Results, index: usize| -> Result<(), String> {
        let sources: BTreeMap<Key, &Source> = results
            .runs
            .iter()
            .map(|run| (key(&run.source), &run.source))
            .collect();
        for (at, source) in sources {
            if !place.contains_key(&at) {
                return Err(format!(
                    "share {index}/{} ran {source}, which is not among the run's snippets: the \
                     document was changed after it was written",
                    info.count
                ));
            }
            if let Some(other) = seen_sources.insert(at, index) {
                return Err(format!(
                    "{source} was run by share {other} and by share {index}: the shares overlap"
                ));
            }
        }
        Ok(())
    };
    let first_index = merged.partition.as_ref().map_or(0, |info| info.index);
    note(&merged, first_index)?;
    // What every share holds once (blocks not run, problems), to keep each once.
    type Entry = (PathBuf, Option<usize>, String, String);
    let not_run_key = |entry: &crate::results::NotRun| -> Entry {
        let (path, line) = key(&entry.source);
        (path, line, entry.language.clone(), entry.reason.clone())
    };
    let problem_key = |problem: &crate::results::Problem| -> Entry {
        let (path, line) = key(&problem.source);
        (path, line, problem.message.clone(), String::new())
    };
    let mut not_run_seen: std::collections::BTreeSet<Entry> =
        merged.not_run.iter().map(not_run_key).collect();
    let mut problems_seen: std::collections::BTreeSet<Entry> =
        merged.problems.iter().map(problem_key).collect();
    for (_, share) in shares {
        let index = share.partition.as_ref().map_or(0, |info| info.index);
        note(&share, index)?;
        merged.runs.extend(share.runs);
        merged.groups.extend(share.groups);
        for entry in share.not_run {
            if not_run_seen.insert(not_run_key(&entry)) {
                merged.not_run.push(entry);
            }
        }
        for problem in share.problems {
            if problems_seen.insert(problem_key(&problem)) {
                merged.problems.push(problem);
            }
        }
        merged.updated.extend(share.updated);
        merged.interrupted |= share.interrupted;
        merged.tls &= share.tls;
        for (name, version) in share.environment.runtimes {
            merged.environment.runtimes.entry(name).or_insert(version);
        }
    }
    let position = |source: &Source| place.get(&key(source)).copied().unwrap_or(usize::MAX);
    // One run reports its snippets in discovery order, each on its runtimes in the order given;
    // a snippet is in one share, so a stable sort by snippet restores that order.
    merged.runs.sort_by_key(|run| position(&run.source));
    merged.groups.sort_by(|a, b| a.group.cmp(&b.group));
    // Blocks found but not run come first as discovery found them (every share has them all),
    // then the snippets that could not be started, in snippet order.
    let (found, not_started): (Vec<_>, Vec<_>) = merged
        .not_run
        .into_iter()
        .partition(|entry| !place.contains_key(&key(&entry.source)));
    let mut not_started = not_started;
    not_started.sort_by_key(|entry| position(&entry.source));
    merged.not_run = found.into_iter().chain(not_started).collect();
    merged.updated.sort_by_key(|entry| position(&entry.source));
    merged.summary = Summary::of(&merged.runs);
    merged.protections = crate::results::protections_of(&merged.runs);
    merged.partition = None;
    Ok(merged)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::observation::Language;
    use crate::snippet::{BlockCheck, Page};
    use std::collections::BTreeSet;
    use std::sync::Arc;

    fn block(path: &str, line: usize, group: &str, page: &Arc<Page>) -> Snippet {
        Snippet {
            name: format!("{path}:{line}"),
            group: group.to_string(),
            language: Language::Python,
            source: Source {
                path: PathBuf::from(path),
                line: Some(line),
            },
            kind: SnippetKind::Block {
                code: format!("print({line})\n"),
                first_code_line: line + 1,
                check: BlockCheck::Run,
                by_heading: true,
                page: page.clone(),
                expected_output: None,
                shape: None,
            },
            expect_failure: false,
        }
    }

    /// Thirty pages of three blocks: two share a heading group, one is alone; every fifth page
    /// is a session page whose blocks are in groups of their own.
    fn tree() -> Vec<Snippet> {
        let mut snippets = Vec::new();
        for page in 0..30 {
            let session = page % 5 == 0;
            let shared = Arc::new(Page {
                session,
                ..Page::default()
            });
            let path = format!("docs/page-{page:02}.md");
            snippets.push(block(&path, 3, &format!("page-{page:02}#setup"), &shared));
            snippets.push(block(&path, 9, &format!("page-{page:02}#setup"), &shared));
            snippets.push(block(
                &path,
                15,
                &format!("page-{page:02}#use-{page}"),
                &shared,
            ));
        }
        snippets
    }

    #[test]
    fn parses_what_nextest_accepts_and_says_why_not() {
        assert_eq!(
            parse("slice:2/4"),
            Ok(Partition {
                scheme: Scheme::Slice,
                index: 2,
                count: 4
            })
        );
        assert_eq!(parse("hash:1/1").unwrap().to_string(), "hash:1/1");
        for (bad, why) in [
            ("slice:0/4", "K must be from 1 to 4"),
            ("slice:5/4", "K must be from 1 to 4"),
            ("hash:1/0", "N must be at least 1"),
            ("count:1/2", "unknown scheme `count`"),
            ("slice-1/2", "no `:`"),
            ("slice:1", "no `/`"),
            ("hash:a/2", "K is not a whole number"),
        ] {
            let error = parse(bad).expect_err(bad);
            assert!(error.contains(why), "{bad}: {error}");
            assert!(error.contains("slice:K/N or hash:K/N"), "{error}");
        }
    }

    #[test]
    fn every_snippet_is_in_exactly_one_share_and_units_stay_whole() {
        let snippets = tree();
        for scheme in [Scheme::Slice, Scheme::Hash] {
            for count in [1, 2, 3, 4, 7, 200] {
                let shares = assign(&snippets, scheme, count);
                assert_eq!(shares.len(), snippets.len());
                assert!(shares.iter().all(|&share| (1..=count).contains(&share)));
                // Selecting each share in turn gives every snippet exactly once.
                let mut chosen = Vec::new();
                for index in 1..=count {
                    let mut discovery = Discovery {
                        snippets: snippets.clone(),
                        ..Discovery::default()
                    };
                    let partition = Partition {
                        scheme,
                        index,
                        count,
                    };
                    select(&mut discovery, partition, "settings");
                    chosen.extend(discovery.snippets.iter().map(|s| key(&s.source)));
                }
                chosen.sort();
                let mut all: Vec<Key> = snippets.iter().map(|s| key(&s.source)).collect();
                all.sort();
                assert_eq!(chosen, all, "{scheme:?} {count}");
                for (a, first) in snippets.iter().enumerate() {
                    for (b, second) in snippets.iter().enumerate() {
                        let same_session = first.source.path == second.source.path
                            && matches!(&first.kind, SnippetKind::Block { page, .. } if page.session);
                        if first.group == second.group || same_session {
                            assert_eq!(shares[a], shares[b], "{} and {}", first.name, second.name);
                        }
                    }
                }
            }
        }
    }

    #[test]
    fn slices_deal_units_round_robin_and_session_pages_are_one_unit() {
        let snippets = tree();
        let units = units(&snippets);
        // Session pages (every fifth) are one unit of three; other pages two units.
        assert_eq!(units.len(), 6 + 24 * 2);
        assert_eq!(units[0], vec![0, 1, 2]);
        assert_eq!(units[1], vec![3, 4]);
        assert_eq!(units[2], vec![5]);
        let shares = assign(&snippets, Scheme::Slice, 4);
        assert_eq!(&shares[..6], &[1, 1, 1, 2, 2, 3]);
        // As even as can be: 54 units in 4 shares are 14, 14, 13, 13.
        let mut per_share = [0; 4];
        for unit in &units {
            per_share[shares[unit[0]] - 1] += 1;
        }
        assert_eq!(per_share, [14, 14, 13, 13]);
    }

    #[test]
    fn hashed_shares_do_not_move_when_other_pages_come_and_go() {
        let snippets = tree();
        let before = assign(&snippets, Scheme::Hash, 4);
        // Remove the first two pages: every other block keeps its share.
        let fewer: Vec<Snippet> = snippets[6..].to_vec();
        let after = assign(&fewer, Scheme::Hash, 4);
        assert_eq!(&before[6..], &after[..]);
        // And the same input gives the same shares, run after run.
        assert_eq!(before, assign(&snippets, Scheme::Hash, 4));
        // Every share of four gets some of the 54 units.
        let used: BTreeSet<usize> = before.iter().copied().collect();
        assert_eq!(used.len(), 4);
        // FNV-1a is fixed: a known value guards against a silent change of the hash.
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
    }

    #[test]
    fn fingerprints_change_with_the_code_or_the_settings() {
        let snippets = tree();
        let base = fingerprint(&snippets, "settings");
        assert_eq!(base, fingerprint(&snippets, "settings"));
        assert_ne!(base, fingerprint(&snippets, "other settings"));
        let mut edited = snippets.clone();
        if let SnippetKind::Block { code, .. } = &mut edited[4].kind {
            code.push_str("print('more')\n");
        }
        assert_ne!(base, fingerprint(&edited, "settings"));
    }
}
