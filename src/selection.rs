//! What `verify` and `list` keep of the snippets they find: those of the files changed since a
//! git commit (`--changed-since`, [`crate::changed`]) and, of those, one share of a partitioned
//! run (`--partition`, [`crate::partition`]).

/// What a verification keeps of the snippets found: those of the documents changed since a
/// git commit, and of those, one share of a partitioned run.
#[derive(Debug, Clone, Default)]
pub struct Selection {
    /// `--changed-since`: only the snippets and blocks of these files (absolute paths).
    pub changed: Option<crate::changed::Changed>,
    /// `--partition slice:K/N` or `hash:K/N`.
    pub partition: Option<crate::partition::Partition>,
    /// `--no-snippets pass`: paths holding no snippet make an empty results document instead
    /// of a usage error (a pre-commit hook given only pages without code).
    pub allow_empty: bool,
}

impl Selection {
    /// Keeps what is selected of `discovery`; returns what the document says of its share.
    pub fn apply(
        &self,
        discovery: &mut crate::snippet::Discovery,
        settings: impl FnOnce() -> String,
    ) -> Option<crate::partition::PartitionInfo> {
        if let Some(changed) = &self.changed {
            changed.keep(discovery);
        }
        self.partition
            .map(|partition| crate::partition::select(discovery, partition, &settings()))
    }
}
