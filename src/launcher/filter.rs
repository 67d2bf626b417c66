//! The snippet's seccomp filter, as a classic BPF program that finds the system call's number
//! by binary search.
//!
//! Why not a filter compiler's output: since Linux 5.11 the kernel, when a filter is installed,
//! runs it once for every system call number to learn which ones it always allows (its action
//! cache; those then skip the filter), and it does so with interrupts off in the installing
//! process. A filter that compares the number with each refused call in turn (what seccompiler
//! emits, about 60 comparisons for a call that is allowed) made that about 0.2 ms of CPU per run
//! on a 2-core virtual machine, more than the rest of the snippet's set-up. Here an allowed call
//! is decided in about 8 instructions, and the whole confinement is one filter, not two.
//!
//! The program: the architecture must be the one sidebyside was built for (anything else, such
//! as the 32-bit `int 0x80` entry on x86-64, kills the process: a deny list is only meaningful
//! for the numbering it was written in); on x86-64 a number with the x32 bit is refused; then
//! the refused numbers return `EPERM`, `clone` returns `EPERM` when its flags ask for a new
//! namespace, `clone3` returns `ENOSYS`, and everything else is allowed.

/// A built filter, ready for [`Program::install`].
#[derive(Debug, Clone)]
pub struct Program {
    instructions: Vec<libc::sock_filter>,
}

const LOAD_WORD: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
const JUMP_EQUAL: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
const JUMP_GREATER_OR_EQUAL: u16 = (libc::BPF_JMP | libc::BPF_JGE | libc::BPF_K) as u16;
const JUMP_ANY_BIT: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
const RETURN: u16 = (libc::BPF_RET | libc::BPF_K) as u16;

/// Offsets in `struct seccomp_data`.
const NUMBER: u32 = 0;
const ARCHITECTURE: u32 = 4;
/// The low 32 bits of the first argument (little-endian).
const FIRST_ARGUMENT_LOW: u32 = 16;

const ALLOW: u32 = libc::SECCOMP_RET_ALLOW;
const KILL: u32 = libc::SECCOMP_RET_KILL_PROCESS;
const REFUSE: u32 = libc::SECCOMP_RET_ERRNO | libc::EPERM as u32;
const NO_SUCH_CALL: u32 = libc::SECCOMP_RET_ERRNO | libc::ENOSYS as u32;

#[cfg(target_arch = "x86_64")]
const THIS_ARCHITECTURE: u32 = 0xC000_003E; // AUDIT_ARCH_X86_64
#[cfg(target_arch = "aarch64")]
const THIS_ARCHITECTURE: u32 = 0xC000_00B7; // AUDIT_ARCH_AARCH64
#[cfg(target_arch = "x86_64")]
const X32_BIT: Option<u32> = Some(0x4000_0000);
#[cfg(not(target_arch = "x86_64"))]
const X32_BIT: Option<u32> = None;

/// Where a jump goes: an instruction not yet placed.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
enum Label {
    Allow,
    Refuse,
    NoSuchCall,
    Kill,
    CloneFlags,
    Node(usize),
}

/// What a number is decided as.
#[derive(Clone, Copy)]
enum Verdict {
    Refuse,
    CloneFlags,
    NoSuchCall,
}

enum Step {
    Placed(libc::sock_filter),
    Jump {
        code: u16,
        value: u32,
        when_true: Label,
        when_false: Label,
    },
    Mark(Label),
}

impl Program {
    /// The filter refusing `refused` (`EPERM`), `clone` (its number, and the flags that make it
    /// refused), and answering `enosys` with `ENOSYS`.
    pub fn build(refused: &[i64], clone: (i64, u32), enosys: i64) -> Result<Program, String> {
        let number = |value: i64| {
            u32::try_from(value).map_err(|_| format!("system call number {value} out of range"))
        };
        let mut decided: Vec<(u32, Verdict)> = Vec::new();
        for &call in refused {
            decided.push((number(call)?, Verdict::Refuse));
        }
        decided.push((number(clone.0)?, Verdict::CloneFlags));
        decided.push((number(enosys)?, Verdict::NoSuchCall));
        decided.sort_by_key(|(number, _)| *number);
        if decided.windows(2).any(|pair| pair[0].0 == pair[1].0) {
            return Err("a system call is listed twice".to_string());
        }

        let mut steps = vec![
            Step::Placed(load(ARCHITECTURE)),
            Step::Jump {
                code: JUMP_EQUAL,
                value: THIS_ARCHITECTURE,
                when_true: Label::Node(0),
                when_false: Label::Kill,
            },
            Step::Mark(Label::Node(0)),
            Step::Placed(load(NUMBER)),
        ];
        let mut next_node = 1;
        if let Some(bit) = X32_BIT {
            steps.push(Step::Jump {
                code: JUMP_GREATER_OR_EQUAL,
                value: bit,
                when_true: Label::Refuse,
                when_false: Label::Node(next_node),
            });
            steps.push(Step::Mark(Label::Node(next_node)));
            next_node += 1;
        }
        search(&decided, &mut steps, &mut next_node);
        steps.push(Step::Mark(Label::CloneFlags));
        steps.push(Step::Placed(load(FIRST_ARGUMENT_LOW)));
        steps.push(Step::Jump {
            code: JUMP_ANY_BIT,
            value: clone.1,
            when_true: Label::Refuse,
            when_false: Label::Allow,
        });
        for (label, action) in [
            (Label::Allow, ALLOW),
            (Label::Refuse, REFUSE),
            (Label::NoSuchCall, NO_SUCH_CALL),
            (Label::Kill, KILL),
        ] {
            steps.push(Step::Mark(label));
            steps.push(Step::Placed(instruction(RETURN, 0, 0, action)));
        }
        assemble(&steps).map(|instructions| Program { instructions })
    }

