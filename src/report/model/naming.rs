//! Naming machines: which documents come from the same machine, and what a column is called
//! (its label, else its host name, else its OS and CPU; told apart by what differs).

use super::Machine;
use crate::results::Environment;

/// What makes two documents come from the same machine.
pub(super) fn identity(environment: &Environment) -> String {
    match &environment.label {
        Some(label) => format!("label:{label}"),
        None => format!(
            "{}|{}|{}|{}|{}",
            environment.hostname.as_deref().unwrap_or(""),
            environment.os,
            environment.kernel,
            environment.cpu,
            environment.cores
        ),
    }
}

/// The label, else the host name, else the OS and CPU.
pub(super) fn base_label(environment: &Environment) -> String {
    if let Some(label) = environment
        .label
        .as_deref()
        .filter(|label| !label.is_empty())
    {
        return label.to_string();
    }
    if let Some(hostname) = environment
        .hostname
        .as_deref()
        .filter(|name| !name.is_empty())
    {
        return hostname.to_string();
    }
    let parts: Vec<&str> = [environment.os.as_str(), environment.cpu.as_str()]
        .into_iter()
        .filter(|part| !part.is_empty())
        .collect();
    if parts.is_empty() {
        "this machine".to_string()
    } else {
        parts.join(" · ")
    }
}

/// Gives machines that share a label a name that tells them apart: the runtime versions that
/// differ between them, else a number.
pub(super) fn disambiguate(machines: &mut [Machine<'_>]) {
    let labels: Vec<String> = machines
        .iter()
        .map(|machine| machine.label.clone())
        .collect();
    for (index, label) in labels.iter().enumerate() {
        let twins: Vec<usize> = (0..machines.len())
            .filter(|&other| labels[other] == *label)
            .collect();
        if twins.len() < 2 {
            continue;
        }
        let runtimes = machines[index].runtimes();
        let differing: Vec<String> = runtimes
            .iter()
            .filter(|(name, version)| {
                twins.iter().any(|&twin| {
                    machines[twin]
                        .runtimes()
                        .get(*name)
                        .is_some_and(|other| other != *version)
                })
            })
            .map(|(name, version)| format!("{name} {version}"))
            .collect();
        let position = twins.iter().position(|&twin| twin == index).unwrap_or(0) + 1;
        machines[index].label = if differing.is_empty() {
            format!("{label} #{position}")
        } else {
            format!("{label} ({})", differing.join(", "))
        };
    }
    // Still equal (same versions): number them.
    let labels: Vec<String> = machines
        .iter()
        .map(|machine| machine.label.clone())
        .collect();
    for index in 0..machines.len() {
        let earlier = labels[..index]
            .iter()
            .filter(|label| **label == labels[index])
            .count();
        if earlier > 0 {
            machines[index].label = format!("{} #{}", labels[index], earlier + 1);
        }
    }
}
