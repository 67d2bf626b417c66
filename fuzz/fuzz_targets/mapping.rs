//! Fuzzes the mock's mapping-file parser: arbitrary bytes (as a mapping file's text) must give
//! mappings or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use sidebyside::mock::Mapping;
use std::path::Path;
use std::sync::OnceLock;

/// An empty `__files` folder shared by all inputs, so `bodyFileName` lookups stay inside it.
fn files_dir() -> &'static Path {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| tempfile::tempdir().expect("a temporary folder for __files"))
        .path()
}

fuzz_target!(|bytes: &[u8]| {
    // The loader reads files with `read_to_string`, so non-UTF-8 never reaches the parser; lossy
    // conversion still lets the fuzzer explore the bytes that are valid.
    let text = String::from_utf8_lossy(bytes);
    let file = Path::new("mappings/fuzzed.json");
    if let Ok(mappings) = Mapping::parse_file(file, &text, files_dir()) {
        for mapping in &mappings {
            assert!((1..=254).contains(&mapping.priority()));
            assert!((100..=999).contains(&mapping.status()));
            assert!(!mapping.label().is_empty());
        }
    }
});
