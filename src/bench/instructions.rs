//! `--metric instructions`: every run under Valgrind's cachegrind, which counts the
//! instructions the program executed, a figure that does not move with the machine's load or
//! clock speed (the approach CodSpeed takes on CI runners, whose timings are noisy and whose
//! hardware counters are hidden). Runs are 20 to 50 times slower, and what is ranked is the
//! count, not time.
//!
//! Runtimes whose code is compiled at run time by a JIT (Node's and Deno's V8, Bun's
//! JavaScriptCore) are skipped with the reason: under Valgrind every JIT-generated block is
//! translated again, start-up alone takes many seconds, and how much of the program is compiled
//! by which tier depends on timing, so the count is neither cheap nor repeatable. CPython and
//! compiled Rust programs run as they are.

use crate::observation::Language;
use crate::runtime::PreparedCommand;
use std::path::PathBuf;

/// The figure the count is kept under, and the ranking measurement.
pub const FIGURE: &str = "instructions";

/// Valgrind, or why it cannot be used.
pub fn valgrind() -> Result<PathBuf, String> {
    which::which("valgrind").map_err(|_| {
        "valgrind is not installed, which --metric instructions runs every program under \
         (Debian, Ubuntu: apt-get install valgrind)"
            .to_string()
    })
}

/// Why a runtime of this language is not measured by instructions, if it is not.
pub fn unsupported(language: Option<Language>) -> Option<String> {
    (language == Some(Language::Javascript)).then(|| {
        "not measured by --metric instructions: its JIT-compiled code runs many times slower \
         under Valgrind and the count depends on when the JIT compiles what, so it is not \
         deterministic"
            .to_string()
    })
}

/// The command run under cachegrind (no cache simulation: only the count), following the
/// processes the program starts (a launcher script that executes the interpreter included).
pub fn wrap(valgrind: &std::path::Path, command: &PreparedCommand) -> PreparedCommand {
    let mut args = vec![
        "--tool=cachegrind".to_string(),
        "--cache-sim=no".to_string(),
        "--cachegrind-out-file=/dev/null".to_string(),
        "--trace-children=yes".to_string(),
        command.program.to_string_lossy().into_owned(),
    ];
    args.extend(command.args.iter().cloned());
    PreparedCommand {
        program: valgrind.to_path_buf(),
        args,
        env: command.env.clone(),
        line_map: command.line_map.clone(),
    }
}

/// The instructions counted in a run's stderr: the sum of cachegrind's `I refs:` lines, one per
/// process it followed; `None` when there is none.
pub fn count(stderr: &str) -> Option<f64> {
    let mut total: Option<f64> = None;
    for line in stderr.lines() {
        let Some((_, rest)) = line.split_once("I   refs:") else {
            continue;
        };
        let digits: String = rest.trim().chars().filter(char::is_ascii_digit).collect();
        if let Ok(value) = digits.parse::<f64>() {
            total = Some(total.unwrap_or(0.0) + value);
        }
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_summed_over_every_process_followed() {
        let stderr = "==12== Cachegrind, a cache and branch-prediction profiler\n\
                      ==12== I   refs:      139,515,367\n\
                      hello from the program\n\
                      ==13== I   refs:      1,000\n";
        assert_eq!(count(stderr), Some(139_516_367.0));
        assert_eq!(count("no valgrind here"), None);
    }

    #[test]
    fn the_program_runs_under_cachegrind_with_its_arguments_and_environment() {
        let command = PreparedCommand {
            program: PathBuf::from("/usr/bin/python3"),
            args: vec!["-c".to_string(), "pass".to_string()],
            env: vec![("A".to_string(), "1".to_string())],
            line_map: None,
        };
        let wrapped = wrap(std::path::Path::new("/usr/bin/valgrind"), &command);
        assert_eq!(wrapped.program, PathBuf::from("/usr/bin/valgrind"));
        assert_eq!(wrapped.args[0], "--tool=cachegrind");
        assert_eq!(
            wrapped.args[wrapped.args.len() - 3..],
            ["/usr/bin/python3", "-c", "pass"]
        );
        assert_eq!(wrapped.env, command.env);
        assert!(unsupported(Some(Language::Javascript)).is_some());
        assert!(unsupported(Some(Language::Python)).is_none());
        assert!(unsupported(None).is_none());
    }
}