    /// Instructions in the program.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.instructions.len()
    }

    /// Installs the filter on the calling thread (which must have `no_new_privs` set or
    /// `CAP_SYS_ADMIN`). Async-signal-safe and allocation-free: called between fork and exec.
    pub fn install(&self) -> std::io::Result<()> {
        let program = libc::sock_fprog {
            len: self.instructions.len() as libc::c_ushort,
            filter: self.instructions.as_ptr() as *mut libc::sock_filter,
        };
        // SAFETY: seccomp(SECCOMP_SET_MODE_FILTER) reads the program we pass, which lives for
        // the whole call.
        let result = unsafe {
            libc::syscall(
                libc::SYS_seccomp,
                libc::SECCOMP_SET_MODE_FILTER,
                0,
                &program as *const libc::sock_fprog,
            )
        };
        if result != 0 {
            return Err(std::io::Error::last_os_error());
        }
        Ok(())
    }
}

fn instruction(code: u16, when_true: u8, when_false: u8, value: u32) -> libc::sock_filter {
    libc::sock_filter {
        code,
        jt: when_true,
        jf: when_false,
        k: value,
    }
}

fn load(offset: u32) -> libc::sock_filter {
    instruction(LOAD_WORD, 0, 0, offset)
}

/// Emits the binary search over `decided` (sorted by number), the accumulator holding the
/// number: at most three numbers are compared in turn, more are split at the middle.
fn search(decided: &[(u32, Verdict)], steps: &mut Vec<Step>, next_node: &mut usize) {
    let target = |verdict: Verdict| match verdict {
        Verdict::Refuse => Label::Refuse,
        Verdict::CloneFlags => Label::CloneFlags,
        Verdict::NoSuchCall => Label::NoSuchCall,
    };
    if decided.len() <= 3 {
        for (index, &(number, verdict)) in decided.iter().enumerate() {
            let when_false = if index + 1 == decided.len() {
                Label::Allow
            } else {
                let node = Label::Node(*next_node);
                *next_node += 1;
                node
            };
            steps.push(Step::Jump {
                code: JUMP_EQUAL,
                value: number,
                when_true: target(verdict),
                when_false,
            });
            if when_false != Label::Allow {
                steps.push(Step::Mark(when_false));
            }
        }
        return;
    }
    let middle = decided.len() / 2;
    let lower = Label::Node(*next_node);
    let upper = Label::Node(*next_node + 1);
    *next_node += 2;
    steps.push(Step::Jump {
        code: JUMP_GREATER_OR_EQUAL,
        value: decided[middle].0,
        when_true: upper,
        when_false: lower,
    });
    steps.push(Step::Mark(lower));
    search(&decided[..middle], steps, next_node);
    steps.push(Step::Mark(upper));
    search(&decided[middle..], steps, next_node);
}

