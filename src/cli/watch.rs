//! `verify --watch`: verify, then verify again each time a watched file is saved.
//!
//! Each round is a whole `verify` with the verdict cache on, so only what a change affects
//! runs: an edited block, the blocks of its session or group whose inputs changed, every block
//! when a mapping changed (the mock is in every key). Events from the file system (the `notify`
//! crate: inotify on Linux) are debounced: a save that writes several files, or an editor that
//! writes a temporary file and renames it, starts one round, [`QUIET`] after the last event,
//! or only [`SETTLE`] after it when that event ends a save (a file closed after writing, or
//! renamed into place): a save's events come together, so the round need not wait for more.
//! A change that comes while a round runs starts another when it ends. The screen is redrawn
//! with the verdicts after each round. Ctrl-C while waiting ends the watch with the last round's
//! exit status (0 when all was good); Ctrl-C during a round kills its runs, as in `verify`, and
//! exits 130.

use super::{progress, ExitStatus};
use notify::{RecursiveMode, Watcher};
use sidebyside::events::StopPolicy;
use sidebyside::shutdown::Shutdown;
use sidebyside::verify::VerifyOptions;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// How long the file system must be quiet after a change before a round starts.
const QUIET: Duration = Duration::from_millis(30);

/// The same, after an event that ends a save: long enough for the rest of the save's events,
/// which the kernel queues together (the rename after the temporary file's close).
const SETTLE: Duration = Duration::from_millis(5);

/// Whether an event ends a save: a file closed after writing, or renamed into place.
fn ends_a_save(kind: &notify::EventKind) -> bool {
    use notify::event::{AccessKind, AccessMode, ModifyKind, RenameMode};
    matches!(
        kind,
        notify::EventKind::Access(AccessKind::Close(AccessMode::Write))
            | notify::EventKind::Modify(ModifyKind::Name(RenameMode::To | RenameMode::Both))
    )
}

/// Watches the documents, snippets and mock folder of `options`; runs until Ctrl-C.
pub fn watch(options: VerifyOptions, out: Option<PathBuf>) -> ExitStatus {
    let runtime = match super::async_runtime() {
        Ok(runtime) => runtime,
        Err(status) => return status,
    };
    runtime.block_on(rounds(options, out))
}

