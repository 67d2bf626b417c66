//! Links the `sidebyside` binary as a position-dependent executable.
//!
//! Every snippet is started by a launcher (`sidebyside __launch`) that forks and executes it.
//! Linux reports a child's peak memory (`ru_maxrss`) as at least the resident size of the forked
//! copy before `execve`, so the launcher's own private memory is the floor of every measurement.
//! In a position-independent executable the dynamic loader writes the relocated pointers of
//! every dependency's vtables and tables at start-up: about 500 KiB of private pages, half the
//! launcher's floor. Linked at a fixed address they stay clean, shared pages of the file, which
//! a fork does not copy: the floor drops to about 1 MiB (what `/bin/true` uses) and the fork,
//! inside the measured window, gets cheaper too. The library, tests and benches are unchanged.
fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_OS").as_deref() == Ok("linux") {
        println!("cargo:rustc-link-arg-bins=-no-pie");
    }
}