/// Places the steps and resolves each jump to its label (classic BPF jumps go forward only,
/// at most 255 instructions).
fn assemble(steps: &[Step]) -> Result<Vec<libc::sock_filter>, String> {
    let mut positions = std::collections::HashMap::new();
    let mut position = 0usize;
    for step in steps {
        match step {
            Step::Mark(label) => {
                if positions.insert(*label, position).is_some() {
                    return Err(format!("label {label:?} placed twice"));
                }
            }
            _ => position += 1,
        }
    }
    let mut instructions = Vec::with_capacity(position);
    for step in steps {
        let here = instructions.len();
        let offset = |label: &Label| -> Result<u8, String> {
            let target = positions
                .get(label)
                .ok_or_else(|| format!("label {label:?} never placed"))?;
            target
                .checked_sub(here + 1)
                .and_then(|distance| u8::try_from(distance).ok())
                .ok_or_else(|| format!("jump to {label:?} out of reach"))
        };
        match step {
            Step::Placed(placed) => instructions.push(*placed),
            Step::Jump {
                code,
                value,
                when_true,
                when_false,
            } => instructions.push(instruction(
                *code,
                offset(when_true)?,
                offset(when_false)?,
                *value,
            )),
            Step::Mark(_) => {}
        }
    }
    if instructions.len() > libc::BPF_MAXINSNS as usize {
        return Err("the filter is too long".to_string());
    }
    Ok(instructions)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Runs the program on a system call the way the kernel does (classic BPF, the subset the
    /// program uses): its verdict, and how many instructions it took.
    fn run_counting(
        program: &Program,
        architecture: u32,
        number: u32,
        first_argument: u64,
    ) -> (u32, usize) {
        let mut data = [0u8; 64];
        data[0..4].copy_from_slice(&number.to_ne_bytes());
        data[4..8].copy_from_slice(&architecture.to_ne_bytes());
        data[16..24].copy_from_slice(&first_argument.to_ne_bytes());
        let mut accumulator = 0u32;
        let mut counter = 0usize;
        let mut executed = 0;
        loop {
            let step = program.instructions[counter];
            counter += 1;
            executed += 1;
            let jump = |taken: bool| usize::from(if taken { step.jt } else { step.jf });
            match step.code {
                LOAD_WORD => {
                    let at = step.k as usize;
                    accumulator = u32::from_ne_bytes(data[at..at + 4].try_into().unwrap());
                }
                JUMP_EQUAL => counter += jump(accumulator == step.k),
                JUMP_GREATER_OR_EQUAL => counter += jump(accumulator >= step.k),
                JUMP_ANY_BIT => counter += jump(accumulator & step.k != 0),
                RETURN => return (step.k, executed),
                other => panic!("unexpected instruction {other:#x}"),
            }
        }
    }

    fn run(program: &Program, architecture: u32, number: u32, first_argument: u64) -> u32 {
        run_counting(program, architecture, number, first_argument).0
    }

    fn built() -> Program {
        Program::build(&[101, 165, 272, 310, 321, 425], (56, 0x4000_0000), 435).unwrap()
    }

    #[test]
    fn every_number_gets_its_verdict() {
        let program = built();
        for number in 0..600u32 {
            let expected = match number {
                101 | 165 | 272 | 310 | 321 | 425 => REFUSE,
                435 => NO_SUCH_CALL,
                _ => ALLOW,
            };
            assert_eq!(
                run(&program, THIS_ARCHITECTURE, number, 0),
                expected,
                "{number}"
            );
        }
    }

    #[test]
    fn clone_is_refused_only_with_a_namespace_flag() {
        let program = built();
        assert_eq!(run(&program, THIS_ARCHITECTURE, 56, 0x0001_1200), ALLOW);
        assert_eq!(run(&program, THIS_ARCHITECTURE, 56, 0x4001_1200), REFUSE);
    }

    #[test]
    fn another_architecture_is_killed_and_x32_refused() {
        let program = built();
        assert_eq!(run(&program, 0x4000_0003, 20, 0), KILL); // AUDIT_ARCH_I386
        if let Some(bit) = X32_BIT {
            assert_eq!(run(&program, THIS_ARCHITECTURE, bit | 39, 0), REFUSE);
        }
    }

    #[test]
    fn an_allowed_call_is_decided_in_a_few_instructions() {
        let denied: Vec<i64> = (0..60).map(|index| 100 + index * 5).collect();
        let program = Program::build(&denied, (56, 1), 435).unwrap();
        let longest = (0..500u32)
            .map(|number| run_counting(&program, THIS_ARCHITECTURE, number, 0).1)
            .max()
            .unwrap();
        assert!(longest <= 14, "{longest} instructions for some number");
    }

    #[test]
    fn installed_it_refuses_what_it_lists_in_a_real_process() {
        let program = Program::build(
            &[libc::SYS_unshare, libc::SYS_ptrace],
            (libc::SYS_clone, libc::CLONE_NEWUTS as u32),
            libc::SYS_clone3,
        )
        .unwrap();
        // SAFETY: the child only makes system calls and exits with _exit.
        let pid = unsafe { libc::fork() };
        if pid == 0 {
            let code = unsafe {
                let failed_with = |result: libc::c_long, errno: i32| {
                    result == -1 && *libc::__errno_location() == errno
                };
                if libc::prctl(libc::PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0
                    || program.install().is_err()
                {
                    1
                } else if !failed_with(libc::syscall(libc::SYS_unshare, 0), libc::EPERM) {
                    2
                } else if !failed_with(
                    libc::syscall(libc::SYS_ptrace, libc::PTRACE_TRACEME, 0, 0, 0),
                    libc::EPERM,
                ) {
                    3
                } else if !failed_with(
                    libc::syscall(libc::SYS_clone3, std::ptr::null::<u8>(), 0),
                    libc::ENOSYS,
                ) {
                    4
                } else if !failed_with(
                    libc::syscall(
                        libc::SYS_clone,
                        (libc::CLONE_NEWUTS | libc::SIGCHLD) as libc::c_ulong,
                        0,
                        0,
                        0,
                        0,
                    ),
                    libc::EPERM,
                ) {
                    5
                } else if libc::syscall(libc::SYS_getpid) <= 0 {
                    6
                } else {
                    0
                }
            };
            unsafe { libc::_exit(code) };
        }
        let mut status = 0;
        // SAFETY: waiting for our own child.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(libc::WIFEXITED(status), "status {status:#x}");
        assert_eq!(libc::WEXITSTATUS(status), 0);
    }
}