async fn rounds(options: VerifyOptions, out: Option<PathBuf>) -> ExitStatus {
    let reporter = progress::for_stderr(true);
    let shutdown = match Shutdown::listen(StopPolicy::AbortRuns, reporter.clone()) {
        Ok(shutdown) => shutdown,
        Err(error) => {
            eprintln!("sidebyside: cannot listen for Ctrl-C: {error}");
            return ExitStatus::Failed;
        }
    };
    // Each changed path, and whether its event ended a save.
    let (sender, mut changes) = tokio::sync::mpsc::unbounded_channel::<(PathBuf, bool)>();
    let ignored = ignored_folders(&options);
    // Absolute paths, as the events name them. A file is watched through its folder: an
    // editor that saves by writing a new file and renaming it over the old one replaces the
    // file a watch on it would follow.
    let mut watched: Vec<PathBuf> = options.paths.clone();
    if options.harness.mock_dir.exists() {
        watched.push(options.harness.mock_dir.clone());
    }
    let watched: Vec<PathBuf> = watched
        .iter()
        .map(|path| std::path::absolute(path).unwrap_or_else(|_| path.clone()))
        .collect();
    let roots = watched.clone();
    let mut watcher =
        match notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if let Ok(event) = event {
                let ends = ends_a_save(&event.kind);
                if matches!(event.kind, notify::EventKind::Access(_)) && !ends {
                    return;
                }
                for path in event.paths {
                    let concerned = roots.iter().any(|root| {
                        if root.is_dir() {
                            path.starts_with(root)
                        } else {
                            &path == root
                        }
                    });
                    if concerned && !is_noise(&path, &ignored, &roots) {
                        let _ = sender.send((path, ends));
                    }
                }
            }
        }) {
            Ok(watcher) => watcher,
            Err(error) => {
                eprintln!(
                "sidebyside: cannot watch for changes: {error}; run `sidebyside verify` without \
                 --watch instead"
            );
                return ExitStatus::Failed;
            }
        };
    for path in &watched {
        let (target, mode) = if path.is_dir() {
            (path.as_path(), RecursiveMode::Recursive)
        } else {
            (
                path.parent().unwrap_or(Path::new("/")),
                RecursiveMode::NonRecursive,
            )
        };
        if let Err(error) = watcher.watch(target, mode) {
            eprintln!(
                "sidebyside: cannot watch {}: {error} (on Linux, raise \
                 fs.inotify.max_user_watches if the tree is large)",
                path.display()
            );
            return ExitStatus::Failed;
        }
    }
    let terminal = std::io::stdout().is_terminal();
    let mut changed: Vec<PathBuf> = Vec::new();
    loop {
        let started = Instant::now();
        // Progress counts this round's runs.
        let progress = progress::for_stderr(true);
        let outcome =
            sidebyside::verify::verify(&options, shutdown.clone(), progress.clone()).await;
        progress.finish();
        if terminal {
            // Clear the screen and go home: the verdicts of this round replace the last.
            print!("\x1b[2J\x1b[H");
        }
        let status = match outcome {
            Ok(results) => {
                // The verdicts first; the reports of `--out` (megabytes for a large tree) are
                // written once they are on the screen.
                print!(
                    "{}",
                    sidebyside::report::render_watch_round(&results, out.as_deref())
                );
                let _ = std::io::Write::flush(&mut std::io::stdout());
                if let Some(directory) = &out {
                    let _ = super::write_out(directory, &results, &[]);
                }
                super::status_of_verify(&results)
            }
            Err(error) => {
                eprintln!("sidebyside: {error}");
                if error.is_interrupted() {
                    ExitStatus::Interrupted
                } else {
                    ExitStatus::Failed
                }
            }
        };
        if shutdown.requested() {
            return ExitStatus::Interrupted;
        }
        let names: Vec<String> = changed
            .iter()
            .map(|path| path.display().to_string())
            .collect();
        println!(
            "\n[watch] {} after {}: round took {:.2} s ({}); waiting for changes to {} (Ctrl-C \
             to stop)",
            clock(),
            if names.is_empty() {
                "start".to_string()
            } else {
                names.join(", ")
            },
            started.elapsed().as_secs_f64(),
            match status {
                ExitStatus::Passed => "all good",
                ExitStatus::Interrupted => "interrupted",
                _ => "something failed",
            },
            watched
                .iter()
                .map(|path| path.display().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // Wait for a change, then for the file system to be quiet.
        changed.clear();
        let mut saved = tokio::select! {
            change = changes.recv() => match change {
                Some((path, ends)) => {
                    changed.push(path);
                    ends
                }
                None => return ExitStatus::Failed,
            },
            () = shutdown.abort() => return status,
        };
        loop {
            tokio::select! {
                change = changes.recv() => match change {
                    Some((path, ends)) => {
                        if !changed.contains(&path) {
                            changed.push(path);
                        }
                        saved = ends;
                    }
                    None => return ExitStatus::Failed,
                },
                () = tokio::time::sleep(if saved { SETTLE } else { QUIET }) => break,
                () = shutdown.abort() => return status,
            }
        }
    }
}

/// Folders whose changes are sidebyside's own doing (the cache, `--out`, build output).
fn ignored_folders(options: &VerifyOptions) -> Vec<PathBuf> {
    let mut folders = vec![options.harness.cache_dir.clone()];
    if let Ok(cache) = options.harness.cache_dir.canonicalize() {
        folders.push(cache);
    }
    folders
}

/// A change nobody saved: an editor's swap or backup file, a hidden folder (`.git`) or build
/// output (`target/`) inside a watched folder, or something under an ignored folder.
fn is_noise(path: &Path, ignored: &[PathBuf], roots: &[PathBuf]) -> bool {
    if ignored.iter().any(|folder| path.starts_with(folder)) {
        return true;
    }
    let name = path
        .file_name()
        .map(|name| name.to_string_lossy().into_owned())
        .unwrap_or_default();
    if name.ends_with('~')
        || name.ends_with(".swp")
        || name.ends_with(".swx")
        || name.starts_with(".#")
        || name == "4913"
    {
        return true;
    }
    let inside = roots
        .iter()
        .find_map(|root| path.strip_prefix(root).ok())
        .unwrap_or(path);
    inside.components().any(|component| {
        let part = component.as_os_str().to_string_lossy();
        (part.starts_with('.') && part.len() > 1 && part != "..") || part == "target"
    })
}

/// The wall clock, `HH:MM:SS` UTC.
fn clock() -> String {
    let now = time::OffsetDateTime::now_utc();
    format!(
        "{:02}:{:02}:{:02} UTC",
        now.hour(),
        now.minute(),
        now.second()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_after_writing_or_a_rename_into_place_ends_a_save() {
        use notify::event::{
            AccessKind, AccessMode, CreateKind, DataChange, ModifyKind, RenameMode,
        };
        use notify::EventKind;
        assert!(ends_a_save(&EventKind::Access(AccessKind::Close(
            AccessMode::Write
        ))));
        assert!(ends_a_save(&EventKind::Modify(ModifyKind::Name(
            RenameMode::To
        ))));
        assert!(ends_a_save(&EventKind::Modify(ModifyKind::Name(
            RenameMode::Both
        ))));
        assert!(!ends_a_save(&EventKind::Modify(ModifyKind::Name(
            RenameMode::From
        ))));
        assert!(!ends_a_save(&EventKind::Modify(ModifyKind::Data(
            DataChange::Any
        ))));
        assert!(!ends_a_save(&EventKind::Create(CreateKind::File)));
        assert!(!ends_a_save(&EventKind::Access(AccessKind::Close(
            AccessMode::Read
        ))));
    }

    #[test]
    fn editor_files_hidden_folders_and_build_output_are_noise() {
        let ignored = vec![PathBuf::from("/cache")];
        let roots = vec![PathBuf::from("/home/me/.work/docs")];
        for noisy in [
            "/docs/.page.md.swp",
            "/docs/page.md~",
            "/docs/.git/index",
            "/docs/pkg/target/release/x",
            "/cache/verdicts/abc.json",
            "/docs/4913",
            "/home/me/.work/docs/.git/HEAD",
        ] {
            assert!(is_noise(Path::new(noisy), &ignored, &roots), "{noisy}");
        }
        // A watched folder that is itself inside a hidden one is watched.
        for saved in [
            "/docs/page.md",
            "/mock/mappings/a.json",
            "/home/me/.work/docs/page.md",
        ] {
            assert!(!is_noise(Path::new(saved), &ignored, &roots), "{saved}");
        }
    }
}
